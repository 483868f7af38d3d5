"""A 1,000-contact SMS campaign run by real processes for the fault tests, and the checks every
fault test makes.

The processes: ``voiceplatform worker`` with no switch (one or two; the ``sms`` driver registered
by ``VOICEPLATFORM_CHANNELS``, so each attempt queues an ``sms_messages`` row), ``python -m
sms_bridge`` bound to the fault gateway's Jasmin (one transceiver, a window of 50), and the
gateway (tests/sms_bridge/faults/conftest.py). The contacts are the handset network's 1,000
delivered numbers (+1 202 555 7000-7999); the campaign speaks from a number of its own, so the
handset network's records of this run are the ones from that source.

:meth:`FaultCampaign.check` is the promise of issue 14's "Faults": every contact is final
exactly once (one attempt, one session, one message), every message is submitted and has a final
status, no message reached the handset network twice, and the exception, a submit whose answer
never came, is ``unknown``: counted (``unconfirmed``, the bridges' ``parts_unanswered``), never
submitted again by the platform, and not ``delivered``.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from tests.campaigns.messaging_world import seed_messaging
from tests.dialer.lab_campaign import Worker
from tests.sms_bridge.world import NOTICE, our_number
from voiceplatform.db import session_factory
from voiceplatform.models import Campaign, CampaignContact, CampaignContactStatus, CampaignMessage, CampaignStatus
from voiceplatform.models import Number, NumberChannel
from voiceplatform.models.sessions import FlowSession
from voiceplatform.models.sms import SUBMITTED, SUBMITTING, SmsMessage, SmsPart
from voiceplatform.smsc import SmscSettings, SmscState
from voiceplatform.smsc import state as state_file
from voiceplatform.smsc.handset_network.client import HandsetNetworkClient
from voiceplatform.smsc.handset_network.numbers import numbers_like
from voiceplatform.testing.sms_bridge_process import BridgeProcess

from sms_bridge.outbox import STOPPED

CONTACTS = 1000
FINAL = frozenset({"delivered", "unknown"})
#: a short wait for an answer (the unanswered are counted sooner) and a short claim lease (a
#: killed bridge's messages are settled 10 s after it died, not 2 minutes)
BRIDGE_ENV = {"VOICEPLATFORM_SMS_RESPONSE_TIMEOUT": "5", "VOICEPLATFORM_SMS_CLAIM_LEASE": "10"}
WORKER_ENV = {"VOICEPLATFORM_SWITCH": "none", "VOICEPLATFORM_CHANNELS": "sms_bridge.driver:register"}
POLL = 0.5  # seconds between two looks at the database while waiting
#: seconds an answer may wait in the bridge before its batch is written (submitted_at is the write)
WRITE_LAG = 5.0
#: seconds without a receipt for any of the messages excused from theirs before they count as lost
QUIET = 10.0


@dataclass
class Outcome:
    """What a run ended with: for the assertions, and printed for the report."""

    seconds: float
    statuses: Counter[str]
    unknown: int
    unknown_reached: int  # of the unknown, the ones the handset network did get (once)
    without_receipt: int
    never_reached: int  # of those without a receipt, the ones the handset network never saw
    recovered: int  # claims of a dead bridge settled by another (their unanswered parts unknown)
    jasmin_resends: list[str] = field(default_factory=list)
    counters: dict[str, int] = field(default_factory=dict)

    def line(self, name: str) -> str:
        return (f"{name}: {CONTACTS} contacts in {self.seconds:.0f} s, statuses {dict(self.statuses)}, "
                f"unknown {self.unknown} ({self.unknown_reached} reached the handsets), "
                f"without a receipt {self.without_receipt} "
                f"({self.never_reached} never reached the handsets), recovered claims {self.recovered}, "
                f"sent twice by Jasmin {len(self.jasmin_resends)}, bridge counters {self.counters}")


class FaultCampaign:
    def __init__(self, engine: Engine, database_url: str, redis_url: str, gateway: SmscSettings, work: Path) -> None:
        self.sessions: sessionmaker[Session] = session_factory(engine)
        self.database_url, self.redis_url, self.gateway, self.work = database_url, redis_url, gateway, work
        self.phones = numbers_like("delivered", CONTACTS)
        self.ours = our_number()
        self.seeded = seed_messaging(self.sessions, self.phones, name=f"faults {self.ours}", definition=NOTICE,
                                     settings={"calls_per_second": 200})
        with self.sessions.begin() as db:
            number = Number(account_id=self.seeded.account_id, number=self.ours)
            number.channels = [NumberChannel(channel="sms")]
            db.add(number)
        state = self.state
        host, port = state.smpp_address
        self.smpp_url = f"smpp://{state.esme_username}:{state.esme_password}@{host}:{port}?binds=1&window=50"
        self.handsets = HandsetNetworkClient(state.handsets.control_url)
        self.bridges: list[BridgeProcess] = []
        self.workers: dict[str, Worker] = {}
        self.started = time.monotonic()

    @property
    def state(self) -> SmscState:
        found = state_file.load(self.gateway.state_file)
        assert found is not None, "the fault gateway is not running"
        return found

    # ---- the processes -------------------------------------------------------------------------

    def start_bridge(self) -> BridgeProcess:
        bridge = BridgeProcess(self.work, self.database_url, self.smpp_url, name=f"bridge-{len(self.bridges) + 1}",
                               env=BRIDGE_ENV)
        self.bridges.append(bridge)
        return bridge

    def start_worker(self, name: str) -> Worker:
        self.workers[name] = Worker(name, self.database_url, self.redis_url, self.work, **WORKER_ENV)
        return self.workers[name]

    def stop(self) -> dict[str, int]:
        """Stop every process still running; the counters of the bridges that stopped cleanly."""
        for worker in self.workers.values():
            worker.stop()
        totals: Counter[str] = Counter()
        for bridge in self.bridges:
            totals.update(bridge.stop())
        return dict(totals)

    def output(self) -> str:
        logs = [bridge.output() for bridge in self.bridges]
        logs += [f"--- worker {name} ---\n{worker.output()}" for name, worker in self.workers.items()]
        return "\n".join(logs)

    # ---- waiting -------------------------------------------------------------------------------

    def _wait(self, check: Callable[[Session], bool], timeout: float, what: str, every: float = POLL) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.sessions() as db:
                if check(db):
                    return
            for name, worker in self.workers.items():
                if worker.process.poll() is not None and worker.process.returncode != -9:
                    raise AssertionError(f"worker {name} exited ({worker.process.returncode})")
            time.sleep(every)
        with self.sessions() as db:
            found = self._progress(db)
        raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}: {found}")

    def _progress(self, db: Session) -> dict[str, Any]:
        """Where the run is, with a few of the messages not final yet (and how often the handset
        network saw each)."""
        campaign = db.get(Campaign, self.seeded.campaign_id, populate_existing=True)
        mine = SmsMessage.account_id == self.seeded.account_id
        pending = db.scalars(select(SmsMessage).where(mine, SmsMessage.status.not_in(FINAL) | SmsMessage.status.is_(None))
                             .order_by(SmsMessage.id).limit(8)).all()
        submits = Counter(r["destination"] for r in self.handsets.messages("submit_sm", source=self.ours.lstrip("+")))
        return {"campaign": campaign.status.value if campaign else None,
                "send_state": dict(Counter(db.scalars(select(SmsMessage.send_state).where(mine)))),
                "status": dict(Counter(db.scalars(select(SmsMessage.status).where(mine)))),
                "errors": dict(Counter(f"{status}: {(error or '')[:60]}" for status, error in db.execute(
                    select(SmsMessage.status, SmsMessage.error).where(mine, SmsMessage.error.is_not(None))))),
                "not final": [(m.destination, m.status, m.error, m.submitted_at and m.submitted_at.isoformat(),
                               submits[m.destination.lstrip("+")]) for m in pending]}

    def wait_submitted(self, count: int, timeout: float = 120.0) -> None:
        """Until ``count`` messages have their answers stored (mid-campaign, for a fault)."""
        self._wait(lambda db: (db.scalar(select(func.count()).select_from(SmsMessage)
                                         .where(SmsMessage.send_state == SUBMITTED)) or 0) >= count,
                   timeout, f"{count} messages submitted")

    def wait_in_flight(self, timeout: float = 30.0) -> None:
        """Until a message is claimed and not answered yet (a bridge to kill has work in hand).
        Looked for every 5 ms: on a quiet machine a batch is in flight for a fraction of a second
        (a run at every 0.5 s saw the whole campaign finish without catching one)."""
        self._wait(lambda db: (db.scalar(select(func.count()).select_from(SmsMessage)
                                         .where(SmsMessage.send_state == SUBMITTING)) or 0) > 0,
                   timeout, "a message in flight", every=0.005)

    def wait_settled(self, timeout: float = 180.0,
                     excused: Callable[[SmsMessage], bool] = lambda _message: False) -> None:
        """Until the campaign is complete and every message is submitted with a final status, but
        the ``accepted`` ones ``excused`` from waiting for their receipt: those are waited for
        until none has moved for :data:`QUIET` seconds (their receipts may still come)."""
        seen: dict[str, Any] = {"accepted": None, "since": time.monotonic()}

        def settled(db: Session) -> bool:
            campaign = db.get(Campaign, self.seeded.campaign_id, populate_existing=True)
            if campaign is None or campaign.status != CampaignStatus.COMPLETED:
                return False
            messages = db.scalars(select(SmsMessage).where(SmsMessage.account_id == self.seeded.account_id)).all()
            if len(messages) != CONTACTS or not all(
                    m.send_state == SUBMITTED and (m.status in FINAL or m.status == "accepted" and excused(m))
                    for m in messages):
                return False
            waiting = sorted(m.id for m in messages if m.status == "accepted")
            if waiting != seen["accepted"]:
                seen.update(accepted=waiting, since=time.monotonic())
            return not waiting or time.monotonic() - seen["since"] >= QUIET

        self._wait(settled, timeout, "every contact settled")

    # ---- the checks ----------------------------------------------------------------------------

    def check(self, counters: dict[str, int] | None, *, jasmin_resends_allowed: int = 0,
              excused: Callable[[SmsMessage], bool] = lambda _message: False) -> Outcome:
        """The promise (see the module's docstring). ``counters``: the bridges' counters when every
        bridge stopped cleanly (None when one was killed: its counters died with it).
        ``jasmin_resends_allowed``: how many messages the gateway itself may have sent twice (a
        Jasmin killed with a submit in flight upstream sends it again after its restart: it
        acknowledges its queue only after the handset network's answer); the platform must have
        submitted each of them once. ``excused``: messages allowed to stay ``accepted`` (the gateway
        took them and lost them or their receipt)."""
        seconds = time.monotonic() - self.started
        with self.sessions() as db:
            rows = db.scalars(select(CampaignContact)
                              .where(CampaignContact.campaign_id == self.seeded.campaign_id)).all()
            attempts = db.scalars(select(CampaignMessage)
                                  .where(CampaignMessage.campaign_id == self.seeded.campaign_id)).all()
            flow_sessions = db.scalars(select(FlowSession)
                                       .where(FlowSession.campaign_contact_id.in_([r.id for r in rows]))).all()
            messages = db.scalars(select(SmsMessage).where(SmsMessage.account_id == self.seeded.account_id)).all()
            parts = db.scalars(select(SmsPart).where(SmsPart.message_id.in_([m.id for m in messages]))).all()
        # every contact final exactly once: one attempt, one session, one message to its phone
        assert len(rows) == CONTACTS
        assert all(r.status == CampaignContactStatus.DONE and r.attempts == 1 for r in rows), Counter(
            (r.status.value, r.attempts) for r in rows)
        assert sorted(a.campaign_contact_id for a in attempts) == sorted(r.id for r in rows)
        assert sorted(s.campaign_contact_id or 0 for s in flow_sessions) == sorted(r.id for r in rows)
        by_session = {s.id: s for s in flow_sessions}
        assert sorted(m.destination for m in messages) == sorted(self.phones)
        assert all(m.session_id in by_session for m in messages)
        assert len({m.session_id for m in messages}) == CONTACTS
        # every message submitted, with a final status (or excused from its receipt)
        statuses = Counter(m.status or "none" for m in messages)
        assert all(m.send_state == SUBMITTED for m in messages), Counter(m.send_state for m in messages)
        left = [m for m in messages if m.status not in FINAL]
        assert all(m.status == "accepted" and excused(m) for m in left), Counter(
            (m.status, m.error, excused(m)) for m in left)
        # the handset network's record: no message twice, but the gateway's own resends
        submits = Counter(r["destination"] for r in self.handsets.messages("submit_sm", source=self.ours.lstrip("+")))
        by_destination = {m.destination.lstrip("+"): m for m in messages}
        twice = sorted(d for d, n in submits.items() if n > 1)
        assert len(twice) <= jasmin_resends_allowed, {d: submits[d] for d in twice}
        assert set(submits) <= set(by_destination)
        parts_of = Counter(p.message_id for p in parts)
        assert all(parts_of[by_destination[d].id] == 1 and by_destination[d].attempts == 1 for d in twice), (
            "a message the platform submitted more than once reached the handset network twice")
        delivered = [m for m in messages if m.status == "delivered"]
        assert all(submits[m.destination.lstrip("+")] >= 1 for m in delivered)
        # the exception: no answer. Unknown, counted, not resubmitted, not delivered
        unknown = [m for m in messages if m.status == "unknown"]
        assert sum(m.unconfirmed for m in messages) == len(unknown) == sum(m.unconfirmed for m in unknown)
        assert all(submits[m.destination.lstrip("+")] <= 1 for m in unknown)  # an earlier pass was refused
        unknown_ids = {m.id for m in unknown}
        assert all(p.status == "unknown" for p in parts if p.message_id in unknown_ids)
        assert all(parts_of[m.id] == 1 for m in unknown)  # its one part, stored unknown: never sent again
        # the campaign counts them as unknown, not as sent; the delivered as delivered
        outcome_of = {a.session_id: a.outcome for a in attempts}
        assert all(outcome_of[m.session_id] == "unknown" for m in unknown), Counter(
            outcome_of[m.session_id] for m in unknown)
        assert all(outcome_of[m.session_id] == "delivered" for m in delivered)
        if counters is not None:
            assert counters.get("parts_unanswered", 0) == len(unknown), counters
        never_reached = sum(1 for m in left if not submits[m.destination.lstrip("+")])
        recovered = sum(1 for m in messages if m.error == STOPPED)
        reached = sum(1 for m in unknown if submits[m.destination.lstrip("+")])
        return Outcome(seconds, statuses, len(unknown), reached, len(left), never_reached, recovered, twice,
                       counters or {})


@contextmanager
def fault_campaign(engine: Engine, database_url: str, redis_url: str, gateway: SmscSettings,
                   work: Path) -> Iterator[FaultCampaign]:
    """A FaultCampaign whose processes are stopped at the end, their logs shown on a failure."""
    run = FaultCampaign(engine, database_url, redis_url, gateway, work)
    try:
        yield run
    except BaseException:
        print(run.output())
        raise
    finally:
        for worker in run.workers.values():
            if worker.process.poll() is None:
                worker.kill()
        for bridge in run.bridges:
            bridge.kill()


def answered_by(end: datetime) -> Callable[[SmsMessage], bool]:
    """Messages whose answer was stored by ``end``."""
    return lambda message: message.submitted_at is not None and message.submitted_at <= end


def between(start: datetime, end: datetime) -> Callable[[SmsMessage], bool]:
    """Messages whose answer was stored from ``start`` to ``end``."""
    return lambda message: message.submitted_at is not None and start <= message.submitted_at <= end
