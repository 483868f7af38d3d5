"""A call that is not answered continues as the same session over WhatsApp (issue 15): a campaign
calls the Asterisk lab's ``no-answer`` callee with ``ivr_flows/missed_call_whatsapp.yaml``; its
``on.no_answer`` switches to WhatsApp, whose driver is the real bridge's
(``VOICEPLATFORM_CHANNELS=whatsapp_bridge.driver:register`` in the dialler's worker) and whose
bridge (sender, inbox, webhook server, in this process) talks to the WhatsApp contract server.
The contact never wrote to us, so the first question goes out as its template; the user taps
its quick-reply button on the server's side, which opens the window, so the next question (five
days) goes free-form as a list; the list reply resumes the same session and completes it, with
the voice part and the WhatsApp part in one history. SQLite and PostgreSQL."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from voiceplatform.app import create_app
from voiceplatform.dialer.process import start_dialer
from voiceplatform.lab.numbers import CALLEE_NUMBERS
from voiceplatform.models import Account, ApiToken, Call, CampaignContact, FlowSession, FlowVersion, Role
from voiceplatform.models.whatsapp import WhatsAppMessage
from voiceplatform.sessions import store
from voiceplatform.testing.campaign_seed import seed_campaign
from voiceplatform.testing.whatsapp_cloud import SEED_NUMBER_ID, WhatsAppCloudServer

from whatsapp_bridge.bridge import WhatsAppBridge, messaging_runtime
from whatsapp_bridge.config import BusinessNumber, WhatsAppSettings
from whatsapp_bridge.throughput import LocalThroughput

pytestmark = pytest.mark.integration

FLOW = Path(__file__).resolve().parents[2] / "ivr_flows" / "missed_call_whatsapp.yaml"
NO_ANSWER = CALLEE_NUMBERS["no-answer"]
CONTACT = {"first_name": "Amira", "appointment_date": "3 March"}
NO_RETRIES = {outcome: {"retries": 0} for outcome in ("busy", "no-answer", "failed", "congestion", "rejected")}
APP_SECRET = "call-to-whatsapp-app-secret"
TOKEN = "call-to-whatsapp-token"
TEMPLATE = "missed_call_appointment"


@pytest.fixture(scope="module")
def app(database_url: str) -> Iterator[Flask]:
    application = create_app({"DATABASE_URL": database_url, "TESTING": True})
    yield application
    application.extensions["vp_engine"].dispose()


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """The bridge's webhook socket, bound first so the contract server can be told its URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    yield sock
    sock.close()


def _campaign(app: Flask) -> tuple[int, dict[str, str], str]:
    """A campaign calling the no-answer callee with the flow; an admin token; our WhatsApp
    business number, registered for the account on the whatsapp channel."""
    sessions: sessionmaker[Session] = app.extensions["vp_sessions"]
    seeded = seed_campaign(sessions, [NO_ANSWER], name="call-to-whatsapp", attributes=CONTACT,
                           settings={"ring_seconds": 5, "retries": NO_RETRIES})
    definition = FLOW.read_text()
    with sessions.begin() as db:
        version = db.scalars(select(FlowVersion).where(FlowVersion.account_id == seeded.account_id)).one()
        version.name, version.definition = "missed_call_whatsapp", definition
        version.checksum = FlowVersion.checksum_of(definition)
        account = db.get(Account, seeded.account_id)
        assert account is not None
        token, secret = ApiToken.issue(account, Role.ADMIN, name="call-to-whatsapp-admin")
        db.add(token)
    auth = {"Authorization": f"Bearer {secret}"}
    ours = f"+1202667{seeded.account_id % 10000:04d}"
    created = app.test_client().post("/numbers", json={"number": ours, "channels": ["whatsapp"]}, headers=auth)
    assert created.status_code == 201, created.get_json()
    return seeded.campaign_id, auth, ours


def _add_template(cloud: WhatsAppCloudServer) -> None:
    """The approved template the flow's first question falls back on, as the WABA holds it."""
    cloud.client.add_template(TEMPLATE, "en", "UTILITY", "APPROVED", [
        {"type": "BODY", "text": "Hello {{1}}, we tried to call you about your appointment on {{2}}."},
        {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": "Keep it"},
                                        {"type": "QUICK_REPLY", "text": "Another day"}]}])


