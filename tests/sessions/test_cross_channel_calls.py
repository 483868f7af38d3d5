"""A call that is not answered continues as the same session on the messaging channel: a campaign
calls the lab's ``no-answer`` callee (on the Asterisk lab, and on the FreeSWITCH emulator), the
payment reminder's ``on.no_answer`` switches to SMS (the dev channel stands in), the contact gets
the messages in the dev outbox, a reply through ``POST /dev/inbound`` resumes the session, and the
session completes with the voice part and the messaging part in one history. SQLite and
PostgreSQL (the database_url fixture)."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from voiceplatform.app import create_app
from voiceplatform.dialer.process import start_dialer
from voiceplatform.lab.numbers import CALLEE_NUMBERS
from voiceplatform.models import Account, ApiToken, Call, CampaignContact, FlowSession, Role
from voiceplatform.sessions import store
from voiceplatform.testing.campaign_seed import seed_campaign

pytestmark = pytest.mark.integration

CONTACT = {"first_name": "Amira", "amount": "$120.50", "due_date": "1 December", "account_id": "AC-1042"}
NO_ANSWER = CALLEE_NUMBERS["no-answer"]
NO_RETRIES = {outcome: {"retries": 0} for outcome in ("busy", "no-answer", "failed", "congestion", "rejected")}


@pytest.fixture(scope="module")
def app(database_url: str) -> Iterator[Flask]:
    application = create_app({"DATABASE_URL": database_url, "TESTING": True})
    yield application
    application.extensions["vp_engine"].dispose()


def _campaign(app: Flask, client: FlaskClient, name: str) -> tuple[int, dict[str, str], str]:
    sessions: sessionmaker[Session] = app.extensions["vp_sessions"]
    seeded = seed_campaign(sessions, [NO_ANSWER], name=name, attributes=CONTACT,
                           settings={"ring_seconds": 5, "retries": NO_RETRIES})
    with sessions.begin() as db:
        account = db.get(Account, seeded.account_id)
        assert account is not None
        token, secret = ApiToken.issue(account, Role.ADMIN, name=f"{name}-admin")
        db.add(token)
    auth = {"Authorization": f"Bearer {secret}"}
    ours = f"+1202555{9000 + seeded.account_id % 900:04d}"
    created = client.post("/numbers", json={"number": ours, "channels": ["dev"]}, headers=auth)
    assert created.status_code == 201, created.get_json()
    return seeded.campaign_id, auth, ours


def _outbox(client: FlaskClient, auth: dict[str, str], count: int, timeout: float = 90) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    messages: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        response = client.get(f"/dev/outbox?to={NO_ANSWER.replace('+', '%2B')}", headers=auth)
        assert response.status_code == 200, response.get_json()
        messages = response.get_json()["items"]
        if len(messages) >= count:
            return messages
        time.sleep(0.3)
    raise AssertionError(f"the dev outbox holds {messages}, not {count} messages")


def _journey(app: Flask, name: str) -> None:
    client = app.test_client()
    sessions: sessionmaker[Session] = app.extensions["vp_sessions"]
    campaign_id, auth, ours = _campaign(app, client, name)
    dialer = start_dialer(sessions, capacity=5)
    try:
        dialer.runtime.wake()
        sent = _outbox(client, auth, 2)
    finally:
        dialer.stop(timeout=30)
    with sessions() as db:
        call = db.scalars(select(Call).where(Call.campaign_id == campaign_id)).one()
        assert call.outcome in ("no-answer", "failed"), (call.outcome, call.cause)
        assert call.session_id == call.id
        row = db.get(FlowSession, call.id)
        assert row is not None and row.status == "waiting" and row.channel == "dev" and row.wait_kind == "gather"
        entry = db.get(CampaignContact, call.campaign_contact_id)
        assert entry is not None and row.campaign_contact_id == entry.id and row.contact_id == entry.contact_id
    assert [m["session_id"] for m in sent] == [call.id, call.id]
    assert sent[0]["text"].startswith("Acme Bank: we tried to call you, Amira.")
    assert "Reply 1" in sent[1]["text"]

    reply = client.post("/dev/inbound", json={"from": NO_ANSWER, "to": ours, "text": "Pay now"}, headers=auth)
    assert reply.status_code in (200, 201), reply.get_json()
    assert reply.get_json()["session_id"] == call.id
    after = _outbox(client, auth, 4, timeout=10)
    assert after[2]["text"] == "Pay $120.50 securely at https://pay.example.com/p/AC-1042"

    with sessions() as db:
        row = db.get(FlowSession, call.id)
        assert row is not None and row.status == "completed" and row.ended_at is not None
        history = store.history(db, call.id)
    seqs = [event.seq for event in history]
    assert seqs == list(range(1, len(seqs) + 1))
    channels = [event.channel for event in history]
    first_dev = channels.index("dev")
    assert channels[:first_dev] and set(channels[:first_dev]) == {"voice"} and set(channels[first_dev:]) == {"dev"}
    kinds = [(event.kind, event.type) for event in history]
    assert kinds[0] == ("input", "facts") and history[0].payload["data"]["answered"] is False
    assert ("output", "switch_channel") in kinds
    assert ("runtime", "channel_switched") in kinds
    assert [e.payload["value"] for e in history if e.kind == "input" and e.type == "text"] == ["Pay now"]
    assert sum(1 for kind in kinds if kind == ("runtime", "delivered")) == 2


def test_no_answer_on_asterisk_continues_on_the_dev_channel(asterisk_lab: Any, app: Flask,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from voiceplatform.lab import up

    up(asterisk_lab.settings)  # idempotent: brings the lab back if an earlier test stopped it
    monkeypatch.setenv("VOICEPLATFORM_SWITCH", "asterisk")
    monkeypatch.setenv("VOICEPLATFORM_SWITCH_NAME", f"cross-asterisk-{id(app)}")
    _journey(app, "cross-asterisk")


def test_no_answer_on_freeswitch_continues_on_the_dev_channel(app: Flask, monkeypatch: pytest.MonkeyPatch,
                                                              tmp_path: Any) -> None:
    from voiceplatform.testing.freeswitch import FreeSwitchEmulator

    with FreeSwitchEmulator(time_scale=0.05) as fs:
        # the lab's no-answer callee, dialled by its E.164 number as a campaign does
        fs.callees.register(dataclasses.replace(fs.callees.resolve("no-answer"), name=NO_ANSWER))
        monkeypatch.setenv("VOICEPLATFORM_SWITCH", "freeswitch")
        monkeypatch.setenv("VOICEPLATFORM_SWITCH_NAME", f"cross-freeswitch-{id(app)}")
        monkeypatch.setenv("VOICEPLATFORM_ESL_PORT", str(fs.port))
        monkeypatch.setenv("VOICEPLATFORM_MEDIA_DIR", str(tmp_path))
        _journey(app, "cross-freeswitch")
