"""A WhatsApp campaign run by real processes, for the campaign and fault tests: the WhatsApp
contract server in this process (voiceplatform.testing.whatsapp_cloud, posting its signed
webhooks to the bridge), ``python -m whatsapp_bridge`` (voiceplatform.testing.whatsapp_bridge_process),
and ``voiceplatform worker --switch none`` (one or two, the bridge's driver registered by
``VOICEPLATFORM_CHANNELS=whatsapp_bridge.driver:register``, so each attempt queues a
``whatsapp_messages`` row in the transaction that records it).

The campaign speaks from a WhatsApp number of the account (a ``numbers`` row on the
``whatsapp`` channel) that the bridge's ``VOICEPLATFORM_WHATSAPP_NUMBERS`` maps to the contract
server's seed phone number id, at the server's tier for it. The bridge is told the server's
Graph URL; the server is told the bridge's webhook URL once the bridge has printed it (and again
after a restart: the new process listens on another port).

:meth:`WhatsAppRun.check_once` is the promise of issue 15's "Faults": every contact final
exactly once (one attempt, one session, one message), no recipient in the server's sent log
twice, and the exception, a send whose answer never came, ``unknown``: never sent again.
:meth:`WhatsAppRun.pacing` reads the server's sent log for the most sends in any second.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from tests.dialer.lab_campaign import Worker
from voiceplatform.db import session_factory
from voiceplatform.models import (Campaign, CampaignContact, CampaignContactStatus, CampaignMessage, CampaignStatus,
                                  FlowVersion, Number, NumberChannel)
from voiceplatform.models.sessions import FlowSession
from voiceplatform.models.whatsapp import WhatsAppMessage
from voiceplatform.testing.campaign_seed import Seeded, seed_campaign
from voiceplatform.testing.whatsapp_bridge_process import WhatsAppBridgeProcess
from voiceplatform.testing.whatsapp_cloud import SEED_NUMBER_ID, WhatsAppCloudServer

APP_SECRET = "whatsapp-faults-app-secret"
TOKEN = "whatsapp-faults-token"
TIER = 80  # the seed number's messages a second, at the server and in the bridge's settings
RATES = {"whatsapp_per_category": {"marketing": "0.25", "utility": "0.02"}}
WORKER_ENV = {"VOICEPLATFORM_SWITCH": "none", "VOICEPLATFORM_CHANNELS": "whatsapp_bridge.driver:register"}
POLL = 0.5
#: webhooks the bridge did not take (it was down) are posted again for a minute, as Meta does for days
RETRIES = [0.5] * 120

#: One template, no reply wanted: the fault tests' flow (the seed's ``hello_world``, utility).
HELLO = """
spec_version: 1
name: hello
language: en
channels: [whatsapp]
start: hello
nodes:
  - id: hello
    type: send
    text: "Hello {{ contact.first_name }}"
    template: {name: hello_world, language: en_US}
    next: done
  - id: done
    type: end
