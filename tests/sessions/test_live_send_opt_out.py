"""A ``send`` run on a live call checks the contact's stored opt-outs (the call knows only the
opt-outs its own flow ran): a contact who opted out of SMS gets no SMS from a call, with a
``suppressed`` history row; a contact who accepts SMS gets it through the dev channel.
SQLite and PostgreSQL."""

from __future__ import annotations

import uuid

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.api.conftest import Tenants
from tests.sessions.conftest import FLOW
from voiceplatform.flow import outputs as out
from voiceplatform.models import Call, Contact, FlowStatus, FlowVersion
from voiceplatform.models.base import utcnow
from voiceplatform.models.sessions import DevMessage
from voiceplatform.sessions import runtime as messaging
from voiceplatform.sessions.calls import CallSessions
from voiceplatform.switches.call_record import CallRecord


def _call(sessions: sessionmaker[Session], account_id: int, channels: list[str]) -> tuple[str, str]:
    phone = f"+9665{uuid.uuid4().int % 10**8:08d}"
    with sessions.begin() as db:
        version = FlowVersion(account_id=account_id, name=f"live_send_{uuid.uuid4().hex[:6]}", version=1,
                              definition=FLOW, checksum=FlowVersion.checksum_of(FLOW), status=FlowStatus.PUBLISHED,
                              published_at=utcnow())
        contact = Contact(account_id=account_id, phone=phone, channels=channels)
        db.add_all([version, contact])
        db.flush()
        call_id = uuid.uuid4().hex
        db.add(Call(id=call_id, account_id=account_id, contact_id=contact.id, flow_version_id=version.id,
                    flow_name=version.name, to=phone, switch="asterisk"))
    return call_id, phone


@pytest.mark.parametrize("channels, sent", [(["voice"], False), (["voice", "sms"], True)])
def test_a_live_calls_send_respects_the_contacts_stored_opt_outs(
        app: Flask, tenants: Tenants, channels: list[str], sent: bool) -> None:
    sessions: sessionmaker[Session] = app.extensions["vp_sessions"]
    call_id, phone = _call(sessions, tenants.ids["acme"], channels)
    record = CallRecord(call_id=call_id, to=phone, flow="live_send", switch="asterisk")
    CallSessions(sessions, messaging.build(sessions).runner).send_during_call(
        record, out.Send(channel="sms", text="Your link"))
    with sessions() as db:
        outbox = list(db.scalars(select(DevMessage.to_address).where(DevMessage.to_address == phone)))
    assert outbox == ([phone] if sent else [])
    types = [entry["type"] for entry in record.history]
    assert types == (["delivered"] if sent else ["suppressed"])
    assert record.errors == []
