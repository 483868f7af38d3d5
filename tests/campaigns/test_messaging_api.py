"""Messaging campaigns through the HTTP API, on SQLite and PostgreSQL: the channel and what it
refuses (an unknown channel, a flow that does not run there, another channel's retry rules, a
sender that is not the account's), an SMS campaign run on the dev channel from the account's
number, its delivery reports through ``POST /dev/receipts`` (tenant-isolated, statuses checked),
stats with messages and parts, and the estimate per channel."""

from __future__ import annotations

import io
import uuid
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.api.conftest import Tenants, app, client, error_code, tenants  # noqa: F401  (fixtures)
from tests.campaigns.messaging_world import NOTICE, MessagingWorld
from voiceplatform.models import Account

GSM_200 = ("Your statement for November is ready. Log in to see it, or reply HELP for help. " * 3)[:200]
ARABIC_80 = ("عميلنا العزيز، كشف حسابك لشهر نوفمبر جاهز الآن. " * 2)[:80]
VOICE_ONLY = NOTICE.replace("name: notice", "name: notice_by_phone").replace("channels: [sms, whatsapp]",
                                                                                "channels: [voice]")
SENDER = "+12025559911"


@pytest.fixture(scope="module")
def setup(app: Flask, tenants: Tenants) -> dict[str, Any]:  # noqa: F811
    """For acme: the notice flow and a voice-only variant, published; a list of three contacts
    whose texts are 200 GSM-7 characters, 80 Arabic ones and a short one; a dev number; credit."""
    client = app.test_client()
    admin = tenants.auth("acme")
    for definition in (NOTICE, VOICE_ONLY):
        flow = client.post("/flows", json={"yaml": definition}, headers=admin).get_json()
        published = client.post(f"/flows/{flow['name']}/versions/{flow['version']}/publish", headers=admin)
        assert published.status_code == 200, published.get_json()
    rows = [("+12025550801", GSM_200), ("+12025550802", ARABIC_80), ("+12025550803", "See you soon")]
    csv_text = "phone,text\n" + "".join(f'{phone},"{text}"\n' for phone, text in rows)
    report = client.post("/contacts/import", headers=admin, content_type="multipart/form-data",
                         data={"file": (io.BytesIO(csv_text.encode()), "c.csv"), "list": "sms-api"}).get_json()
    assert report["list_id"], report
    number = client.post("/numbers", json={"number": SENDER, "channels": ["dev"]}, headers=admin)
    assert number.status_code == 201, number.get_json()
    with app.extensions["vp_sessions"].begin() as db:
        account = db.get(Account, tenants.ids["acme"])
        assert account is not None
        account.balance = Decimal("20")
    return {"contact_list_id": report["list_id"], "phones": [phone for phone, _ in rows]}


def _create(client: FlaskClient, tenants: Tenants, setup: dict[str, Any], **extra: Any) -> Any:  # noqa: F811
    body = {"name": f"sms-{uuid.uuid4().hex[:6]}", "flow": {"name": "notice"}, "contact_list_id": setup["contact_list_id"],
            "channel": "sms", "settings": {"calls_per_second": 20, "window": {"start": "00:00", "end": "24:00"}}, **extra}
    return client.post("/campaigns", json=body, headers=tenants.auth("acme", "operator"))


@pytest.mark.parametrize("extra, status, code, field", [
    ({"channel": "fax"}, 400, "bad_request", "channel"),
    ({"channel": 7}, 400, "bad_request", "channel"),
    ({"flow": {"name": "notice_by_phone"}}, 422, "flow_channel", "channel"),
    ({"settings": {"retries": {"busy": {"retries": 1}}}}, 400, "invalid_settings", None),
    ({"settings": {"sender": "+12025550000"}}, 400, "bad_request", "settings.sender"),
])
def test_what_a_messaging_campaign_refuses(client: FlaskClient, tenants: Tenants, setup: dict[str, Any],  # noqa: F811
                                           extra: dict[str, Any], status: int, code: str, field: str | None) -> None:
    response = _create(client, tenants, setup, **extra)
    assert response.status_code == status, response.get_json()
    assert error_code(response) == code
    if field is not None:
        assert response.get_json()["error"]["details"]["field"] == field
    if code == "flow_channel":
        assert "runs on voice" in response.get_json()["error"]["message"]
    if code == "invalid_settings":
        assert "sms campaigns' retry rules" in str(response.get_json()["error"]["details"])


def test_a_voice_campaign_is_the_default(client: FlaskClient, tenants: Tenants, setup: dict[str, Any]) -> None:  # noqa: F811
    body = {"name": "voice-default", "flow": {"name": "notice_by_phone"}, "contact_list_id": setup["contact_list_id"]}
    created = client.post("/campaigns", json=body, headers=tenants.auth("acme", "operator"))
    assert created.status_code == 201 and created.get_json()["channel"] == "voice"
    estimate = client.get(f"/campaigns/{created.get_json()['id']}/estimate", headers=tenants.auth("acme", "operator"))
    assert estimate.get_json()["channel"] == "voice" and estimate.get_json()["unit"] == "minute"


