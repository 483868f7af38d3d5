"""POST /messages with ``channel: whatsapp`` through the WhatsApp bridge's driver (registered as
VOICEPLATFORM_CHANNELS would), on SQLite and PostgreSQL: the message is queued in the bridge's
outbox as the engine's Send (text and template), sent by the bridge's sender through a scripted
Graph API (the template outside the window, the text inside it), and Meta's statuses, applied
by the bridge, move the API message and settle its hold at what the bridge priced it; a send
whose answer never came is ``unknown`` and stays held; the sender must be a number on the
``whatsapp`` channel."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from tests.api.conftest import Tenants, app, client, error_code, tenants  # noqa: F401  (fixtures)
from tests.whatsapp_bridge.runtime.world import ScriptedGraph, World, envelope, status, text_message
from voiceplatform.models import Account, WebhookDelivery, WebhookSubscription
from voiceplatform.models.base import utcnow
from whatsapp_bridge.driver import WhatsAppChannel
from whatsapp_bridge.errors import SendUnconfirmed
from whatsapp_bridge.pairs import PairPacer
from whatsapp_bridge.sender import Sender, Sending
from whatsapp_bridge.status_updates import apply_statuses
from whatsapp_bridge.throughput import LocalThroughput
from whatsapp_bridge.webhook_payloads import parse

UTILITY = {"billable": True, "pricing_model": "PMP", "type": "regular", "category": "utility"}
SERVICE = {"billable": False, "pricing_model": "PMP", "type": "free_customer_service", "category": "service"}
_contacts = iter(range(7000, 10_000))


@pytest.fixture
def world(app: Flask, client: FlaskClient, tenants: Tenants) -> Iterator[World]:  # noqa: F811
    """The bridge's driver in the API's channel registry, one business number of acme's on the
    ``whatsapp`` channel, and a balance of 10."""
    made = World(app, client, tenants, numbers=1)
    kept = app.extensions.get("vp_messaging")
    app.extensions["vp_messaging"] = made.messaging
    made.register(made.ours[0])
    with made.sessions.begin() as db:
        account = db.get(Account, tenants.ids["acme"])
        assert account is not None
        account.balance = Decimal("10")
    yield made
    if kept is None:
        app.extensions.pop("vp_messaging", None)
    else:
        app.extensions["vp_messaging"] = kept


def contact() -> str:
    return f"+1202555{next(_contacts):04d}"


def balance(world: World) -> Decimal:
    with world.sessions() as db:
        account = db.get(Account, world.tenants.ids["acme"])
        assert account is not None
        return Decimal(account.balance)


def send_round(world: World, graph: ScriptedGraph) -> Any:
    sending = Sending(graph, world.settings, LocalThroughput(), PairPacer(), sleep=lambda seconds: None)
    return Sender(world.sessions, sending, "api-test").send_round()


def post(world: World, *statuses: dict[str, Any]) -> None:
    batch = parse(envelope(world.ours[0], statuses=list(statuses)))
    with world.sessions.begin() as db:
        apply_statuses(db, batch.statuses, utcnow(), world.settings.rates)


def api(world: World, **body: Any) -> Any:
    """POST /messages from this test's number (the account's first one on whatsapp is an earlier
    test's, which this test's bridge does not serve)."""
    return world.client.post("/messages", json={"channel": "whatsapp", "from": world.ours[0].number, **body},
                             headers=world.tenants.auth("acme"))


def shown(world: World, message: dict[str, Any]) -> Any:
    return world.client.get(f"/messages/{message['id']}", headers=world.tenants.auth("acme")).get_json()


def test_a_template_outside_the_window_is_charged_what_meta_prices(world: World) -> None:
    to = contact()
    response = api(world, to=to, text="Your parcel arrives today.",
                   template={"name": "parcel_update", "language": "en_US", "params": ["today"]})
    assert response.status_code == 202, response.get_json()
    message = response.get_json()
    assert (message["transport"], message["from"], message["cost"]) == ("whatsapp", world.ours[0].number, "0.2500")
    assert balance(world) == Decimal("9.75")  # held at the marketing rate: no synced templates say its category
    [queued] = world.messages(session_id=message["session_id"])
    assert (queued.recipient, queued.our_number) == (to, world.ours[0].number)
    assert queued.send["text"] == "Your parcel arrives today."
    assert queued.send["template"] == {"name": "parcel_update", "language": "en_US", "params": ["today"]}
    graph = ScriptedGraph()
    assert send_round(world, graph).sent == 1
    [(_, payload)] = graph.sent
    assert payload["type"] == "template" and payload["template"]["name"] == "parcel_update"  # the window is closed
    wamid = graph.wamids[0]
    post(world, status(wamid, "sent", pricing=UTILITY))
    assert shown(world, message)["status"] == "sent"
    post(world, status(wamid, "delivered", pricing=UTILITY))
    settled = shown(world, message)
    assert (settled["status"], settled["cost"], settled["cost_final"]) == ("delivered", "0.0200", True)
    assert balance(world) == Decimal("9.98")  # the hold's rest came back; nothing charged twice
    post(world, status(wamid, "read"))
    assert shown(world, message)["status"] in ("delivered", "read")  # read once the bridge reports it as read
    assert balance(world) == Decimal("9.98")


def test_a_text_inside_the_window_goes_free_form_and_costs_nothing(world: World) -> None:
    to = contact()
    world.open_window(world.ours[0], to, utcnow() - timedelta(minutes=5))
    message = api(world, to=to, text="Thanks, see you at 10.", template={"name": "visit_confirmed"}).get_json()
    graph = ScriptedGraph()
    send_round(world, graph)
    [(_, payload)] = graph.sent
    assert payload["type"] == "text" and payload["text"]["body"] == "Thanks, see you at 10."
    post(world, status(graph.wamids[0], "delivered", pricing=SERVICE))
    assert (shown(world, message)["cost"], balance(world)) == ("0.0000", Decimal("10"))


def test_a_send_never_answered_is_unknown_and_stays_held(world: World) -> None:
    message = api(world, to=contact(), template={"name": "promo"}).get_json()
    assert send_round(world, ScriptedGraph([SendUnconfirmed("read timeout after the write")])).unconfirmed == 1
    after = shown(world, message)
    assert (after["status"], after["cost"], after["cost_final"]) == ("unknown", "0.2500", False)
    assert balance(world) == Decimal("9.75")


def test_the_sender_must_be_on_the_whatsapp_channel(world: World) -> None:
    sms_only = "+12026669999"
    created = world.client.post("/numbers", json={"number": sms_only, "channels": ["sms"]},
                                headers=world.tenants.auth("acme"))
    assert created.status_code == 201, created.get_json()
    refused = api(world, to=contact(), text="hi", **{"from": sms_only})
    assert refused.status_code == 400 and error_code(refused) == "sender_refused"
    assert "whatsapp" in refused.get_json()["error"]["message"]
    assert api(world, to=contact(), text="hi", **{"from": world.ours[0].number}).status_code == 202


def test_a_reply_reaches_the_customer_as_message_received(world: World) -> None:
    to = contact()
    with world.sessions.begin() as db:
        db.add(WebhookSubscription(account_id=world.tenants.ids["acme"], url="https://crm.example.com/hooks",
                                   secret="s" * 32, events=["message.received"]))
    assert api(world, to=to, text="Reply YES to confirm").status_code == 202
    driver = world.messaging.channels.get("whatsapp")
    assert isinstance(driver, WhatsAppChannel)
    [event] = parse(envelope(world.ours[0], messages=[text_message(to[1:], "YES", "wamid.REPLY" + to[1:])])).inbound
    [routed] = world.messaging.router.receive_many([driver.inbound_message(event)])
    assert routed.outcome == "unsolicited"  # the message's session has ended: kept, and the customer told
    with world.sessions() as db:
        [delivery] = db.scalars(select(WebhookDelivery).where(WebhookDelivery.event == "message.received")
                                .where(WebhookDelivery.payload["from"].as_string() == to)).all()
    assert (delivery.payload["channel"], delivery.payload["text"], delivery.payload["to"]) == (
        "whatsapp", "YES", world.ours[0].number)
