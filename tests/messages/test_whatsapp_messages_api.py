"""POST /messages with ``channel: whatsapp`` on SQLite and PostgreSQL, on the dev channel (the
registry's stand-in for the WhatsApp bridge): a text, a template, both; templates checked
against the account's synced registry (unknown, another language, not approved, the wrong number
of parameters: 400 naming the field); opt-outs and the do-not-call list per channel; the sender
(one of the account's numbers on the channel, never a sender ID); hostile bodies as 4xx JSON;
the hold on submission and its settlement by the final status; statuses through read as signed
``message.status`` webhooks; GET /messages by channel; the OpenAPI document."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import delete

from tests.api.conftest import error_code
from tests.messages.conftest import Shop, us_number
from tests.webhooks.conftest import SECRET, Receiver
from voiceplatform.campaigns.pricing import Rates
from voiceplatform.messages.statuses import advance
from voiceplatform.models import Contact, DoNotCall, FlowSession, FlowVersion, WebhookDelivery, WebhookSubscription
from voiceplatform.models.base import utcnow
from voiceplatform.models.whatsapp import WhatsAppMessage, WhatsAppTemplate
from voiceplatform.webhooks import deliver_due

RATES = {"whatsapp_per_category": {"marketing": "0.25", "utility": "0.02", "authentication": "0.03"}}


@pytest.fixture(autouse=True)
def rates(app: Flask) -> Iterator[None]:
    kept = app.extensions["vp_rates"]
    app.extensions["vp_rates"] = Rates.from_mapping(RATES)
    yield
    app.extensions["vp_rates"] = kept


@pytest.fixture
def endpoint(app: Flask, allow_local_outbound: None) -> Iterator[Receiver]:
    with app.extensions["vp_sessions"].begin() as db:
        db.execute(delete(WebhookDelivery))
        db.execute(delete(WebhookSubscription))
    receiver = Receiver()
    receiver.server.start()
    yield receiver
    receiver.server.stop()


def wa(client: FlaskClient, who: Shop, **body: Any) -> Any:
    return client.post("/messages", json={"channel": "whatsapp", **body}, headers=who.auth())


def registry(app: Flask, who: Shop) -> None:
    """The account's synced templates: a utility one with two parameters (en, en_US), a marketing
    one with none, and a paused one."""
    with app.extensions["vp_sessions"].begin() as db:
        db.add_all([
            WhatsAppTemplate(account_id=who.id, name="appointment_reminder", language="en", category="UTILITY",
                             status="APPROVED", body_params=2, quick_replies=[], synced_at=utcnow()),
            WhatsAppTemplate(account_id=who.id, name="appointment_reminder", language="en_US", category="UTILITY",
                             status="APPROVED", body_params=2, quick_replies=[], synced_at=utcnow()),
            WhatsAppTemplate(account_id=who.id, name="spring_sale", language="en", category="MARKETING",
                             status="APPROVED", body_params=0, quick_replies=[], synced_at=utcnow()),
            WhatsAppTemplate(account_id=who.id, name="old_offer", language="en", category="MARKETING",
                             status="PAUSED", body_params=0, quick_replies=[], synced_at=utcnow()),
        ])


def receipt(client: FlaskClient, who: Shop, message: dict[str, Any], status: str) -> Any:
    [outbox_id] = [m.id for m in who.outbox() if m.session_id == message["session_id"]]
    response = client.post("/dev/receipts", json={"message_id": outbox_id, "status": status}, headers=who.auth())
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def detail(client: FlaskClient, who: Shop, message: dict[str, Any]) -> Any:
    return client.get(f"/messages/{message['id']}", headers=who.auth()).get_json()


def test_a_text_is_free_form_and_holds_nothing(app: Flask, client: FlaskClient, shop: Callable[..., Shop]) -> None:
    acme = shop(balance="1")
    to = us_number()
    response = wa(client, acme, to=to, text="  Your table is ready  ")
    assert response.status_code == 202, response.get_json()
    sent = response.get_json()
    assert (sent["channel"], sent["status"], sent["to"], sent["from"], sent["transport"]) == (
        "whatsapp", "accepted", to, acme.number, "dev")
    assert (sent["text"], sent["template"], sent["encoding"], sent["parts"], sent["cost"], sent["cost_final"]) == (
        "Your table is ready", None, None, 1, "0.0000", True)
    assert sent["warnings"] == []
    [queued] = acme.outbox()
    assert (queued.rendered_as, queued.text, queued.to_address, queued.from_address) == (
        "whatsapp", "Your table is ready", to, acme.number)
    assert queued.payload["channel"] == "whatsapp" and queued.payload.get("template") is None
    assert acme.balance() == Decimal("1")
    with app.extensions["vp_sessions"]() as db:
        session = db.get(FlowSession, sent["session_id"])
        assert session is not None and session.status == "completed"
        flow = db.get(FlowVersion, session.flow_version_id)
        assert flow is not None and flow.name == "_api_whatsapp_message"


def test_a_template_is_held_at_its_categorys_rate(client: FlaskClient, shop: Callable[..., Shop]) -> None:
    acme = shop(balance="1")
    sent = wa(client, acme, to=us_number(), template={"name": "order_update", "language": "en_US",
                                                       "params": ["Ann", 120]}).get_json()
    assert sent["template"] == {"name": "order_update", "language": "en_US", "params": ["Ann", "120"],
                                "category": None}
    assert (sent["text"], sent["cost"], sent["cost_final"]) == (None, "0.2500", False)  # unknown: marketing
    [queued] = acme.outbox()
    assert queued.payload["template"] == {"name": "order_update", "language": "en_US", "params": ["Ann", "120"]}
    assert queued.payload["text"] == ""  # a template alone: always the template
    assert acme.balance() == Decimal("0.75")


def test_text_and_template_together(app: Flask, client: FlaskClient, shop: Callable[..., Shop]) -> None:
    acme = shop(balance="1")
    registry(app, acme)
    body = {"text": "Your appointment is tomorrow at 10:00.",
            "template": {"name": "appointment_reminder", "params": ["tomorrow", "10:00 {{ 7 * 7 }}"]}}
    sent = wa(client, acme, to=us_number(), **body).get_json()
    assert (sent["text"], sent["template"]["category"], sent["cost"]) == (body["text"], "utility", "0.0200")
    [queued] = acme.outbox()
    assert queued.payload["text"] == body["text"]  # inside the window
    assert queued.payload["template"] == {"name": "appointment_reminder", "language": "en",  # outside it
                                          "params": ["tomorrow", "10:00 {{ 7 * 7 }}"]}  # values, never rendered
    assert acme.balance() == Decimal("0.98")
    again = wa(client, acme, to=us_number(), **body).get_json()  # the same template: the same flow version
    other = wa(client, acme, to=us_number(), template={"name": "spring_sale"}).get_json()
    with app.extensions["vp_sessions"]() as db:
        flows = {db.get(FlowSession, m["session_id"]).flow_version_id for m in (sent, again)}  # type: ignore[union-attr]
        assert len(flows) == 1
        assert db.get(FlowSession, other["session_id"]).flow_version_id not in flows  # type: ignore[union-attr]
    assert other["cost"] == "0.2500" and other["template"]["category"] == "marketing"


@pytest.mark.parametrize("template, code, field", [
    ({"name": "appointment_remindr", "params": ["a", "b"]}, "unknown_template", "template.name"),
    ({"name": "appointment_reminder", "language": "fr", "params": ["a", "b"]}, "unknown_template",
     "template.language"),
    ({"name": "old_offer"}, "template_not_approved", "template.name"),
    ({"name": "appointment_reminder", "params": ["a"]}, "template_params", "template.params"),
    ({"name": "spring_sale", "params": ["extra"]}, "template_params", "template.params"),
], ids=["unknown", "language", "paused", "too-few-params", "too-many-params"])
def test_the_registry_refuses_templates_at_submission(app: Flask, client: FlaskClient, shop: Callable[..., Shop],
                                                      template: dict[str, Any], code: str, field: str) -> None:
    acme = shop()
    registry(app, acme)
    response = wa(client, acme, to=us_number(), text="hi", template=template)
    assert response.status_code == 400, response.get_json()
    assert error_code(response) == code and response.get_json()["error"]["details"]["field"] == field
    assert (acme.outbox(), acme.stored(), acme.balance()) == ([], 0, Decimal("10"))
    # another account's registry says nothing about this one's: no registry, no check
    assert wa(client, shop(), to=us_number(), template=template).status_code == 202


def test_the_hold_needs_credit(client: FlaskClient, shop: Callable[..., Shop]) -> None:
    acme = shop(balance="0.2499")
    response = wa(client, acme, to=us_number(), template={"name": "promo"})
    assert response.status_code == 402 and error_code(response) == "insufficient_credit"
    assert (acme.outbox(), acme.stored(), acme.balance()) == ([], 0, Decimal("0.2499"))
    assert wa(client, acme, to=us_number(), text="a text holds nothing").status_code == 202


def test_opt_outs_and_do_not_call_per_channel(app: Flask, client: FlaskClient, shop: Callable[..., Shop]) -> None:
    acme = shop()
    sms_only, whatsapp_only, everything_off, blocked = us_number(), us_number(), us_number(), us_number()
    with app.extensions["vp_sessions"].begin() as db:
        db.add(Contact(account_id=acme.id, phone=sms_only, channels=["voice", "sms"], attributes={}))
        db.add(Contact(account_id=acme.id, phone=whatsapp_only, channels=["whatsapp"], attributes={}))
        db.add(Contact(account_id=acme.id, phone=everything_off, channels=["whatsapp"], attributes={},
                       opted_out_at=utcnow()))
        db.add(DoNotCall(account_id=acme.id, phone=blocked))
    for to, code in ((sms_only, "opted_out"), (everything_off, "opted_out"), (blocked, "do_not_call")):
        response = wa(client, acme, to=to, text="hi")
        assert response.status_code == 409 and error_code(response) == code, to
    assert "WhatsApp" in wa(client, acme, to=sms_only, text="hi").get_json()["error"]["message"]
    assert wa(client, acme, to=whatsapp_only, text="hi").status_code == 202
    refused_sms = client.post("/messages", json={"to": whatsapp_only, "text": "hi"}, headers=acme.auth())
    assert refused_sms.status_code == 409 and "SMS" in refused_sms.get_json()["error"]["message"]
    assert client.post("/messages", json={"to": sms_only, "text": "hi"}, headers=acme.auth()).status_code == 202
    assert [m.to_address for m in acme.outbox()] == [whatsapp_only, sms_only]


def test_the_sender_is_a_number_of_the_account_on_the_channel(client: FlaskClient, shop: Callable[..., Shop]) -> None:
    acme, globex = shop(), shop()
    eu = shop(parent=acme)
    voice_only = us_number()
    assert client.post("/numbers", json={"number": voice_only, "channels": ["voice"]},
                       headers=acme.auth("admin")).status_code == 201
    assert client.post("/senders", json={"sender": "ACME"}, headers=acme.auth()).status_code == 201
    for who, sender in ((acme, "ACME"), (acme, globex.number), (eu, acme.number), (acme, voice_only),
                        (acme, "+12025550000")):
        response = wa(client, who, to=us_number(), text="hi", **{"from": sender})
        assert response.status_code == 400 and error_code(response) == "sender_refused", (who.name, sender)
        assert response.get_json()["error"]["details"]["field"] == "from"
    assert "sender ID" in wa(client, acme, to=us_number(), text="hi", **{"from": "ACME"}).get_json()["error"]["message"]
    spelled = wa(client, acme, to=us_number(), text="hi", **{"from": acme.number[:2] + " " + acme.number[2:]})
    assert spelled.status_code == 202 and spelled.get_json()["from"] == acme.number
    bare = shop(number=False)
    assert error_code(wa(client, bare, to=us_number(), text="hi")) == "no_sender"
    assert acme.stored() == 1


@pytest.mark.parametrize("body, status, code, field", [
    ({"text": "hi"}, 400, "bad_request", "to"),
    ({"to": "US_NUMBER"}, 422, "empty_text", "text"),
    ({"to": "US_NUMBER", "text": "   "}, 422, "empty_text", "text"),
    ({"to": "US_NUMBER", "text": None, "template": None}, 422, "empty_text", "text"),
    ({"to": "US_NUMBER", "text": "x" * 4097}, 422, "too_long", "text"),
    ({"to": "US_NUMBER", "text": "a\x00b"}, 422, "invalid_text", "text"),
    ({"to": "US_NUMBER", "text": {"body": "hi"}}, 400, "bad_request", "text"),
    ({"to": "US.13491208655302741918", "text": "hi"}, 422, "invalid_number", "to"),
    ({"to": "not a number", "text": "hi"}, 422, "invalid_number", "to"),
    ({"to": "US_NUMBER", "template": "spring_sale"}, 400, "invalid_template", "template"),
    ({"to": "US_NUMBER", "template": []}, 400, "invalid_template", "template"),
    ({"to": "US_NUMBER", "template": {"name": "Spring Sale"}}, 400, "invalid_template", "template.name"),
    ({"to": "US_NUMBER", "template": {"name": "x" * 513}}, 400, "invalid_template", "template.name"),
    ({"to": "US_NUMBER", "template": {"name": "a\n- b"}}, 400, "invalid_template", "template.name"),
    ({"to": "US_NUMBER", "template": {"name": 7}}, 400, "invalid_template", "template.name"),
    ({"to": "US_NUMBER", "template": {}}, 400, "invalid_template", "template.name"),
    ({"to": "US_NUMBER", "template": {"name": "a", "language": "english please"}}, 400, "invalid_template",
     "template.language"),
    ({"to": "US_NUMBER", "template": {"name": "a", "language": ["en"]}}, 400, "invalid_template", "template.language"),
    ({"to": "US_NUMBER", "template": {"name": "a", "params": "x"}}, 400, "invalid_template", "template.params"),
    ({"to": "US_NUMBER", "template": {"name": "a", "params": ["x"] * 101}}, 400, "invalid_template", "template.params"),
    ({"to": "US_NUMBER", "template": {"name": "a", "params": [""]}}, 400, "invalid_template", "template.params[0]"),
    ({"to": "US_NUMBER", "template": {"name": "a", "params": ["ok", None]}}, 400, "invalid_template",
     "template.params[1]"),
    ({"to": "US_NUMBER", "template": {"name": "a", "params": [True]}}, 400, "invalid_template", "template.params[0]"),
    ({"to": "US_NUMBER", "template": {"name": "a", "params": ["two\nlines"]}}, 400, "invalid_template",
     "template.params[0]"),
    ({"to": "US_NUMBER", "template": {"name": "a", "params": ["x" * 1025]}}, 400, "invalid_template",
     "template.params[0]"),
    ({"to": "US_NUMBER", "template": {"name": "a", "components": []}}, 400, "invalid_template", "template"),
    ({"to": "US_NUMBER", "text": "hi", "buttons": [{"id": "1", "title": "Yes"}]}, 400, "buttons_unsupported",
     "buttons"),
    ({"to": "US_NUMBER", "text": "hi", "from": 7}, 400, "bad_request", "from"),
    ({"to": "US_NUMBER", "text": "hi", "callback_url": "https://example.com"}, 400, "bad_request", None),
    ({"to": "US_NUMBER", "text": "hi", "channel": "telegram"}, 400, "bad_request", "channel"),
    ({"to": "US_NUMBER", "text": "hi", "channel": ["whatsapp"]}, 400, "bad_request", "channel"),
    ({"to": "US_NUMBER", "text": "hi", "channel": "sms", "template": {"name": "a"}}, 400, "bad_request", "template"),
])
def test_hostile_bodies_are_clear_4xx(client: FlaskClient, shop: Callable[..., Shop], body: dict[str, Any],
                                      status: int, code: str, field: str | None) -> None:
    acme = shop()
    if body.get("to") == "US_NUMBER":
        body = {**body, "to": us_number()}
    response = client.post("/messages", json={"channel": "whatsapp", **body}, headers=acme.auth())
    assert response.status_code == status, response.get_json()
    assert error_code(response) == code
    if field is not None:
        assert response.get_json()["error"]["details"]["field"] == field
    assert (acme.outbox(), acme.stored(), acme.balance()) == ([], 0, Decimal("10"))


def test_statuses_through_read_as_signed_webhooks(client: FlaskClient, app: Flask, shop: Callable[..., Shop],
                                                   endpoint: Receiver) -> None:
    acme = shop()
    hook = client.post("/webhooks", json={"url": endpoint.url, "events": ["message.status"], "secret": SECRET},
                       headers=acme.auth())
    assert hook.status_code == 201, hook.get_json()
    message = wa(client, acme, to=us_number(), text="hi", template={"name": "promo"}).get_json()
    for status, applied in (("sent", True), ("delivered", True), ("sent", False), ("read", True),
                            ("delivered", False), ("undelivered", False), ("read", False)):
        assert receipt(client, acme, message, status)["applied"] is applied, status
    assert detail(client, acme, message)["status"] == "read"
    assert client.get("/messages?status=read", headers=acme.auth()).get_json()["counts"]["by_status"] == {"read": 1}
    assert deliver_due(app.extensions["vp_sessions"]).delivered == 3
    assert all(request["signed"] for request in endpoint.requests)
    payloads = sorted((r["json"]["data"] for r in endpoint.requests), key=lambda data: data["status_at"])
    assert [(p["previous_status"], p["status"]) for p in payloads] == [
        ("accepted", "sent"), ("sent", "delivered"), ("delivered", "read")]
    assert {(p["channel"], p["template"], p["encoding"], p["parts"]) for p in payloads} == {
        ("whatsapp", "promo", None, 1)}


def test_unknown_then_a_definite_status_and_failures(client: FlaskClient, shop: Callable[..., Shop]) -> None:
    acme = shop()
    unanswered = wa(client, acme, to=us_number(), template={"name": "promo"}).get_json()
    assert receipt(client, acme, unanswered, "unknown")["outcome"] == "unknown"  # the Graph API never answered
    assert detail(client, acme, unanswered)["cost_final"] is False  # held: it may have arrived
    assert receipt(client, acme, unanswered, "read")["outcome"] == "read"  # a status told after all
    assert detail(client, acme, unanswered)["status"] == "read"
    refused = wa(client, acme, to=us_number(), text="outside the window").get_json()
    assert receipt(client, acme, refused, "failed")["outcome"] == "failed"  # e.g. outside_window, no template
    assert receipt(client, acme, refused, "delivered")["applied"] is False


def test_the_hold_is_settled_by_the_final_status(app: Flask, client: FlaskClient, shop: Callable[..., Shop]) -> None:
    acme = shop(balance="1")
    undelivered = wa(client, acme, to=us_number(), template={"name": "promo"}).get_json()
    delivered = wa(client, acme, to=us_number(), template={"name": "promo"}).get_json()
    priced = wa(client, acme, to=us_number(), text="hi", template={"name": "promo"}).get_json()
    assert acme.balance() == Decimal("0.25")
    receipt(client, acme, undelivered, "undelivered")  # Meta charges delivered messages only
    assert (detail(client, acme, undelivered)["cost"], acme.balance()) == ("0.0000", Decimal("0.50"))
    receipt(client, acme, delivered, "delivered")  # the dev channel prices nothing: the hold is the charge
    shown = detail(client, acme, delivered)
    assert (shown["cost"], shown["cost_final"], acme.balance()) == ("0.2500", True, Decimal("0.50"))
    with app.extensions["vp_sessions"].begin() as db:  # what the bridge records from Meta's pricing
        db.add(WhatsAppMessage(account_id=acme.id, session_id=priced["session_id"], phone_number_id="1",
                               our_number=acme.number, recipient=priced["to"], send={}, pricing_category="service",
                               pricing_type="free_customer_service", billable=False, cost=Decimal("0")))
    receipt(client, acme, priced, "read")  # sent free-form inside the window: free
    assert (detail(client, acme, priced)["cost"], acme.balance()) == ("0.0000", Decimal("0.75"))
    receipt(client, acme, priced, "undelivered")  # settled once
    assert acme.balance() == Decimal("0.75")
    counts = client.get("/messages?channel=whatsapp", headers=acme.auth()).get_json()["counts"]
    assert (counts["messages"], counts["cost"]) == (3, "0.2500")


def test_reports_by_channel(client: FlaskClient, shop: Callable[..., Shop]) -> None:
    acme = shop()
    wa(client, acme, to=us_number(), text="hi")
    client.post("/messages", json={"to": us_number(), "text": "hi"}, headers=acme.auth())
    listed = client.get("/messages", headers=acme.auth()).get_json()
    assert sorted(m["channel"] for m in listed["items"]) == ["sms", "whatsapp"]
    for channel in ("sms", "whatsapp"):
        only = client.get(f"/messages?channel={channel}", headers=acme.auth()).get_json()
        assert [m["channel"] for m in only["items"]] == [channel]
    bad = client.get("/messages?channel=fax", headers=acme.auth())
    assert bad.status_code == 400 and bad.get_json()["error"]["details"]["field"] == "channel"


def test_read_follows_delivered_only() -> None:
    assert advance("delivered", "read") == "read"
    assert advance("unknown", "read") == "read"
    assert advance("sent", "read") == "read"
    assert advance("read", "delivered") is None and advance("read", "read") is None
    assert advance("undelivered", "read") is None and advance("failed", "read") is None


def test_the_openapi_document_describes_whatsapp(client: FlaskClient) -> None:
    from openapi_spec_validator import validate

    document = client.get("/openapi.json").get_json()
    validate(document)
    body = document["paths"]["/messages"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body["properties"]["channel"]["enum"] == ["sms", "whatsapp"]
    assert set(body["properties"]["template"]["properties"]) == {"name", "language", "params"}
    assert "text" not in body.get("required", [])
    statuses = {p["name"]: p for p in document["paths"]["/messages"]["get"]["parameters"]}["status"]["schema"]["enum"]
    assert "read" in statuses
