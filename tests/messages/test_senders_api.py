"""Sender IDs through the API, on SQLite and PostgreSQL: registering alphanumeric and numeric ones
(and refusing what a sender ID cannot be), their countries, listing, changing and removing them
within the account's tenancy and roles; an SMS campaign may name one of its account's own as
``settings.sender`` and no other account's; its estimate carries the country check (4.2.9)."""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.api.conftest import error_code
from tests.campaigns.messaging_world import NOTICE
from tests.messages.conftest import Shop, saudi_number, us_number


def test_register_list_change_remove(client: FlaskClient, shop: Callable[..., Shop]) -> None:
    acme = shop()
    eu, globex = shop(parent=acme), shop()
    made = client.post("/senders", json={"sender": " Acme Bank ", "countries": ["sa", "AE", "SA"]}, headers=acme.auth())
    assert made.status_code == 201, made.get_json()
    body = made.get_json()
    assert (body["sender"], body["kind"], body["countries"], body["account_id"]) == ("Acme Bank", "alphanumeric",
                                                                                     ["AE", "SA"], acme.id)
    assert "SA" not in body["unregistered_where_required"] and "EG" in body["unregistered_where_required"]
    numeric = client.post("/senders", json={"sender": "+966501234567"}, headers=acme.auth()).get_json()
    assert (numeric["kind"], numeric["countries"]) == ("numeric", [])
    short = client.post("/senders", json={"sender": "70707"}, headers=acme.auth()).get_json()
    assert short["kind"] == "numeric"
    again = client.post("/senders", json={"sender": "Acme Bank"}, headers=acme.auth())
    assert again.status_code == 409 and error_code(again) == "sender_exists"
    assert client.post("/senders", json={"sender": "Acme Bank"}, headers=globex.auth()).status_code == 201  # its own
    for_sub = client.post("/senders", json={"sender": "ACME EU", "account_id": eu.id}, headers=acme.auth())
    assert for_sub.status_code == 201 and for_sub.get_json()["account_id"] == eu.id
    assert client.post("/senders", json={"sender": "X", "account_id": acme.id}, headers=eu.auth()).status_code == 404
    assert client.post("/senders", json={"sender": "X", "account_id": globex.id}, headers=acme.auth()).status_code == 404
    listed = client.get("/senders", headers=acme.auth("supervisor")).get_json()
    assert sorted(item["sender"] for item in listed["items"]) == ["+966501234567", "70707", "ACME EU", "Acme Bank"]
    assert [item["sender"] for item in client.get("/senders", headers=eu.auth()).get_json()["items"]] == ["ACME EU"]
    changed = client.patch(f"/senders/{body['id']}", json={"countries": ["EG"]}, headers=acme.auth())
    assert changed.status_code == 200 and changed.get_json()["countries"] == ["EG"]
    assert client.patch(f"/senders/{body['id']}", json={"sender": "Other"}, headers=acme.auth()).status_code == 400
    for outsider in (globex, eu):
        assert client.get(f"/senders/{body['id']}", headers=outsider.auth()).status_code == 404
        assert client.patch(f"/senders/{body['id']}", json={"countries": []}, headers=outsider.auth()).status_code == 404
        assert client.delete(f"/senders/{body['id']}", headers=outsider.auth()).status_code == 404
    assert client.post("/senders", json={"sender": "NEW"}, headers=acme.auth("supervisor")).status_code == 403
    assert client.delete(f"/senders/{body['id']}", headers=acme.auth("supervisor")).status_code == 403
    assert client.delete(f"/senders/{body['id']}", headers=acme.auth()).status_code == 204
    assert client.get(f"/senders/{body['id']}", headers=acme.auth()).status_code == 404
    refused = client.post("/messages", json={"to": us_number(), "text": "hi", "from": "Acme Bank"}, headers=acme.auth())
    assert refused.status_code == 400 and error_code(refused) == "sender_refused"  # removed: no longer a sender


