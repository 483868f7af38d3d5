"""POST /messages, GET /messages/{id} and GET /messages on SQLite and PostgreSQL: one SMS on the dev
channel (the registry's stand-in for the SMS bridge) from the account's number or a registered
sender ID; parts and encodings; charging per part at the destination country's rate and the 402
for lack of credit; hostile input as 4xx JSON; another account's sender refused; the country
warning; delivery reports through POST /dev/receipts moving the status forward only, as a signed
``message.status`` webhook at a real endpoint; a reply as ``message.received``; the reports'
counts of messages and parts, filters and tenants; Idempotency-Key."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import delete, select

from tests.api.conftest import error_code
from tests.messages.conftest import Shop, saudi_number, send, us_number
from tests.webhooks.conftest import SECRET, Receiver
from voiceplatform.campaigns.pricing import Rates
from voiceplatform.models import Contact, DoNotCall, FlowSession, WebhookDelivery, WebhookSubscription
from voiceplatform.models.messages import ApiMessage
from voiceplatform.webhooks import deliver_due

GSM_200 = ("Your statement for November is ready. Log in to see it, or reply HELP for help. " * 3)[:200]
ARABIC_80 = ("عميلنا العزيز، كشف حسابك لشهر نوفمبر جاهز الآن. " * 2)[:80]


@pytest.fixture
def rates(app: Flask) -> Iterator[Callable[[dict[str, Any]], None]]:
    """Set the app's rates for one test (as VOICEPLATFORM_RATES would), restored after."""
    kept = app.extensions["vp_rates"]

    def use(raw: dict[str, Any]) -> None:
        app.extensions["vp_rates"] = Rates.from_mapping(raw)

    yield use
    app.extensions["vp_rates"] = kept


@pytest.fixture
def endpoint(app: Flask, allow_local_outbound: None) -> Iterator[Receiver]:
    """A customer's endpoint on a local port, and no other subscription in the database (so
    deliver_due sends only to it)."""
    with app.extensions["vp_sessions"].begin() as db:
        db.execute(delete(WebhookDelivery))
        db.execute(delete(WebhookSubscription))
    receiver = Receiver()
    receiver.server.start()
    yield receiver
    receiver.server.stop()


def test_one_sms_from_the_accounts_number(client: FlaskClient, shop: Callable[..., Shop]) -> None:
    acme = shop(balance="1")
    to = us_number()
    response = send(client, acme, to=to, text="  Your code is 1234  ")
    assert response.status_code == 202, response.get_json()
    sent = response.get_json()
    assert (sent["status"], sent["to"], sent["from"], sent["country"]) == ("accepted", to, acme.number, "US")
    assert (sent["text"], sent["encoding"], sent["parts"], sent["cost"]) == ("Your code is 1234", "gsm7", 1, "0.0075")
    assert (sent["interface"], sent["transport"], sent["warnings"], sent["currency"]) == ("api", "dev", [], "USD")
    [queued] = acme.outbox()
    assert (queued.to_address, queued.from_address, queued.text, queued.session_id) == (
        to, acme.number, "Your code is 1234", sent["session_id"])
    assert acme.balance() == Decimal("0.9925")
    assert client.get(f"/messages/{sent['id']}", headers=acme.auth("supervisor")).get_json()["status"] == "accepted"
    with client.application.extensions["vp_sessions"]() as db:  # a session of the one-message flow, ended
        session = db.get(FlowSession, sent["session_id"])
        assert session is not None and session.status == "completed" and session.our_address == acme.number


@pytest.mark.parametrize("text, encoding, parts", [
    (GSM_200, "gsm7", 2), (ARABIC_80, "ucs2", 2), ("مرحبا", "ucs2", 1), ("€" * 80, "gsm7", 1), ("€" * 81, "gsm7", 2),
    ("x" * 1530, "gsm7", 10),
], ids=["gsm-200", "arabic-80", "arabic-5", "euro-80", "euro-81", "gsm-1530"])
def test_parts_and_encoding_are_charged_per_part(client: FlaskClient, shop: Callable[..., Shop], text: str,
                                                 encoding: str, parts: int) -> None:
    acme = shop(balance="1")
    sent = send(client, acme, to=us_number(), text=text).get_json()
    assert (sent["encoding"], sent["parts"], sent["cost"]) == (encoding, parts, str(Decimal("0.0075") * parts))
    assert acme.outbox()[0].text == text
    assert acme.balance() == Decimal("1") - Decimal("0.0075") * parts