def test_estimate_per_channel(app: Flask, client: FlaskClient, tenants: Tenants, setup: dict[str, Any]) -> None:  # noqa: F811
    operator = tenants.auth("acme", "operator")
    sms = _create(client, tenants, setup).get_json()
    whatsapp = _create(client, tenants, setup, channel="whatsapp").get_json()
    rates = app.extensions["vp_rates"]
    by_sms = client.get(f"/campaigns/{sms['id']}/estimate", headers=operator).get_json()
    assert (by_sms["channel"], by_sms["unit"], by_sms["contacts"], by_sms["sampled_contacts"]) == ("sms", "part", 3, 3)
    assert by_sms["messages_per_contact"] == 1.0 and by_sms["parts_per_contact"] == round(5 / 3, 3)
    assert Decimal(by_sms["estimated_cost"]) == (rates.sms_per_part * Decimal(str(round(5 / 3, 3))) * 3).quantize(Decimal("0.0001"))
    assert Decimal(by_sms["minimum_charge"]) == rates.sms_per_part and by_sms["sufficient"] is True
    by_whatsapp = client.get(f"/campaigns/{whatsapp['id']}/estimate", headers=operator).get_json()
    assert (by_whatsapp["channel"], by_whatsapp["unit"]) == ("whatsapp", "message")
    # The notice flow opens with free-form text and names no template: priced as one marketing
    # template a contact (outside the 24-hour window only templates are delivered), and said so.
    assert Decimal(by_whatsapp["estimated_cost"]) == rates.whatsapp_rate("marketing") * 3
    assert by_whatsapp["templates_per_contact"] == {"marketing": 1.0} and by_whatsapp["free_form_per_contact"] == 1.0
    assert "sends no template" in by_whatsapp["notes"][0]


@pytest.fixture(scope="module")
def ran(app: Flask, tenants: Tenants, setup: dict[str, Any]) -> dict[str, Any]:  # noqa: F811
    """An SMS campaign started through the API and run by a worker with no switch; what it sent."""
    client = app.test_client()
    operator = tenants.auth("acme", "operator")
    created = _create(client, tenants, setup, start=True,
                      settings={"calls_per_second": 20, "window": {"start": "00:00", "end": "24:00"},
                                "retries": {"undelivered": {"retries": 1, "minutes": 60}}, "sender": SENDER})
    assert created.status_code == 201, created.get_json()
    campaign = created.get_json()
    assert (campaign["channel"], campaign["status"], campaign["settings"]["sender"]) == ("sms", "running", SENDER)
    MessagingWorld(app.extensions["vp_sessions"]).completed(campaign["id"])
    started = client.get(f"/sessions?campaign_id={campaign['id']}", headers=operator).get_json()["items"]
    sent = [message for session in started for message in
            client.get(f"/dev/outbox?session_id={session['id']}", headers=operator).get_json()["items"]]
    return {"campaign": campaign, "sessions": started, "sent": {message["to"]: message for message in sent}}


def test_an_sms_campaign_end_to_end_with_delivery_reports(client: FlaskClient, tenants: Tenants,  # noqa: F811
                                                         setup: dict[str, Any], ran: dict[str, Any]) -> None:
    operator = tenants.auth("acme", "operator")
    campaign, sent = ran["campaign"], ran["sent"]
    assert len(ran["sessions"]) == 3 and sorted(sent) == sorted(setup["phones"])
    assert all(message["from"] == SENDER for message in sent.values())  # replies come back to the sender
    stats = client.get(f"/campaigns/{campaign['id']}/stats", headers=operator).get_json()
    assert (stats["channel"], stats["messages"], stats["parts"], stats["attempts_by_outcome"]) == ("sms", 3, 5, {"sent": 3})

    undelivered = client.post("/dev/receipts", json={"message_id": sent[setup["phones"][0]]["id"],
                                                     "status": "undelivered"}, headers=operator)
    assert undelivered.status_code == 200, undelivered.get_json()
    body = undelivered.get_json()
    assert body["applied"] is True and body["final"] is False and body["next_attempt_at"]
    delivered = client.post("/dev/receipts", json={"message_id": sent[setup["phones"][1]]["id"],
                                                   "status": "delivered"}, headers=operator).get_json()
    assert delivered["applied"] is True and delivered["final"] is True
    again = client.post("/dev/receipts", json={"message_id": sent[setup["phones"][1]]["id"],
                                               "status": "undelivered"}, headers=operator).get_json()
    assert again["applied"] is False  # the attempt was already delivered: forward only

    stats = client.get(f"/campaigns/{campaign['id']}/stats", headers=operator).get_json()
    assert stats["status"] == "running"  # reopened: a contact is due again in an hour
    assert stats["attempts_by_outcome"] == {"sent": 1, "undelivered": 1, "delivered": 1}
    assert stats["by_status"]["pending"] == 1 and stats["outcomes"] == {"sent": 1, "delivered": 1}
    contacts = client.get(f"/campaigns/{campaign['id']}/contacts?status=pending", headers=operator).get_json()["items"]
    assert [(c["phone"], c["attempts"], c["last_outcome"]) for c in contacts] == [(setup["phones"][0], 1, "undelivered")]


def test_delivery_reports_are_checked_and_tenant_isolated(client: FlaskClient, tenants: Tenants,  # noqa: F811
                                                          ran: dict[str, Any]) -> None:
    operator = tenants.auth("acme", "operator")
    message_id = next(iter(ran["sent"].values()))["id"]
    for body, field in (({"message_id": message_id, "status": "read-by-cat"}, "status"),
                        ({"message_id": "seven", "status": "delivered"}, "message_id"),
                        ({"status": "delivered"}, "message_id"),
                        ({"message_id": 2**40, "status": "delivered"}, "message_id")):
        refused = client.post("/dev/receipts", json=body, headers=operator)
        assert refused.status_code == 400 and refused.get_json()["error"]["details"]["field"] == field, body
    elsewhere = client.post("/dev/receipts", json={"message_id": message_id, "status": "delivered"},
                            headers=tenants.auth("globex", "operator"))
    assert elsewhere.status_code == 404
    assert client.post("/dev/receipts", json={"message_id": message_id, "status": "delivered"},
                       headers=tenants.auth("acme", "supervisor")).status_code == 403