@pytest.mark.parametrize("body, code", [
    ({"sender": "TWELVECHARSX"}, "invalid_sender_id"),
    ({"sender": ""}, "invalid_sender_id"),
    ({"sender": "   "}, "invalid_sender_id"),
    ({"sender": "A€"}, "invalid_sender_id"),
    ({"sender": "شركة"}, "invalid_sender_id"),
    ({"sender": "AB\nC"}, "invalid_sender_id"),
    ({"sender": "[ACME]"}, "invalid_sender_id"),
    ({"sender": "---"}, "invalid_sender_id"),
    ({"sender": "1234567890123456"}, "invalid_sender_id"),
    ({"sender": "+12-34"}, "invalid_sender_id"),
    ({"sender": 12345}, "invalid_sender_id"),
    ({}, "invalid_sender_id"),
    ({"sender": "OK", "countries": ["XX"]}, "unknown_country"),
    ({"sender": "OK", "countries": [7]}, "unknown_country"),
    ({"sender": "OK", "countries": "SA"}, "bad_request"),
    ({"sender": "OK", "countries": ["SA"] * 251}, "bad_request"),
    ({"sender": "OK", "approved": True}, "bad_request"),
])
def test_what_a_sender_id_cannot_be(client: FlaskClient, shop: Callable[..., Shop], body: dict[str, Any],
                                    code: str) -> None:
    acme = shop()
    response = client.post("/senders", json=body, headers=acme.auth())
    assert response.status_code == 400, response.get_json()
    assert error_code(response) == code
    assert client.get("/senders", headers=acme.auth()).get_json()["items"] == []


def _sms_campaign_world(client: FlaskClient, who: Shop, phones: list[str]) -> int:
    """The notice flow published and a list of ``phones`` for ``who``; gives the list's id."""
    flow = client.post("/flows", json={"yaml": NOTICE}, headers=who.auth("admin")).get_json()
    published = client.post(f"/flows/{flow['name']}/versions/{flow['version']}/publish", headers=who.auth("admin"))
    assert published.status_code == 200, published.get_json()
    csv_text = "phone,text\n" + "".join(f"{phone},Hello\n" for phone in phones)
    report = client.post("/contacts/import", headers=who.auth(), content_type="multipart/form-data",
                         data={"file": (io.BytesIO(csv_text.encode()), "c.csv"), "list": f"l-{uuid.uuid4().hex[:6]}"})
    assert report.status_code == 201, report.get_json()
    return int(report.get_json()["list_id"])


def _campaign(client: FlaskClient, who: Shop, list_id: int, **settings: Any) -> Any:
    return client.post("/campaigns", headers=who.auth(), json={
        "name": f"sms-{uuid.uuid4().hex[:6]}", "flow": {"name": "notice"}, "contact_list_id": list_id, "channel": "sms",
        "settings": {"window": {"start": "00:00", "end": "24:00"}, **settings}})


def test_a_campaign_may_send_from_its_accounts_sender_id_only(client: FlaskClient, shop: Callable[..., Shop]) -> None:
    acme, globex = shop(), shop()
    list_id = _sms_campaign_world(client, acme, [us_number()])
    client.post("/senders", json={"sender": "ACME"}, headers=acme.auth())
    client.post("/senders", json={"sender": "GLOBEX"}, headers=globex.auth())
    own = _campaign(client, acme, list_id, sender="ACME")
    assert own.status_code == 201, own.get_json()
    assert own.get_json()["settings"]["sender"] == "ACME"
    assert _campaign(client, acme, list_id, sender=acme.number).status_code == 201
    for foreign in ("GLOBEX", globex.number, "NOBODY"):
        refused = _campaign(client, acme, list_id, sender=foreign)
        assert refused.status_code == 400, foreign
        assert refused.get_json()["error"]["details"]["field"] == "settings.sender"


def test_the_estimate_warns_for_countries_that_require_registration(client: FlaskClient,
                                                                    shop: Callable[..., Shop]) -> None:
    acme = shop()
    list_id = _sms_campaign_world(client, acme, [saudi_number(), saudi_number(), "+201001234567", us_number()])
    sender = client.post("/senders", json={"sender": "ACME", "countries": ["EG"]}, headers=acme.auth()).get_json()
    campaign = _campaign(client, acme, list_id, sender="ACME").get_json()
    estimate = client.get(f"/campaigns/{campaign['id']}/estimate", headers=acme.auth()).get_json()
    assert [(w["code"], w["country"], w["sender"]) for w in estimate["warnings"]] == [
        ("sender_not_registered", "SA", "ACME")]  # EG registered, the US requires none
    client.patch(f"/senders/{sender['id']}", json={"countries": ["EG", "SA"]}, headers=acme.auth())
    assert client.get(f"/campaigns/{campaign['id']}/estimate", headers=acme.auth()).get_json()["warnings"] == []
    default = _campaign(client, acme, list_id).get_json()  # no sender: the account's dev number, registered nowhere
    warned = client.get(f"/campaigns/{default['id']}/estimate", headers=acme.auth()).get_json()["warnings"]
    assert [(w["country"], w["sender"]) for w in warned] == [("EG", acme.number), ("SA", acme.number)]