def test_rates_per_destination_country(client: FlaskClient, shop: Callable[..., Shop],
                                       rates: Callable[[dict[str, Any]], None]) -> None:
    rates({"sms_per_part": "0.01", "sms_per_part_by_country": {"SA": "0.034", "eg": "0.021"}})
    acme = shop(balance="1")
    saudi = send(client, acme, to=saudi_number(), text=ARABIC_80).get_json()
    egypt = send(client, acme, to="+201001234567", text="hello").get_json()
    usa = send(client, acme, to=us_number(), text="hello").get_json()
    assert [(m["country"], m["parts"], m["cost"]) for m in (saudi, egypt, usa)] == [
        ("SA", 2, "0.0680"), ("EG", 1, "0.0210"), ("US", 1, "0.0100")]
    assert acme.balance() == Decimal("1") - Decimal("0.068") - Decimal("0.021") - Decimal("0.01")


def test_insufficient_credit_sends_nothing(client: FlaskClient, shop: Callable[..., Shop]) -> None:
    acme = shop(balance="0.0149")
    response = send(client, acme, to=us_number(), text=GSM_200)  # 2 parts: 0.015
    assert response.status_code == 402 and error_code(response) == "insufficient_credit"
    assert "0.0149" in response.get_json()["error"]["message"]
    assert (acme.outbox(), acme.stored(), acme.balance()) == ([], 0, Decimal("0.0149"))
    assert send(client, acme, to=us_number(), text="short").status_code == 202  # one part is covered
    assert acme.balance() == Decimal("0.0074")


@pytest.mark.parametrize("body, status, code, field", [
    ({"text": "hi"}, 400, "bad_request", "to"),
    ({"to": 12025550100, "text": "hi"}, 400, "bad_request", "to"),
    ({"to": "not a number", "text": "hi"}, 422, "invalid_number", "to"),
    ({"to": "+1202", "text": "hi"}, 422, "invalid_number", "to"),
    ({"to": "US_NUMBER"}, 400, "bad_request", "text"),
    ({"to": "US_NUMBER", "text": "   "}, 422, "empty_text", "text"),
    ({"to": "US_NUMBER", "text": "x" * 1531}, 422, "too_long", "text"),
    ({"to": "US_NUMBER", "text": "x" * 50_000}, 422, "too_long", "text"),
    ({"to": "US_NUMBER", "text": "a\x00b"}, 422, "invalid_text", "text"),
    ({"to": "US_NUMBER", "text": ["hi"]}, 400, "bad_request", "text"),
    ({"to": "US_NUMBER", "text": "hi", "from": "NOBODY"}, 400, "sender_refused", "from"),
    ({"to": "US_NUMBER", "text": "hi", "from": 7}, 400, "bad_request", "from"),
    ({"to": "US_NUMBER", "text": "hi", "region": "a-very-long-region"}, 400, "bad_request", "region"),
    ({"to": "US_NUMBER", "text": "hi", "callback_url": "https://example.com/cb"}, 400, "bad_request", None),
])
def test_hostile_input_is_a_clear_4xx(client: FlaskClient, shop: Callable[..., Shop], body: dict[str, Any],
                                      status: int, code: str, field: str | None) -> None:
    acme = shop()
    if body.get("to") == "US_NUMBER":
        body = {**body, "to": us_number()}
    response = client.post("/messages", json=body, headers=acme.auth())
    assert response.status_code == status, response.get_json()
    assert error_code(response) == code
    if field is not None:
        assert response.get_json()["error"]["details"]["field"] == field
    if "callback_url" in body:
        assert "webhooks" in response.get_json()["error"]["message"]
    assert (acme.outbox(), acme.stored()) == ([], 0)


def test_bodies_that_are_not_json_objects(client: FlaskClient, shop: Callable[..., Shop]) -> None:
    acme = shop()
    for data, kind in ((b"[1, 2]", "application/json"), (b"{", "application/json"), (b"to=1", "text/plain"),
                       (b'{"to": "\\ud800", "text": "x"}', "application/json")):
        response = client.post("/messages", data=data, content_type=kind, headers=acme.auth())
        assert response.status_code == 400 and response.is_json, (data, response.data)
    assert client.post("/messages", json={"to": us_number(), "text": "x"}).status_code == 401
    assert client.post("/messages", json={"to": us_number(), "text": "x"}, headers=acme.auth("supervisor")).status_code == 403
    assert client.get("/messages/99999999999", headers=acme.auth()).status_code == 404