"""


@dataclass
class Outcome:
    seconds: float
    statuses: Counter[str]
    unknown: int
    sent_log: int
    most_in_a_second: int
    throttled: int  # the server's 130429 refusals

    def line(self, name: str) -> str:
        return (f"{name}: {self.sent_log} sends in {self.seconds:.0f} s, statuses {dict(self.statuses)}, "
                f"unknown {self.unknown}, most sends in one second {self.most_in_a_second} (tier {TIER}), "
                f"throttled (130429) {self.throttled}")


def most_in_a_second(times: list[float]) -> int:
    """The most of ``times`` (seconds) in any window of one second (the server's sliding one)."""
    ordered, most, start = sorted(times), 0, 0
    for end, at in enumerate(ordered):
        while at - ordered[start] >= 1.0:
            start += 1
        most = max(most, end - start + 1)
    return most


class WhatsAppRun:
    def __init__(self, engine: Engine, database_url: str, redis_url: str, work: Path, phones: list[str], *,
                 definition: str = HELLO, attributes: dict[str, str] | None = None,
                 settings: dict[str, Any] | None = None, balance: str = "1000") -> None:
        self.sessions: sessionmaker[Session] = session_factory(engine)
        self.database_url, self.redis_url, self.work, self.phones = database_url, redis_url, work, phones
        self.seeded = seed_whatsapp(self.sessions, phones, definition, attributes or {"first_name": "Sam"},
                                    settings or {}, balance)
        self.ours = f"+1202668{self.seeded.account_id % 10000:04d}"
        with self.sessions.begin() as db:
            number = Number(account_id=self.seeded.account_id, number=self.ours)
            number.channels = [NumberChannel(channel="whatsapp")]
            db.add(number)
        self.cloud = WhatsAppCloudServer(app_secret=APP_SECRET, token=TOKEN).start()
        self.cloud.client.set_tier(SEED_NUMBER_ID, TIER)
        self.cloud.client.settings(retry_schedule=RETRIES, batch_max=20, batch_window_seconds=0.02)
        self.numbers = f"{SEED_NUMBER_ID}={self.ours}:{TIER}"
        self.bridges: list[WhatsAppBridgeProcess] = []
        self.workers: dict[str, Worker] = {}
        self.started = time.monotonic()

    # ---- the processes -------------------------------------------------------------------------

    def start_bridge(self) -> WhatsAppBridgeProcess:
        env = {"VOICEPLATFORM_WHATSAPP_GRAPH_URL": self.cloud.graph_url, "VOICEPLATFORM_WHATSAPP_TOKEN": TOKEN,
               "VOICEPLATFORM_WHATSAPP_APP_SECRET": APP_SECRET, "VOICEPLATFORM_WHATSAPP_VERIFY_TOKEN": "v",
               "VOICEPLATFORM_WHATSAPP_NUMBERS": self.numbers, "VOICEPLATFORM_WHATSAPP_REDIS_URL": self.redis_url,
               "VOICEPLATFORM_WHATSAPP_CLAIM_LEASE": "3",
               "VOICEPLATFORM_WHATSAPP_INBOX_LEASE": "3", "VOICEPLATFORM_RATES": json.dumps(RATES)}
        bridge = WhatsAppBridgeProcess(self.work, self.database_url, name=f"wa-bridge-{len(self.bridges) + 1}", env=env)
        self.bridges.append(bridge)
        self.cloud.account.webhooks.url = bridge.webhook_url  # its webhooks go to the bridge now running
        return bridge

    def start_worker(self, name: str) -> Worker:
        self.workers[name] = Worker(name, self.database_url, self.redis_url, self.work, **WORKER_ENV,
                                    VOICEPLATFORM_WHATSAPP_NUMBERS=self.numbers,
                                    VOICEPLATFORM_RATES=json.dumps(RATES))
        return self.workers[name]

    def stop(self) -> dict[str, int]:
        for worker in self.workers.values():
            worker.stop()
        totals: Counter[str] = Counter()
        for bridge in self.bridges:
            totals.update(bridge.stop())
        return dict(totals)

    def close(self) -> None:
        for worker in self.workers.values():
            if worker.process.poll() is None:
                worker.kill()
        for bridge in self.bridges:
            bridge.kill()
        self.cloud.stop()

    def output(self) -> str:
        logs = [bridge.output() for bridge in self.bridges]
        logs += [f"--- worker {name} ---\n{worker.output()}" for name, worker in self.workers.items()]
        return "\n".join(logs)

    # ---- reading -------------------------------------------------------------------------------

    def sent(self) -> list[dict[str, Any]]:
        """The server's accepted sends from our number (marks read aside)."""
        return [entry for entry in self.cloud.client.sent()
                if entry["kind"] != "mark_read" and entry["phone_number_id"] == SEED_NUMBER_ID]

    def messages(self, db: Session) -> list[WhatsAppMessage]:
        return list(db.scalars(select(WhatsAppMessage).where(WhatsAppMessage.account_id == self.seeded.account_id)
                               .order_by(WhatsAppMessage.id)))

    def campaign(self, db: Session) -> Campaign:
        found = db.get(Campaign, self.seeded.campaign_id, populate_existing=True)
        assert found is not None
        return found

    def contacts(self, db: Session) -> list[CampaignContact]:
        return list(db.scalars(select(CampaignContact).where(CampaignContact.campaign_id == self.seeded.campaign_id)
                               .order_by(CampaignContact.id)))

    def wait(self, check: Callable[[Session], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.sessions() as db:
                if check(db):
                    return
            for name, worker in self.workers.items():
                if worker.process.poll() is not None and worker.process.returncode != -9:
                    raise AssertionError(f"worker {name} exited ({worker.process.returncode})")
            time.sleep(POLL)
        with self.sessions() as db:
            found = {"campaign": self.campaign(db).status.value,
                     "contacts": dict(Counter((c.status.value, c.last_outcome) for c in self.contacts(db))),
                     "messages": dict(Counter((m.send_state, m.status) for m in self.messages(db)))}
        raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}: {found}")

    def wait_messages(self, count: int, timeout: float = 60.0, **equal: Any) -> None:
        """Until ``count`` of the campaign's messages are queued (or match ``equal``)."""
        self.wait(lambda db: sum(all(getattr(m, k) == v for k, v in equal.items())
                                 for m in self.messages(db)) >= count, timeout, f"{count} messages {equal}")

    def wait_settled(self, timeout: float = 60.0) -> None:
        """Until the campaign is complete and each of its messages is sent with a final status
        (delivered, read, failed or unknown) or failed before it was sent."""
        def settled(db: Session) -> bool:
            if self.campaign(db).status != CampaignStatus.COMPLETED:
                return False
            return all(m.send_state == "failed" or m.status in ("delivered", "read", "failed", "unknown")
                       for m in self.messages(db))
        self.wait(settled, timeout, "every contact settled")

    def pacing(self) -> tuple[int, int]:
        """(the most sends the server accepted from our number in any second, its 130429 refusals)."""
        throttled = sum(1 for entry in self.cloud.client.refused() if entry.get("code") == 130429)
        return most_in_a_second([float(entry["at"]) for entry in self.sent()]), throttled

    # ---- the checks ----------------------------------------------------------------------------

    def check_once(self) -> Outcome:
        """Every contact final once (one attempt, one session, one message); no recipient twice in
        the server's log; an ``unknown`` message (its send's answer never stored) sent at most
        once and its attempt ``unknown``; never more than the tier in a second at the server (a send
        it throttled with 130429 was sent once, later: counted in the outcome)."""
        seconds = time.monotonic() - self.started
        with self.sessions() as db:
            rows = self.contacts(db)
            attempts = db.scalars(select(CampaignMessage)
                                  .where(CampaignMessage.campaign_id == self.seeded.campaign_id)).all()
            flow_sessions = db.scalars(select(FlowSession)
                                       .where(FlowSession.campaign_contact_id.in_([r.id for r in rows]))).all()
            messages = self.messages(db)
        assert len(rows) == len(self.phones)
        assert all(r.status == CampaignContactStatus.DONE and r.attempts == 1 for r in rows), Counter(
            (r.status.value, r.attempts) for r in rows)
        assert sorted(a.campaign_contact_id for a in attempts) == sorted(r.id for r in rows)
        assert sorted(s.campaign_contact_id or 0 for s in flow_sessions) == sorted(r.id for r in rows)
        assert sorted(m.recipient for m in messages) == sorted(self.phones)
        assert len({m.session_id for m in messages}) == len(self.phones)
        sent = self.sent()
        by_recipient = Counter(str(entry["body"].get("to", "")) for entry in sent)
        twice = {to: n for to, n in by_recipient.items() if n > 1}
        assert not twice, f"sent twice: {twice}"
        assert set(by_recipient) <= {phone.lstrip("+") for phone in self.phones}
        outcome_of = {a.session_id: a.outcome for a in attempts}
        unknown = [m for m in messages if m.status == "unknown"]
        assert all(outcome_of[m.session_id] == "unknown" for m in unknown)
        delivered = [m for m in messages if m.status in ("delivered", "read")]
        assert all(by_recipient[m.recipient.lstrip("+")] == 1 for m in delivered)
        assert all(outcome_of[m.session_id] == "delivered" for m in delivered)
        assert len(delivered) + len(unknown) == len(messages), Counter(m.status for m in messages)
        most, throttled = self.pacing()
        assert most <= TIER, most
        return Outcome(seconds, Counter(m.status or "none" for m in messages), len(unknown), len(sent), most,
                       throttled)


def seed_whatsapp(sessions: sessionmaker[Session], phones: list[str], definition: str, attributes: dict[str, str],
                  settings: dict[str, Any], balance: str) -> Seeded:
    """A running ``whatsapp`` campaign of ``definition`` to ``phones``, each contact with ``attributes``."""
    seeded = seed_campaign(sessions, phones, name="whatsapp-campaign", attributes=attributes, balance=balance,
                           settings={"calls_per_second": 200, **settings})
    with sessions.begin() as db:
        campaign = db.get(Campaign, seeded.campaign_id)
        assert campaign is not None
        campaign.channel = "whatsapp"
        version = db.get(FlowVersion, campaign.flow_version_id)
        assert version is not None
        version.definition, version.checksum = definition, FlowVersion.checksum_of(definition)
    return seeded


@contextmanager
def whatsapp_run(engine: Engine, database_url: str, redis_url: str, work: Path, phones: list[str],
                 **options: Any) -> Iterator[WhatsAppRun]:
    """A WhatsAppRun whose processes and server are stopped at the end, their logs shown on a failure."""
    run = WhatsAppRun(engine, database_url, redis_url, work, phones, **options)
    try:
        yield run
    except BaseException:
        print(run.output())
        raise
    finally:
        run.close()
