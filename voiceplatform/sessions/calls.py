"""A call is the voice part of a session: the same ``sessions`` row (its id is the call's id, which
is also the engine's ``state["session"]``), so a journey that starts as a call and goes on by SMS
keeps one history.

The switches know no database; the dialler composes this in (voiceplatform.dialer.process):

* :meth:`CallSessions.send_during_call` is the voice services' ``send_message``: a ``send`` run
  on a live call is delivered through the target channel's driver at once (the pay-link SMS
  arrives while the caller is still on the line), in its own short transaction;
* :meth:`CallSessions.settle_in` runs in the transaction that settles the finished call
  (voiceplatform.dialer.settle): it writes the call's part of the history (the record's
  structured ``history``), sets ``Call.session_id``, and continues the journey:

  - a call that ended **unanswered** (busy, no-answer, rejected, congestion, failed, or a
    machine with no session on the line) starts the flow with ``answered: false``: the engine
    runs ``on.no_answer`` (or ends the session at once when the flow has none) and the runner
    applies its outputs (``switch_channel`` to SMS, the messages, a webhook...) as for any
    stored session;
  - a call whose flow ran ``switch_channel`` leaves its handoff state: it is stored as the
    session continuing on the other channel's driver, waiting for the contact's reply;
  - any other call stores its final state: the session is completed with the call.

The voice part's outputs are history only: the call is over, nothing more can reach it.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any, Mapping

from sqlalchemy.orm import Session, sessionmaker

from voiceplatform.calls.outcomes import CallOutcome
from voiceplatform.channels.contract import ChannelDriver, Delivery, InboundMessage
from voiceplatform.contacts.opt_out import accepts
from voiceplatform.exceptions import ChannelUnavailableError, InputRejectedError, VoicePlatformError
from voiceplatform.flow import Input, Step, start
from voiceplatform.flow import outputs as out
from voiceplatform.inbound.router import contact_view
from voiceplatform.models import Call, Contact
from voiceplatform.models.base import utcnow
from voiceplatform.models.sessions import EventKind, FlowSession, SessionStatus
from voiceplatform.sessions import store
from voiceplatform.sessions.runner import RunResult, SessionRunner
from voiceplatform.switches.call_record import CallRecord
from voiceplatform.switches.voice_channel import VOICE, VOICE_CAPABILITIES

log = logging.getLogger(__name__)

UNANSWERED = frozenset({CallOutcome.BUSY, CallOutcome.NO_ANSWER, CallOutcome.REJECTED, CallOutcome.CONGESTION,
                        CallOutcome.FAILED, CallOutcome.MACHINE})


class EndedCall:
    """The voice channel of a call that is over, as the runner sees it: outputs for it are kept
    in the history and delivered nowhere. (The live driver is the switch's call control.)"""

    capabilities = VOICE_CAPABILITIES

    def deliver(self, db: Session, delivery: Delivery) -> int:
        return 0

    def parse_inbound(self, raw: Mapping[str, Any]) -> InboundMessage:
        raise InputRejectedError("a call that is over takes no inbound events")


ENDED_CALL: ChannelDriver = EndedCall()


class CallSessions:
    def __init__(self, sessions: sessionmaker[Session], runner: SessionRunner) -> None:
        self.sessions = sessions
        self.runner = runner

    # ---- during the call ------------------------------------------------------------------------

    def send_during_call(self, record: CallRecord, send: out.Send) -> None:
        """Deliver a live call's ``send`` through its channel's driver now, in the call's
        session. A failure is the call's error, never the call's end."""
        try:
            with self.sessions.begin() as db:
                call = db.get(Call, record.call_id)
                if call is None or call.flow_version_id is None:
                    record.errors.append("send not delivered: the call has no stored session")
                    return
                row = self.ensure(db, call)
                contact = db.get(Contact, call.contact_id) if send.to is None and call.contact_id else None
                if contact is not None and not accepts(contact.channels, contact.opted_out_at, send.channel):
                    # The contact's stored opt-outs (the call knows only its own): never sent.
                    record.history.append({"kind": EventKind.RUNTIME.value, "type": "suppressed",
                                           "payload": {"channel": send.channel, "reason": "opted_out"}})
                    return
                driver = self.runner.channels.for_engine_channel(send.channel)
                queued = driver.deliver(db, Delivery(row.id, row.account_id, send.to or row.address,
                                                     row.our_address, send.channel, (send,)))
        except ChannelUnavailableError as exc:
            record.errors.append(f"send not delivered: {exc}")
            record.history.append({"kind": EventKind.RUNTIME.value, "type": "undeliverable",
                                   "payload": {"channel": send.channel, "error": str(exc)}})
            return
        except VoicePlatformError as exc:
            log.warning("call %s: a send failed: %s", record.call_id, exc)
            record.errors.append(f"send not delivered: {exc}")
            return
        if queued:
            record.history.append({"kind": EventKind.RUNTIME.value, "type": "delivered",
                                   "payload": {"channel": driver.capabilities.name, "messages": queued}})

    # ---- when the call is settled ---------------------------------------------------------------

    def ensure(self, db: Session, call: Call, now: datetime | None = None) -> FlowSession:
        """The call's session row (created on the voice channel the first time), linked to the call."""
        row = db.get(FlowSession, call.id)
        if row is None:
            assert call.flow_version_id is not None
            inbound = call.direction == "inbound"  # the contact called us: ``to`` is our number
            row = store.create(db, session_id=call.id, account_id=call.account_id,
                               flow_version_id=call.flow_version_id, channel=VOICE,
                               address=(call.caller or call.to) if inbound else call.to,
                               state={}, contact_id=call.contact_id, campaign_contact_id=call.campaign_contact_id,
                               our_address=call.to if inbound else None, now=now)
        call.session_id = row.id
        return row

    def settle_in(self, db: Session, call: Call, record: CallRecord) -> list[out.HttpRequest]:
        """Store the finished call as its session's voice part and continue the journey (see the
        module's docstring). Runs in the settling transaction; gives the webhooks to perform after
        the commit (:meth:`SessionRunner.follow_http`). A call with no flow version (not placed
        from a stored flow) has no session."""
        if call.flow_version_id is None:
            return []
        existing = db.get(FlowSession, call.id)
        if existing is not None and (existing.state or existing.ended):
            call.session_id = existing.id
            return []  # settled before (a retried save): the journey already continued
        now = utcnow()
        row = self.ensure(db, call, now)
        store.append(db, row, [(EventKind(entry["kind"]), entry["type"], entry["payload"]) for entry in record.history],
                     channel=VOICE, now=now)
        if record.final_state is None and record.outcome in UNANSWERED:
            return self._unanswered(db, call, row, record, now)
        state = record.handoff_state or record.final_state
        if state is None:  # answered, but no session ran (hung up before the flow began)
            store.end(db, row, SessionStatus.COMPLETED, "hangup", now)
            return []
        step = Step((), (), state)
        if record.handoff_state is not None and state.get("channel") != VOICE:
            target = self.runner.driver_for(state["channel"], db, row, now)
            if target is not None:
                row.channel = target.capabilities.name
                store.append(db, row, [(EventKind.RUNTIME, "channel_switched",
                                        {"from": VOICE, "to": row.channel, "renders_as": state["channel"]})],
                             now=now)
                store.save(db, row, step, now=now)
                return []
            store.end(db, row, SessionStatus.FAILED, "undeliverable", now)
            row.state = state
            return []
        store.save(db, row, step, now=now)
        return []

    def continued_on(self, db: Session, call: Call) -> str | None:
        """The engine channel an **unanswered** call's journey went on by, once :meth:`settle_in`
        ran: its ``on.no_answer`` switched to it or delivered a message on it (history rows
        written on another channel than voice); None if it did not. The campaign contact of such
        a call is final, not called again (voiceplatform.dialer.settle)."""
        if call.outcome not in {outcome.value for outcome in UNANSWERED} or call.session_id is None:
            return None
        for event in store.history(db, call.session_id):
            if event.kind != EventKind.RUNTIME.value or event.channel == VOICE:
                continue
            if event.type == "channel_switched":
                return str(event.payload.get("renders_as") or event.channel)
            if event.type == "delivered":
                try:
                    return self.runner.channels.get(event.channel).capabilities.renders_as.value
                except ChannelUnavailableError:
                    return event.channel
        return None

    def follow_http(self, session_id: str, requests: list[out.HttpRequest]) -> None:
        """Perform a committed continuation's webhooks (the runner resumes with each answer)."""
        self.runner.follow_http(RunResult(session_id, "started", SessionStatus.ACTIVE.value), requests)

    def _unanswered(self, db: Session, call: Call, row: FlowSession, record: CallRecord,
                    now: datetime) -> list[out.HttpRequest]:
        assert record.outcome is not None
        flow = self.runner.flows.get(db, row.flow_version_id)
        contact = db.get(Contact, call.contact_id) if call.contact_id is not None else None
        view = contact_view(contact) if contact is not None else {"phone": call.to}
        facts = {"answered": False, "status": record.outcome.value, "cause": record.cause or ""}
        step = start(flow, view, VOICE, facts=facts, session_id=row.id, now=now, language=view.get("language"))
        given = Input.facts(**facts)  # what the switch said, as the session's input
        store.append(db, row, [(EventKind.INPUT, given.kind.value, given.to_dict())], now=now)
        return self.runner.apply_in(db, row, step, ENDED_CALL, now)