def test_a_sender_id_of_another_account_is_refused(client: FlaskClient, shop: Callable[..., Shop]) -> None:
    acme, globex = shop(), shop()
    eu = shop(parent=acme)
    assert client.post("/senders", json={"sender": "GLOBEX"}, headers=globex.auth()).status_code == 201
    assert client.post("/senders", json={"sender": "ACME"}, headers=acme.auth()).status_code == 201
    for who, sender in ((acme, "GLOBEX"), (acme, globex.number), (eu, "ACME"), (eu, acme.number), (acme, eu.number)):
        response = send(client, who, to=us_number(), text="hi", **{"from": sender})
        assert response.status_code == 400 and error_code(response) == "sender_refused", (who.name, sender)
    own = send(client, acme, to=us_number(), text="hi", **{"from": "ACME"})
    assert own.status_code == 202 and own.get_json()["from"] == "ACME"
    assert acme.outbox()[-1].from_address == "ACME"
    spelled = send(client, acme, to=us_number(), text="hi", **{"from": acme.number[:2] + " " + acme.number[2:]})
    assert spelled.status_code == 202 and spelled.get_json()["from"] == acme.number


def test_an_account_with_no_number_must_name_a_sender(client: FlaskClient, shop: Callable[..., Shop]) -> None:
    bare = shop(number=False)
    response = send(client, bare, to=us_number(), text="hi")
    assert response.status_code == 400 and error_code(response) == "no_sender"
    assert client.post("/senders", json={"sender": "BARE"}, headers=bare.auth()).status_code == 201
    assert send(client, bare, to=us_number(), text="hi", **{"from": "BARE"}).status_code == 202


def test_do_not_call_and_sms_opt_outs_are_refused_uncharged(app: Flask, client: FlaskClient,
                                                            shop: Callable[..., Shop]) -> None:
    acme = shop()
    blocked, opted_out, voice_only_out, fine = us_number(), us_number(), us_number(), us_number()
    with app.extensions["vp_sessions"].begin() as db:
        db.add(DoNotCall(account_id=acme.id, phone=blocked))
        db.add(Contact(account_id=acme.id, phone=opted_out, channels=["voice", "whatsapp"], attributes={}))
        db.add(Contact(account_id=acme.id, phone=voice_only_out, channels=["sms"], attributes={}))
        db.add(Contact(account_id=acme.id, phone=fine, channels=["voice", "sms"], attributes={}))
    for to, code in ((blocked, "do_not_call"), (opted_out, "opted_out")):
        response = send(client, acme, to=to, text="hi")
        assert response.status_code == 409 and error_code(response) == code
    assert send(client, acme, to=voice_only_out, text="hi").status_code == 202  # opted out of calls, not SMS
    sent = send(client, acme, to=fine, text="hi").get_json()
    with app.extensions["vp_sessions"]() as db:
        session = db.get(FlowSession, sent["session_id"])
        contact = db.scalars(select(Contact).where(Contact.account_id == acme.id, Contact.phone == fine)).one()
        assert session is not None and session.contact_id == contact.id
    assert [m.to_address for m in acme.outbox()] == [voice_only_out, fine]
    assert acme.balance() == Decimal("10") - Decimal("0.015")


def test_the_country_check_warns_for_an_unregistered_sender(client: FlaskClient, shop: Callable[..., Shop]) -> None:
    acme = shop()
    warned = send(client, acme, to=saudi_number(), text="hi").get_json()
    [warning] = warned["warnings"]
    assert (warning["code"], warning["country"], warning["sender"]) == ("sender_not_registered", "SA", acme.number)
    assert "requires sender ID registration" in warning["message"]
    assert send(client, acme, to=us_number(), text="hi").get_json()["warnings"] == []  # the US requires none
    registered = client.post("/senders", json={"sender": "ACME", "countries": ["AE"]}, headers=acme.auth()).get_json()
    assert [w["country"] for w in send(client, acme, to=saudi_number(), text="hi", **{"from": "ACME"}).get_json()["warnings"]] == ["SA"]
    assert send(client, acme, to="+971501234567", text="hi", **{"from": "ACME"}).get_json()["warnings"] == []
    client.patch(f"/senders/{registered['id']}", json={"countries": ["AE", "SA"]}, headers=acme.auth())
    assert send(client, acme, to=saudi_number(), text="hi", **{"from": "ACME"}).get_json()["warnings"] == []
    # the account's own number, registered for SA as a numeric sender ID
    assert client.post("/senders", json={"sender": acme.number, "countries": ["SA"]}, headers=acme.auth()).status_code == 201
    assert send(client, acme, to=saudi_number(), text="hi").get_json()["warnings"] == []


