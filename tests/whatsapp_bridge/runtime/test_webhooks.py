"""The webhook endpoint and the inbox, on SQLite and PostgreSQL: the verification handshake
(good, wrong mode, wrong or missing token); a POST without a signature is 401, with a wrong one
403, over 1 MiB 413; the 200 comes before anything is processed; a reply resumes the waiting
session and refreshes the window; duplicates (the same POST again, or its events re-batched)
apply once; statuses out of order never move back and price the message once; a status before
its wamid is stored is held and applied when the send's answer is stored; a batch of messages
and statuses in one POST."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone
from decimal import Decimal

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from tests.api.conftest import Tenants, app, client, tenants  # noqa: F401  (fixtures)
from tests.whatsapp_bridge.runtime.world import (VERIFY_TOKEN, ScriptedGraph, World, button_reply, envelope,
                                                 signed, status, text_message)
from voiceplatform.models import FlowSession
from voiceplatform.models.whatsapp import (WhatsAppHeldStatus, WhatsAppStatusReceipt, WhatsAppWebhookEvent,
                                          WhatsAppWindow)

from whatsapp_bridge.driver import WhatsAppChannel
from whatsapp_bridge.inbox import Inbox
from whatsapp_bridge.pairs import PairPacer
from whatsapp_bridge.sender import Sender, Sending
from whatsapp_bridge.throughput import LocalThroughput
from whatsapp_bridge.webhooks import PATH, webhook_blueprint

_contacts = iter(range(200001, 299999))


def new_contact() -> str:
    return f"1555{next(_contacts):07d}"  # wa_id digits; the session address is "+" and these


class Rig:
    def __init__(self, world: World) -> None:
        self.world = world
        flask = Flask("whatsapp-webhook-test")
        self.woken: list[int] = []
        flask.register_blueprint(webhook_blueprint(world.sessions, world.settings, self.woken.append))
        self.http = flask.test_client()
        driver = world.messaging.channels.get("whatsapp")
        assert isinstance(driver, WhatsAppChannel)
        self.inbox = Inbox(world.sessions, world.messaging.router, driver, world.settings, "test-inbox")
        self.graph = ScriptedGraph()
        self.sender = Sender(world.sessions, Sending(self.graph, world.settings, LocalThroughput(), PairPacer(),
                                                     sleep=lambda seconds: None), "test-sender")
        self.number = world.ours[0]

    def post(self, body: dict[str, object]) -> int:
        raw, headers = signed(body)
        return self.http.post(PATH, data=raw, headers=headers).status_code

    def process(self) -> int:
        done = 0
        while True:
            claimed = self.inbox.process_once()
            if not claimed:
                return done
            done += claimed

    def waiting_session(self, wa_id: str) -> str:
        _, version = self.world.publish()
        return self.world.start(f"+{wa_id}", self.number, version)

    def sent_message(self, wa_id: str, wamid: str) -> str:
        """A session whose question went out as ``wamid``; its id."""
        session_id = self.waiting_session(wa_id)
        self.graph.given.append(wamid)
        assert self.sender.send_round().sent >= 1
        return session_id


@pytest.fixture
def rig(app: Flask, client: FlaskClient, tenants: Tenants) -> Iterator[Rig]:  # noqa: F811
    world = World(app, client, tenants)
    for number in world.ours:
        world.register(number)
    made = Rig(world)
    made.process()  # events earlier tests of the module left are not this test's
    yield made


def answers(rig: Rig, session_id: str) -> dict[str, object]:
    row = rig.world.session(session_id)
    results = row.state.get("results", {}) if isinstance(row.state, dict) else {}
    return {key: value.get("value") if isinstance(value, dict) else value for key, value in results.items()}


# ---- the handshake ---------------------------------------------------------------------------------


def test_the_handshake_echoes_the_challenge_only_for_subscribe_and_our_token(rig: Rig) -> None:
    good = rig.http.get(PATH, query_string={"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN,
                                            "hub.challenge": "1158201444"})
    assert (good.status_code, good.mimetype, good.get_data(as_text=True)) == (200, "text/plain", "1158201444")
    for query in ({"hub.mode": "unsubscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1"},
                  {"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "1"},
                  {"hub.mode": "subscribe", "hub.challenge": "1"}):
        refused = rig.http.get(PATH, query_string=query)
        assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "forbidden"


# ---- the POST's checks, before anything is stored ----------------------------------------------------


def test_a_post_needs_its_signature_and_a_body_within_the_limit(rig: Rig) -> None:
    with rig.world.sessions() as db:
        before = db.scalar(select(func.count()).select_from(WhatsAppWebhookEvent))
    raw, headers = signed(envelope(rig.number, statuses=[status("wamid.X", "sent")]))
    missing = rig.http.post(PATH, data=raw, headers={"Content-Type": "application/json"})
    assert missing.status_code == 401
    wrong = rig.http.post(PATH, data=raw + b" ", headers=headers)  # the bytes signed are not these
    assert wrong.status_code == 403
    tampered = dict(headers, **{"X-Hub-Signature-256": "sha256=" + "0" * 64})
    assert rig.http.post(PATH, data=raw, headers=tampered).status_code == 403
    huge = b"{" + b" " * (1024 * 1024) + b"}"
    too_large = rig.http.post(PATH, data=huge, headers=signed({})[1])
    assert too_large.status_code == 413 and too_large.get_json()["error"]["code"] == "too_large"
    with rig.world.sessions() as db:
        assert db.scalar(select(func.count()).select_from(WhatsAppWebhookEvent)) == before


def test_the_200_comes_before_processing_and_a_reply_resumes_the_waiting_session(rig: Rig) -> None:
    wa_id = new_contact()
    session_id = rig.waiting_session(wa_id)
    queued_before = len(rig.world.messages(session_id=session_id))
    body = envelope(rig.number, contacts=[{"profile": {"name": "Zo\u00eb"}, "wa_id": wa_id}],
                    messages=[button_reply(wa_id, "yes", "Yes", f"wamid.IN{wa_id}")])
    assert rig.post(body) == 200
    assert len(rig.woken) == 1
    with rig.world.sessions() as db:
        event = db.get(WhatsAppWebhookEvent, rig.woken[0])
        assert event is not None and event.processed_at is None  # stored, not processed yet
    assert rig.world.session(session_id).status == "waiting" and not answers(rig, session_id)
    assert rig.process() == 1
    assert answers(rig, session_id).get("answer") == "yes"
    assert rig.world.session(session_id).status == "completed"
    thanks = rig.world.messages(session_id=session_id)[queued_before:]
    assert [message.send["text"] for message in thanks] == ["Thanks: yes"]
    with rig.world.sessions() as db:
        window = db.get(WhatsAppWindow, (rig.number.phone_number_id, f"+{wa_id}"))
        assert window is not None and window.last_inbound_at == datetime.fromtimestamp(1_750_000_000, timezone.utc)
        processed = db.get(WhatsAppWebhookEvent, rig.woken[0])
        assert processed is not None and processed.processed_at is not None and processed.error is None


def test_duplicates_apply_once(rig: Rig) -> None:
    wa_id = new_contact()
    session_id = rig.sent_message(wa_id, f"wamid.OUT{wa_id}")
    reply = text_message(wa_id, "no", f"wamid.IN{wa_id}")
    delivered = status(f"wamid.OUT{wa_id}", "delivered",
                       pricing={"billable": True, "pricing_model": "PMP", "type": "regular", "category": "utility"})
    body = envelope(rig.number, messages=[reply], statuses=[delivered])
    assert rig.post(body) == 200
    assert rig.post(body) == 200  # verbatim, again
    assert rig.post(envelope(rig.number, statuses=[delivered])) == 200  # re-batched
    assert rig.post(envelope(rig.number, messages=[reply])) == 200
    assert rig.process() == 4
    row = rig.world.session(session_id)
    assert row.status == "completed" and answers(rig, session_id).get("answer") == "no"
    assert len([m for m in rig.world.messages(session_id=session_id) if m.send.get("text", "").startswith("Thanks")]) == 1
    [sent] = [m for m in rig.world.messages(session_id=session_id) if m.wamid == f"wamid.OUT{wa_id}"]
    assert (sent.status, sent.cost) == ("delivered", Decimal("0.02"))
    with rig.world.sessions() as db:
        assert db.scalar(select(func.count()).select_from(WhatsAppStatusReceipt)
                         .where(WhatsAppStatusReceipt.wamid == f"wamid.OUT{wa_id}")) == 1


def test_statuses_out_of_order_never_move_back(rig: Rig) -> None:
    wa_id = new_contact()
    wamid = f"wamid.OUT{wa_id}"
    rig.sent_message(wa_id, wamid)
    pricing = {"billable": False, "pricing_model": "PMP", "type": "free_customer_service", "category": "service"}
    assert rig.post(envelope(rig.number, statuses=[status(wamid, "read")])) == 200
    assert rig.post(envelope(rig.number, statuses=[status(wamid, "delivered", pricing=pricing)])) == 200
    assert rig.post(envelope(rig.number, statuses=[status(wamid, "sent", pricing=pricing)])) == 200
    assert rig.post(envelope(rig.number, statuses=[status(wamid, "failed", errors=[
        {"code": 131026, "title": "Message undeliverable"}])])) == 200
    rig.process()
    [message] = rig.world.messages(wamid=wamid)
    assert message.status == "read"
    assert (message.pricing_category, message.billable) == ("service", False)


def test_a_status_before_its_wamid_is_stored_is_held_then_applied(rig: Rig) -> None:
    wa_id = new_contact()
    wamid = f"wamid.EARLY{wa_id}"
    assert rig.post(envelope(rig.number, statuses=[status(wamid, "sent")])) == 200
    rig.process()
    with rig.world.sessions() as db:
        assert db.scalars(select(WhatsAppHeldStatus).where(WhatsAppHeldStatus.wamid == wamid)).all()
    rig.sent_message(wa_id, wamid)  # the send's answer is stored: the held status with it
    [message] = rig.world.messages(wamid=wamid)
    assert message.status == "sent"
    with rig.world.sessions() as db:
        assert not db.scalars(select(WhatsAppHeldStatus).where(WhatsAppHeldStatus.wamid == wamid)).all()


def test_a_batch_of_messages_and_statuses_in_one_post(rig: Rig) -> None:
    first, second = new_contact(), new_contact()
    one = rig.waiting_session(first)
    two = rig.sent_message(second, f"wamid.OUT{second}")
    body = envelope(rig.number, messages=[button_reply(first, "yes", "Yes", f"wamid.IN{first}"),
                                          text_message(second, "no", f"wamid.IN{second}"),
                                          {"from": second, "id": f"wamid.ODD{second}", "type": "sticker"}],
                    statuses=[status(f"wamid.OUT{second}", "delivered"), {"id": 7, "status": []}])
    assert rig.post(body) == 200
    assert rig.process() == 1
    assert answers(rig, one).get("answer") == "yes" and answers(rig, two).get("answer") == "no"
    assert rig.world.messages(wamid=f"wamid.OUT{second}")[0].status == "delivered"
    with rig.world.sessions() as db:
        assert db.get(FlowSession, one) is not None
