"""A call that is not answered continues as the same session on the messaging channel: a campaign
calls the lab's ``no-answer`` callee (on the Asterisk lab, and on the FreeSWITCH emulator), the
payment reminder's ``on.no_answer`` switches to SMS (the dev channel stands in), the contact gets
the messages in the dev outbox, a reply through ``POST /dev/inbound`` resumes the session, and the
session completes with the voice part and the messaging part in one history. SQLite and
PostgreSQL (the database_url fixture)."""

from __future__ import annotations

import dataclasses
import time
from contextlib import contextmanager
from collections.abc import Iterator
from typing import Any, Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from voiceplatform.app import create_app
from voiceplatform.dialer.process import start_dialer
from voiceplatform.lab.numbers import CALLEE_NUMBERS
from voiceplatform.models import Account, ApiToken, Call, Campaign, CampaignContact, FlowSession, FlowVersion, Role
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


def _campaign(app: Flask, client: FlaskClient, name: str, phone: str = NO_ANSWER,
              definition: Callable[[str], str] | None = None) -> tuple[int, dict[str, str], str]:
    sessions: sessionmaker[Session] = app.extensions["vp_sessions"]
    seeded = seed_campaign(sessions, [phone], name=name, attributes=CONTACT,
                           settings={"ring_seconds": 5, "retries": NO_RETRIES})
    with sessions.begin() as db:
        if definition is not None:  # a variant of the payment reminder
            campaign = db.get(Campaign, seeded.campaign_id)
            assert campaign is not None
            version = db.get(FlowVersion, campaign.flow_version_id)
            assert version is not None
            version.definition = definition(version.definition)
            version.checksum = FlowVersion.checksum_of(version.definition)
        account = db.get(Account, seeded.account_id)
        assert account is not None
        token, secret = ApiToken.issue(account, Role.ADMIN, name=f"{name}-admin")
        db.add(token)
    auth = {"Authorization": f"Bearer {secret}"}
    ours = f"+1202555{9000 + seeded.account_id % 900:04d}"
    created = client.post("/numbers", json={"number": ours, "channels": ["dev"]}, headers=auth)
    assert created.status_code == 201, created.get_json()
    return seeded.campaign_id, auth, ours


def _outbox(client: FlaskClient, auth: dict[str, str], count: int, timeout: float = 90,
            to: str = NO_ANSWER) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    messages: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        response = client.get(f"/dev/outbox?to={to.replace('+', '%2B')}", headers=auth)
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


@contextmanager
def _emulator(monkeypatch: pytest.MonkeyPatch, media: Any, name: str) -> Iterator[None]:
    """The FreeSWITCH emulator, with the lab's callees also dialled by their E.164 numbers (as
    a campaign dials them), as the switch start_dialer drives."""
    from voiceplatform.testing.freeswitch import FreeSwitchEmulator

    with FreeSwitchEmulator(time_scale=0.05) as fs:
        for callee in ("no-answer", "answer-press-1"):
            fs.callees.register(dataclasses.replace(fs.callees.resolve(callee), name=CALLEE_NUMBERS[callee]))
        monkeypatch.setenv("VOICEPLATFORM_SWITCH", "freeswitch")
        monkeypatch.setenv("VOICEPLATFORM_SWITCH_NAME", f"{name}-{id(media)}")
        monkeypatch.setenv("VOICEPLATFORM_ESL_PORT", str(fs.port))
        monkeypatch.setenv("VOICEPLATFORM_MEDIA_DIR", str(media))
        yield


def test_no_answer_on_freeswitch_continues_on_the_dev_channel(app: Flask, monkeypatch: pytest.MonkeyPatch,
                                                              tmp_path: Any) -> None:
    with _emulator(monkeypatch, tmp_path, "cross-freeswitch"):
        _journey(app, "cross-freeswitch")