def test_configured_registration_countries(client: FlaskClient, shop: Callable[..., Shop],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    acme = shop()
    monkeypatch.setenv("VOICEPLATFORM_SENDER_REGISTRATION_COUNTRIES", "US, gb")
    assert [w["country"] for w in send(client, acme, to=us_number(), text="hi").get_json()["warnings"]] == ["US"]
    assert send(client, acme, to=saudi_number(), text="hi").get_json()["warnings"] == []


def _receipt(client: FlaskClient, who: Shop, message: dict[str, Any], status: str) -> Any:
    [outbox_id] = [m.id for m in who.outbox() if m.session_id == message["session_id"]]
    response = client.post("/dev/receipts", json={"message_id": outbox_id, "status": status}, headers=who.auth())
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_delivery_reports_move_the_status_forward_with_signed_webhooks(app: Flask, client: FlaskClient,
                                                                      shop: Callable[..., Shop],
                                                                      endpoint: Receiver) -> None:
    acme, globex = shop(), shop()
    hook = client.post("/webhooks", json={"url": endpoint.url, "events": ["message.status"], "secret": SECRET},
                       headers=acme.auth())
    assert hook.status_code == 201, hook.get_json()
    message = send(client, acme, to=saudi_number(), text=ARABIC_80).get_json()
    assert _receipt(client, acme, message, "accepted")["applied"] is False  # it is accepted already
    sent = _receipt(client, acme, message, "sent")
    assert (sent["applied"], sent["outcome"], sent["final"]) == (True, "sent", False)
    delivered = _receipt(client, acme, message, "delivered")
    assert (delivered["applied"], delivered["outcome"], delivered["final"]) == (True, "delivered", True)
    for late in ("sent", "undelivered", "delivered"):  # nothing moves a delivered message
        assert _receipt(client, acme, message, late)["applied"] is False
    assert client.get(f"/messages/{message['id']}", headers=acme.auth()).get_json()["status"] == "delivered"
    other = send(client, globex, to=us_number(), text="x").get_json()
    [other_outbox] = [m.id for m in globex.outbox() if m.session_id == other["session_id"]]
    refused = client.post("/dev/receipts", json={"message_id": other_outbox, "status": "delivered"}, headers=acme.auth())
    assert refused.status_code == 404  # another tenant's message
    report = deliver_due(app.extensions["vp_sessions"])
    assert report.delivered == 2
    assert all(request["signed"] for request in endpoint.requests)
    assert [r["headers"]["X-Voiceplatform-Event"] for r in endpoint.requests] == ["message.status"] * 2
    payloads = sorted((r["json"]["data"] for r in endpoint.requests), key=lambda data: data["status_at"])
    assert [(p["previous_status"], p["status"]) for p in payloads] == [("accepted", "sent"), ("sent", "delivered")]
    assert {(p["message_id"], p["to"], p["from"], p["parts"], p["encoding"], p["country"]) for p in payloads} == {
        (message["id"], message["to"], acme.number, 2, "ucs2", "SA")}


def test_a_final_report_decides_once(client: FlaskClient, shop: Callable[..., Shop]) -> None:
    acme = shop()
    message = send(client, acme, to=us_number(), text="x").get_json()
    assert _receipt(client, acme, message, "undelivered")["outcome"] == "undelivered"
    assert _receipt(client, acme, message, "delivered")["applied"] is False
    assert client.get(f"/messages/{message['id']}", headers=acme.auth()).get_json()["status"] == "undelivered"


def test_a_reply_reaches_the_customer_as_message_received(app: Flask, client: FlaskClient, shop: Callable[..., Shop],
                                                          endpoint: Receiver) -> None:
    acme = shop()
    client.post("/webhooks", json={"url": endpoint.url, "events": ["message.received"], "secret": SECRET},
                headers=acme.auth())
    to = us_number()
    assert send(client, acme, to=to, text="Reply YES to confirm").status_code == 202
    reply = client.post("/dev/inbound", json={"from": to, "to": acme.number, "text": "YES"}, headers=acme.auth())
    assert reply.get_json()["outcome"] == "unsolicited"  # the message's session has ended: kept, never dropped
    deliver_due(app.extensions["vp_sessions"])
    [received] = endpoint.requests
    assert received["signed"] and received["json"]["event"] == "message.received"
    assert (received["json"]["data"]["text"], received["json"]["data"]["from"]) == ("YES", to)


def test_idempotency_key_sends_once(client: FlaskClient, shop: Callable[..., Shop]) -> None:
    acme = shop()
    body = {"to": us_number(), "text": "once"}
    headers = {**acme.auth(), "Idempotency-Key": "order-17"}
    first = client.post("/messages", json=body, headers=headers)
    again = client.post("/messages", json=body, headers=headers)
    assert first.status_code == again.status_code == 202
    assert again.headers.get("Idempotent-Replayed") == "true" and again.get_json()["id"] == first.get_json()["id"]
    other = client.post("/messages", json={**body, "text": "twice"}, headers=headers)
    assert other.status_code == 422 and error_code(other) == "idempotency_key_reused"
    assert (len(acme.outbox()), acme.stored(), acme.balance()) == (1, 1, Decimal("9.9925"))


def test_reports_count_messages_not_parts(client: FlaskClient, shop: Callable[..., Shop]) -> None:
    acme = shop(balance="5")
    eu, globex = shop(parent=acme), shop()
    long_one = send(client, acme, to=us_number(), text=GSM_200).get_json()  # 2 parts
    send(client, acme, to=saudi_number(), text=ARABIC_80 * 2)  # 160 UCS-2 units: 3 parts
    send(client, acme, to=us_number(), text="short")
    send(client, eu, to=us_number(), text=GSM_200)
    send(client, globex, to=us_number(), text="other tenant")
    _receipt(client, acme, long_one, "delivered")
    listed = client.get("/messages", headers=acme.auth("supervisor")).get_json()
    assert listed["counts"] == {"messages": 4, "parts": 8, "cost": "0.0600",
                                "by_status": {"accepted": 3, "delivered": 1}}
    assert listed["total"] == 4 and len(listed["items"]) == 4
    assert listed["items"][-1]["id"] == long_one["id"]  # newest first
    delivered = client.get("/messages?status=delivered", headers=acme.auth()).get_json()
    assert [m["id"] for m in delivered["items"]] == [long_one["id"]] and delivered["counts"]["parts"] == 2
    own = client.get(f"/messages?account_id={acme.id}", headers=acme.auth()).get_json()["counts"]
    assert (own["messages"], own["parts"]) == (3, 6)
    assert client.get(f"/messages?account_id={globex.id}", headers=acme.auth()).status_code == 404
    sub = client.get("/messages", headers=eu.auth()).get_json()  # a sub-account sees its own only
    assert (sub["counts"]["messages"], sub["counts"]["parts"]) == (1, 2)
    assert client.get("/messages", headers=globex.auth()).get_json()["counts"]["messages"] == 1
    assert client.get(f"/messages/{long_one['id']}", headers=globex.auth()).status_code == 404
    assert client.get(f"/messages/{long_one['id']}", headers=eu.auth()).status_code == 404
    by_recipient = client.get("/messages", query_string={"recipient": long_one["to"]}, headers=acme.auth()).get_json()
    assert [m["id"] for m in by_recipient["items"]] == [long_one["id"]]
    assert client.get("/messages?interface=personalised", headers=acme.auth()).get_json()["counts"]["messages"] == 0
    assert client.get("/messages?from=2000-01-01T00:00:00Z&to=2000-01-02T00:00:00Z",
                      headers=acme.auth()).get_json()["counts"]["messages"] == 0


@pytest.mark.parametrize("query, code, field", [
    ("status=lost", "bad_request", "status"),
    ("interface=fax", "bad_request", "interface"),
    ("from=yesterday", "bad_request", "from"),
    ("to=%2B12025550100", "bad_request", "to"),
    ("from=2026-01-01T00:00:00", "bad_request", "from"),
    ("from=2026-01-01T00:00:00Z&to=2026-03-01T00:00:00Z", "period_too_long", "from"),
    ("from=2026-03-01T00:00:00Z&to=2026-01-01T00:00:00Z", "bad_request", "from"),
    ("to=0001-01-01T00:00:00%2B00:00", "bad_request", "to"),
    ("account_id=0", "bad_request", "account_id"),
    ("account_id=99999999999", "bad_request", "account_id"),
    ("page=0", "bad_request", None),
])
def test_report_filters_refuse_bad_values(client: FlaskClient, shop: Callable[..., Shop], query: str, code: str,
                                          field: str | None) -> None:
    response = client.get(f"/messages?{query}", headers=shop().auth())
    assert response.status_code == 400, response.get_json()
    assert error_code(response) == code
    if field:
        assert response.get_json()["error"]["details"]["field"] == field


def test_no_session_of_a_refused_message_is_kept(app: Flask, client: FlaskClient, shop: Callable[..., Shop]) -> None:
    acme = shop(balance="0")
    assert send(client, acme, to=us_number(), text="x").status_code == 402
    with app.extensions["vp_sessions"]() as db:
        assert db.scalars(select(FlowSession).where(FlowSession.account_id == acme.id)).all() == []
        assert db.scalars(select(ApiMessage).where(ApiMessage.account_id == acme.id)).all() == []
