"""The CallSink that persists finished calls: one ``calls`` row per call, with its recordings.
Saving the same call twice updates it (a retried save never duplicates a call). It lives here, not
in ``switches``: the switches hand records to whatever sink they are given and know no models."""

from __future__ import annotations

from sqlalchemy.orm import Session, object_session, sessionmaker

from voiceplatform.contacts.opt_out import apply_opt_outs
from voiceplatform.models import Call, Recording
from voiceplatform.models.base import utcnow
from voiceplatform.switches.call_record import CallRecord


def copy_record(call: Call, record: CallRecord) -> None:
    """Write what ``record`` says about the call onto its row, recordings included."""
    stamps = record.timestamps
    call.flow_name = record.flow
    call.to = record.to
    call.direction = record.direction
    call.caller = record.caller
    call.switch = record.switch
    call.outcome = record.outcome.value if record.outcome else None
    call.cause = record.cause
    call.amd = record.amd
    call.queued_at = stamps.get("queued") or call.queued_at
    call.dialling_at = stamps.get("dialling")
    call.ringing_at = stamps.get("ringing")
    call.answered_at = stamps.get("answered")
    call.ended_at = stamps.get("ended")
    call.billable_seconds = record.billable_seconds
    call.results = record.results
    call.path = record.path
    call.transcript = record.transcript
    call.messages = record.messages
    call.errors = record.errors
    call.final_state = record.final_state
    session = object_session(call)
    if record.opt_outs and session is not None:  # a flow's opt_out, applied with the call's save
        apply_opt_outs(session, call.contact_id, record.opt_outs, record.timestamps.get("ended") or utcnow())
    known = {recording.path for recording in call.recordings}
    for info in record.recordings:
        if info.path not in known:
            call.recordings.append(Recording(
                account_id=call.account_id, path=info.path, duration=info.duration,
                sha256=info.sha256, node=info.node, transcript=info.transcript,
            ))


class DatabaseCallSink:
    def __init__(self, sessions: sessionmaker[Session], account_id: int, **links: int | None) -> None:
        self.sessions = sessions
        self.account_id = account_id
        self.links = links  # campaign_id, campaign_contact_id, contact_id, flow_version_id

    def call_ended(self, record: CallRecord) -> None:
        with self.sessions.begin() as session:
            call = session.get(Call, record.call_id) or Call(id=record.call_id, account_id=self.account_id)
            for name, value in self.links.items():
                setattr(call, name, value)
            session.add(call)  # before copy_record: it applies opt-outs in this session
            copy_record(call, record)