def _call_and_session(app: Flask, campaign_id: int,
                      settled: Callable[[FlowSession], bool]) -> tuple[Call, FlowSession, list[Any]]:
    """The campaign's call and its session, once the call has an outcome and the session is as
    ``settled`` says: the session's first steps are stored while the call is still live, before
    the dialler writes the call's outcome (polling for the session alone raced the outcome)."""
    sessions: sessionmaker[Session] = app.extensions["vp_sessions"]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with sessions() as db:
            call = db.scalars(select(Call).where(Call.campaign_id == campaign_id)).first()
            row = db.get(FlowSession, call.id) if call is not None and call.session_id else None
            if call is not None and call.outcome is not None and row is not None and row.state and settled(row):
                return call, row, store.history(db, call.id)
        time.sleep(0.3)
    raise AssertionError("the call never ended with its session settled")


def test_a_send_on_a_live_call_goes_through_the_dev_channel_in_the_calls_session(
        app: Flask, monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    client = app.test_client()
    press_1 = CALLEE_NUMBERS["answer-press-1"]
    with _emulator(monkeypatch, tmp_path, "live-send"):
        campaign_id, auth, _ = _campaign(app, client, "live-send", phone=press_1)
        dialer = start_dialer(app.extensions["vp_sessions"], capacity=5)
        try:
            dialer.runtime.wake()
            call, row, history = _call_and_session(app, campaign_id, lambda row: row.status == "completed")
        finally:
            dialer.stop(timeout=30)
    assert call.outcome == "answered" and call.session_id == call.id
    assert [m["channel"] for m in call.messages] == ["sms"]
    sent = _outbox(client, auth, 1, timeout=5, to=press_1)
    assert [(m["session_id"], m["text"]) for m in sent] == [
        (call.id, "Acme Bank: pay $120.50 securely at https://pay.example.com/p/AC-1042")]
    assert row.status == "completed" and row.channel == "voice"  # the journey ended on the call
    kinds = [(event.kind, event.type) for event in history]
    assert kinds.index(("output", "send")) < kinds.index(("runtime", "delivered"))
    assert {event.channel for event in history} == {"voice"}
    assert [e.payload["value"] for e in history if e.kind == "input" and e.type == "digits"] == ["1"]


def test_a_switch_channel_on_a_live_call_continues_as_the_same_session(
        app: Flask, monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    client = app.test_client()
    press_1 = CALLEE_NUMBERS["answer-press-1"]

    def sms_after_the_link(definition: str) -> str:  # once the link is sent, the call hands over to SMS
        return definition.replace("    prompt: payment_link_sent\n    next: goodbye",
                                  "    prompt: payment_link_sent\n    next: missed_call")

    with _emulator(monkeypatch, tmp_path, "live-switch"):
        campaign_id, auth, ours = _campaign(app, client, "live-switch", phone=press_1, definition=sms_after_the_link)
        dialer = start_dialer(app.extensions["vp_sessions"], capacity=5)
        try:
            dialer.runtime.wake()
            call, row, _ = _call_and_session(app, campaign_id,
                                             lambda row: row.status == "waiting" and row.channel == "dev")
        finally:
            dialer.stop(timeout=30)
    assert call.outcome == "answered" and row.channel == "dev" and row.status == "waiting"
    sent = _outbox(client, auth, 3, timeout=5, to=press_1)  # the link (live), then the SMS menu
    assert {m["session_id"] for m in sent} == {call.id} and "Reply 1" in sent[2]["text"]
    reply = client.post("/dev/inbound", json={"from": press_1, "to": ours, "text": "Pay now"}, headers=auth)
    assert reply.status_code == 200 and reply.get_json()["session_id"] == call.id, reply.get_json()
    with app.extensions["vp_sessions"]() as db:
        ended = db.get(FlowSession, call.id)
        assert ended is not None and ended.status == "completed"
        history = store.history(db, call.id)
    channels = [event.channel for event in history]
    assert channels[0] == "voice" and channels[-1] == "dev"
    assert _outbox(client, auth, 5, timeout=5, to=press_1)[3]["text"].startswith("Pay $120.50 securely")
    assert ("runtime", "channel_switched") in [(event.kind, event.type) for event in history]