def _sent(cloud: WhatsAppCloudServer, count: int, timeout: float = 30) -> list[dict[str, Any]]:
    """The messages the server accepted, once there are ``count`` of them (marks read aside)."""
    deadline = time.monotonic() + timeout
    sent: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        sent = [entry for entry in cloud.client.sent() if entry["kind"] != "mark_read"]
        if len(sent) >= count:
            return sent
        time.sleep(0.2)
    raise AssertionError(f"the contract server accepted {sent}, not {count} messages")


def _session(app: Flask, session_id: str, status: str, timeout: float = 15) -> FlowSession:
    sessions: sessionmaker[Session] = app.extensions["vp_sessions"]
    deadline = time.monotonic() + timeout
    while True:
        with sessions() as db:
            row = db.get(FlowSession, session_id)
            if row is not None and row.status == status or time.monotonic() > deadline:
                assert row is not None and row.status == status, (row and row.status, status)
                return row
        time.sleep(0.2)


def test_an_unanswered_call_continues_over_whatsapp_as_the_same_session(
        asterisk_lab: Any, app: Flask, listener: socket.socket, monkeypatch: pytest.MonkeyPatch) -> None:
    from voiceplatform.lab import up

    up(asterisk_lab.settings)  # idempotent: brings the lab back if an earlier test stopped it
    campaign_id, auth, ours = _campaign(app)
    sessions: sessionmaker[Session] = app.extensions["vp_sessions"]
    port = listener.getsockname()[1]
    monkeypatch.setenv("VOICEPLATFORM_SWITCH", "asterisk")
    monkeypatch.setenv("VOICEPLATFORM_SWITCH_NAME", f"call-to-whatsapp-{id(app)}")
    # the dialler's worker queues WhatsApp messages through the bridge's driver, for our number
    monkeypatch.setenv("VOICEPLATFORM_CHANNELS", "whatsapp_bridge.driver:register")
    monkeypatch.setenv("VOICEPLATFORM_WHATSAPP_NUMBERS", f"{SEED_NUMBER_ID}={ours}")
    with WhatsAppCloudServer(webhook_url=f"http://127.0.0.1:{port}/whatsapp/webhook", app_secret=APP_SECRET,
                             token=TOKEN) as cloud:
        _add_template(cloud)
        settings = WhatsAppSettings(graph_url=cloud.graph_url, token=TOKEN, app_secret=APP_SECRET,
                                    numbers=(BusinessNumber(SEED_NUMBER_ID, ours, 80),), poll_every=0.02,
                                    inbox_poll_every=0.05)
        bridge = WhatsAppBridge(sessions, settings, messaging=messaging_runtime(sessions, settings),
                                listener=listener, throughput=LocalThroughput()).start()
        try:
            dialer = start_dialer(sessions, capacity=5)
            try:
                dialer.runtime.wake()
                (opening,) = _sent(cloud, 1, timeout=45)
            finally:
                dialer.stop(timeout=30)
            with sessions() as db:
                call = db.scalars(select(Call).where(Call.campaign_id == campaign_id)).one()
                entry = db.get(CampaignContact, call.campaign_contact_id)
            assert call.outcome == "no-answer", (call.outcome, call.cause)
            assert call.session_id == call.id
            assert entry is not None and entry.last_outcome == "continued"  # reached by WhatsApp: not called again
            row = _session(app, call.id, "waiting")
            assert (row.channel, row.wait_kind, row.address) == ("whatsapp", "gather", NO_ANSWER)

            # outside the window (the contact never wrote): the question's template, its buttons the choice keys
            assert opening["kind"] == "template" and opening["recipient"] == NO_ANSWER[1:]
            template = opening["body"]["template"]
            assert (template["name"], template["language"]["code"]) == (TEMPLATE, "en")
            components = {(c["type"], c.get("index")): c["parameters"] for c in template["components"]}
            assert [p["text"] for p in components[("body", None)]] == ["Amira", "3 March"]
            assert [components[("button", str(i))][0]["payload"] for i in range(2)] == ["1", "2"]

            # the tap opens the window: the next question (five days) goes free-form, as a list
            cloud.client.inject("quick_reply", user=NO_ANSWER[1:], payload="2", text="Another day")
            asked = _sent(cloud, 2)[1]
            assert asked["kind"] == "interactive" and asked["body"]["interactive"]["type"] == "list"
            rows = asked["body"]["interactive"]["action"]["sections"][0]["rows"]
            assert [(r["id"], r["title"]) for r in rows] == [
                ("1", "Monday"), ("2", "Tuesday"), ("3", "Wednesday"), ("4", "Thursday"), ("5", "Friday")]
            assert _session(app, call.id, "waiting").wait_kind == "gather"

            cloud.client.inject("list_reply", user=NO_ANSWER[1:], id="3", title="Wednesday")
            thanks = _sent(cloud, 3)[2]
            assert thanks["kind"] == "text" and thanks["body"]["text"]["body"] == (
                "Thank you, we will move your appointment to Wednesday and confirm the time.")
            ended = _session(app, call.id, "completed")
        finally:
            bridge.stop(10)
    assert ended.channel == "whatsapp" and ended.ended_at is not None
    with sessions() as db:
        messages = db.scalars(select(WhatsAppMessage).where(WhatsAppMessage.recipient == NO_ANSWER)
                              .where(WhatsAppMessage.account_id == ended.account_id)
                              .order_by(WhatsAppMessage.id)).all()
        journeys = db.scalars(select(FlowSession.id).where(FlowSession.account_id == ended.account_id)).all()
        history = store.history(db, call.id)
    assert journeys == [call.id]  # one journey: the replies resumed the call's session, none started another
    assert [(m.session_id, m.message_type) for m in messages] == [
        (call.id, "template"), (call.id, "interactive"), (call.id, "text")]
    assert [m.wamid for m in messages] == [opening["wamid"], asked["wamid"], thanks["wamid"]]

    # one history: the voice part, then the WhatsApp part
    channels = [event.channel for event in history]
    first_whatsapp = channels.index("whatsapp")
    assert set(channels[:first_whatsapp]) == {"voice"} and set(channels[first_whatsapp:]) == {"whatsapp"}
    kinds = [(event.kind, event.type) for event in history]
    assert kinds[0] == ("input", "facts") and history[0].payload["data"]["answered"] is False
    assert ("output", "switch_channel") in kinds and ("runtime", "channel_switched") in kinds
    assert [e.payload["value"] for e in history if e.kind == "input" and e.type == "text"] == ["2", "3"]
    assert sum(1 for kind in kinds if kind == ("runtime", "delivered")) == 3

    read = app.test_client().get(f"/sessions/{call.id}", headers=auth)
    assert read.status_code == 200, read.get_json()
    body = read.get_json()
    assert body["status"] == "completed" and body["results"]["new_day"]["label"] == "Wednesday"
    assert [part["channel"] for part in body["path"]] == ["voice", "whatsapp"]
    voice, whatsapp = body["path"]
    assert [(event["kind"], event["text"]) for event in voice["events"]] == [
        ("call", "not answered"), ("switch", "voice → whatsapp")]
    # the switching step's question was written on the voice rows but belongs to the WhatsApp part
    assert [event["kind"] for event in whatsapp["events"]] == ["message", "delivered", "reply"] * 2 + [
        "message", "delivered"]
    assert whatsapp["events"][0]["text"].startswith(f"[template {TEMPLATE}] City Clinic: we tried to call you")
    assert [event["text"] for event in whatsapp["events"] if event["kind"] == "reply"] == ["2", "3"]
    assert [node["id"] for node in whatsapp["nodes"]][-3:] == ["pick_day", "rebooked", "done"]
    lines = [line["line"] for line in body["transcript"]]
    assert "system: journey moves from voice to whatsapp" in lines
    assert any(line.startswith(f"bot (whatsapp): [template {TEMPLATE}(Amira, 3 March)]") for line in lines)
    assert lines[-1] == "bot (whatsapp): Thank you, we will move your appointment to Wednesday and confirm the time."
