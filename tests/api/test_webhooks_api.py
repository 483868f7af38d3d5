"""The webhooks API on SQLite and PostgreSQL: create (secret shown once, validation), list, read,
change, delete, deliveries (newest first, status filter), retry, ping, roles, and tenant isolation
(master and sub-accounts, other tenants get 404)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, update

from tests.api.conftest import Tenants, error_code
from voiceplatform.models import WebhookDelivery
from voiceplatform.webhooks import EVENTS, MAX_ATTEMPTS, deliver_due, emit, verify

URL = "https://hooks.example.com/voiceplatform"


def create(client: FlaskClient, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    response = client.post("/webhooks", json={"url": URL, "events": ["*"], **body}, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()  # type: ignore[no-any-return]


def emit_to(app: Flask, account_id: int, event: str = "call.ended", payload: dict[str, Any] | None = None) -> int:
    with app.extensions["vp_sessions"].begin() as session:
        return emit(session, account_id, event, payload or {"call_id": "c-1"})


def deliveries_of(app: Flask, subscription_id: int) -> list[WebhookDelivery]:
    with app.extensions["vp_sessions"]() as session:
        return list(session.scalars(select(WebhookDelivery).where(WebhookDelivery.subscription_id == subscription_id)
                                    .order_by(WebhookDelivery.id)))


def test_create_shows_the_secret_once(client: FlaskClient, tenants: Tenants) -> None:
    admin = tenants.auth("acme")
    made = create(client, admin, events=["call.ended", "campaign.completed", "call.ended"])
    assert made["account_id"] == tenants.ids["acme"] and made["url"] == URL and made["active"] is True
    assert made["events"] == ["call.ended", "campaign.completed"]  # repeats dropped
    assert len(made["secret"]) >= 32
    fetched = client.get(f"/webhooks/{made['id']}", headers=admin).get_json()
    assert "secret" not in fetched and fetched == {key: value for key, value in made.items() if key != "secret"}
    listed = client.get("/webhooks?per_page=500", headers=admin).get_json()["items"]
    assert all("secret" not in row for row in listed) and made["id"] in [row["id"] for row in listed]
    own = create(client, tenants.auth("acme", "operator"), secret="my-own-secret-of-24-chars", active=False)
    assert own["secret"] == "my-own-secret-of-24-chars" and own["active"] is False
    assert create(client, admin)["secret"] != made["secret"]


@pytest.mark.parametrize(("body", "code"), [
    ({"events": ["*"]}, "bad_request"),
    ({"url": "ftp://hooks.example.com/x", "events": ["*"]}, "bad_request"),
    ({"url": "hooks.example.com/x", "events": ["*"]}, "bad_request"),
    ({"url": "https:///nohost", "events": ["*"]}, "bad_request"),
    ({"url": "https://hooks.example.com:99999/x", "events": ["*"]}, "bad_request"),
    ({"url": "https://hooks.example.com/a b", "events": ["*"]}, "bad_request"),
    ({"url": "https://hooks.example.com/" + "x" * 2000, "events": ["*"]}, "bad_request"),
    ({"url": 5, "events": ["*"]}, "bad_request"),
    ({"url": URL}, "bad_request"),
    ({"url": URL, "events": []}, "bad_request"),
    ({"url": URL, "events": "call.ended"}, "bad_request"),
    ({"url": URL, "events": [1]}, "bad_request"),
    ({"url": URL, "events": ["call.started"]}, "unknown_event"),
    ({"url": URL, "events": ["ping"]}, "unknown_event"),
    ({"url": URL, "events": ["*"], "secret": "short"}, "bad_request"),
    ({"url": URL, "events": ["*"], "active": "yes"}, "bad_request"),
])
def test_create_validates(client: FlaskClient, tenants: Tenants, body: dict[str, Any], code: str) -> None:
    response = client.post("/webhooks", json=body, headers=tenants.auth("acme"))
    assert response.status_code == 400 and error_code(response) == code, response.get_json()


def test_http_and_https_urls_are_accepted(client: FlaskClient, tenants: Tenants, monkeypatch: pytest.MonkeyPatch) -> None:
    admin = tenants.auth("acme")
    assert create(client, admin, url="http://hooks.example.com:8080/hook?x=1")["url"] == "http://hooks.example.com:8080/hook?x=1"
    refused = client.post("/webhooks", json={"url": "http://10.0.0.5:8080/hook", "events": ["*"]}, headers=admin)
    assert refused.status_code == 400 and error_code(refused) == "url_refused"
    monkeypatch.setenv("VOICEPLATFORM_OUTBOUND_ALLOW", "10.0.0.0/8")  # an on-premises endpoint, permitted
    assert create(client, admin, url="http://10.0.0.5:8080/hook?x=1")["url"] == "http://10.0.0.5:8080/hook?x=1"


@pytest.mark.parametrize(("url", "reason"), [
    ("http://127.0.0.1:8080/hook", "loopback"),
    ("http://0/hook", "unspecified"),
    ("http://0.0.0.0:9/hook", "unspecified"),
    ("http://2130706433/hook", "loopback"),
    ("http://0x7f000001/hook", "loopback"),
    ("http://017700000001/hook", "loopback"),
    ("http://127.1/hook", "loopback"),
    ("http://[::1]:8080/hook", "loopback"),
    ("http://[::ffff:127.0.0.1]/hook", "loopback"),
    ("http://localhost:8080/hook", "loopback"),
    ("http://169.254.169.254/latest/meta-data/", "link-local"),
    ("http://192.168.1.10/hook", "private"),
    ("http://100.64.0.1/hook", "shared"),
    ("http://224.0.0.1/hook", "multicast"),
])
def test_literal_internal_destinations_are_refused_when_saved(client: FlaskClient, tenants: Tenants, url: str,
                                                             reason: str) -> None:
    admin = tenants.auth("acme")
    response = client.post("/webhooks", json={"url": url, "events": ["*"]}, headers=admin)
    assert response.status_code == 400 and error_code(response) == "url_refused", response.get_json()
    error = response.get_json()["error"]
    assert error["details"] == {"field": "url"} and reason in error["message"] and error["message"].startswith("url ")
    made = create(client, admin)
    changed = client.patch(f"/webhooks/{made['id']}", json={"url": url}, headers=admin)
    assert changed.status_code == 400 and error_code(changed) == "url_refused"
    assert client.get(f"/webhooks/{made['id']}", headers=admin).get_json()["url"] == URL


@pytest.mark.parametrize("url", ["file:///etc/passwd", "gopher://hooks.example.com/x", "ftp://hooks.example.com/x"])
def test_only_http_and_https_are_accepted(client: FlaskClient, tenants: Tenants, url: str) -> None:
    response = client.post("/webhooks", json={"url": url, "events": ["*"]}, headers=tenants.auth("acme"))
    assert response.status_code == 400 and response.get_json()["error"]["details"] == {"field": "url"}


def test_change_and_delete(app: Flask, client: FlaskClient, tenants: Tenants) -> None:
    operator = tenants.auth("acme", "operator")
    made = create(client, operator)
    path = f"/webhooks/{made['id']}"
    changed = client.patch(path, json={"url": URL + "/v2", "events": ["campaign.failed"], "active": False}, headers=operator)
    assert changed.status_code == 200
    assert {key: changed.get_json()[key] for key in ("url", "events", "active")} == {
        "url": URL + "/v2", "events": ["campaign.failed"], "active": False}
    assert client.patch(path, json={"active": True}, headers=operator).get_json()["events"] == ["campaign.failed"]
    for body, field in [({"url": "mailto:a@b.c"}, "url"), ({"events": []}, "events"), ({"active": None}, "active"),
                        ({"secret": "x" * 20}, None)]:
        response = client.patch(path, json=body, headers=operator)
        assert response.status_code == 400, body
        if field:
            assert response.get_json()["error"]["details"] == {"field": field}
    assert client.patch(path, data="nope", content_type="application/json", headers=operator).status_code == 400
    emit_to(app, tenants.ids["acme"], "campaign.failed")
    assert len(deliveries_of(app, made["id"])) == 1
    assert client.delete(path, headers=operator).status_code == 204
    assert client.get(path, headers=operator).status_code == 404
    assert client.delete(path, headers=operator).status_code == 404
    assert deliveries_of(app, made["id"]) == []  # deleted with the subscription


def test_deliveries_newest_first_with_a_status_filter(app: Flask, client: FlaskClient, tenants: Tenants) -> None:
    operator = tenants.auth("globex", "operator")
    made = create(client, operator, events=["call.ended", "campaign.completed"])
    for index in range(3):
        emit_to(app, tenants.ids["globex"], "call.ended", {"call_id": f"c-{index}"})
    emit_to(app, tenants.ids["globex"], "campaign.completed", {"campaign_id": 9})
    first, *_ = [row.id for row in deliveries_of(app, made["id"])]
    with app.extensions["vp_sessions"].begin() as session:
        session.execute(update(WebhookDelivery).where(WebhookDelivery.id == first)
                        .values(status="failed", attempts=MAX_ATTEMPTS, last_status_code=500, last_error="HTTP 500",
                                next_attempt_at=None))
    page = client.get(f"/webhooks/{made['id']}/deliveries?per_page=3", headers=operator).get_json()
    assert page["total"] == 4 and page["next"] == 2
    assert [row["event"] for row in page["items"]] == ["campaign.completed", "call.ended", "call.ended"]
    assert page["items"][0]["payload"] == {"campaign_id": 9} and page["items"][0]["status"] == "pending"
    assert page["items"][0]["subscription_id"] == made["id"] and page["items"][0]["attempts"] == 0
    failed = client.get(f"/webhooks/{made['id']}/deliveries?status=failed", headers=operator).get_json()["items"]
    assert [(row["id"], row["attempts"], row["last_status_code"], row["last_error"]) for row in failed] == [
        (first, MAX_ATTEMPTS, 500, "HTTP 500")]
    assert client.get(f"/webhooks/{made['id']}/deliveries?status=pending", headers=operator).get_json()["total"] == 3
    bad = client.get(f"/webhooks/{made['id']}/deliveries?status=lost", headers=operator)
    assert bad.status_code == 400 and error_code(bad) == "bad_request"


def test_retry_a_failed_delivery(app: Flask, client: FlaskClient, tenants: Tenants) -> None:
    operator = tenants.auth("globex", "operator")
    made, other = create(client, operator, events=["campaign.paused"]), create(client, operator, events=["campaign.paused"])
    emit_to(app, tenants.ids["globex"], "campaign.paused")
    delivery = deliveries_of(app, made["id"])[0]
    retry = f"/webhooks/{made['id']}/deliveries/{delivery.id}/retry"
    pending = client.post(retry, headers=operator)
    assert pending.status_code == 409 and error_code(pending) == "already_pending"
    with app.extensions["vp_sessions"].begin() as session:
        session.execute(update(WebhookDelivery).where(WebhookDelivery.id == delivery.id)
                        .values(status="failed", attempts=MAX_ATTEMPTS, next_attempt_at=None))
    again = client.post(retry, headers=operator)
    assert again.status_code == 202
    body = again.get_json()
    assert (body["id"], body["status"], body["attempts"]) == (delivery.id, "pending", MAX_ATTEMPTS)
    assert body["next_attempt_at"] is not None
    other_delivery = deliveries_of(app, other["id"])[0].id
    assert client.post(f"/webhooks/{made['id']}/deliveries/{other_delivery}/retry", headers=operator).status_code == 404
    assert client.post(f"/webhooks/{made['id']}/deliveries/999999/retry", headers=operator).status_code == 404


def test_ping_is_queued_signed_and_delivered(app: Flask, client: FlaskClient, tenants: Tenants) -> None:
    operator = tenants.auth("acme-eu", "operator")
    made = create(client, operator, events=["campaign.started"])
    response = client.post(f"/webhooks/{made['id']}/ping", headers=operator)
    assert response.status_code == 202
    queued = response.get_json()
    assert (queued["event"], queued["status"], queued["payload"]) == ("ping", "pending", {"subscription_id": made["id"], "url": URL})
    received: dict[int, tuple[bytes, Mapping[str, str]]] = {}

    def post(url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> int:
        received[int(headers["X-VoicePlatform-Delivery"])] = (body, headers)
        return 204

    deliver_due(app.extensions["vp_sessions"], post=post)
    body, headers = received[queued["id"]]
    assert headers["X-VoicePlatform-Event"] == "ping"
    assert verify(made["secret"], headers["X-VoicePlatform-Signature"], body)
    detail = client.get(f"/webhooks/{made['id']}/deliveries", headers=operator).get_json()["items"][0]
    assert (detail["status"], detail["last_status_code"]) == ("delivered", 204) and detail["delivered_at"]
    client.patch(f"/webhooks/{made['id']}", json={"active": False}, headers=operator)
    inactive = client.post(f"/webhooks/{made['id']}/ping", headers=operator)
    assert inactive.status_code == 409 and error_code(inactive) == "inactive"


def test_roles(client: FlaskClient, tenants: Tenants) -> None:
    made = create(client, tenants.auth("acme", "operator"))
    for role in ("supervisor", "designer"):
        headers = tenants.auth("acme", role)
        assert client.get("/webhooks", headers=headers).status_code == 403
        assert client.post("/webhooks", json={"url": URL, "events": ["*"]}, headers=headers).status_code == 403
        assert client.get(f"/webhooks/{made['id']}", headers=headers).status_code == 403
        assert client.patch(f"/webhooks/{made['id']}", json={"active": False}, headers=headers).status_code == 403
        assert client.delete(f"/webhooks/{made['id']}", headers=headers).status_code == 403
        assert client.get(f"/webhooks/{made['id']}/deliveries", headers=headers).status_code == 403
        assert client.post(f"/webhooks/{made['id']}/ping", headers=headers).status_code == 403
    for role in ("admin", "operator"):
        assert client.get(f"/webhooks/{made['id']}", headers=tenants.auth("acme", role)).status_code == 200
    assert client.get("/webhooks").status_code == 401


def test_tenants_never_see_each_others_webhooks(app: Flask, client: FlaskClient, tenants: Tenants) -> None:
    acme, eu, globex = tenants.auth("acme"), tenants.auth("acme-eu"), tenants.auth("globex")
    made = create(client, acme)
    emit_to(app, tenants.ids["acme"])
    delivery_id = deliveries_of(app, made["id"])[0].id
    for outsider in (globex, eu):  # another tenant, and a sub-account looking at its master
        path = f"/webhooks/{made['id']}"
        assert client.get(path, headers=outsider).status_code == 404
        assert client.patch(path, json={"active": False}, headers=outsider).status_code == 404
        assert client.delete(path, headers=outsider).status_code == 404
        assert client.get(f"{path}/deliveries", headers=outsider).status_code == 404
        assert client.post(f"{path}/deliveries/{delivery_id}/retry", headers=outsider).status_code == 404
        assert client.post(f"{path}/ping", headers=outsider).status_code == 404
        assert made["id"] not in [row["id"] for row in client.get("/webhooks?per_page=500", headers=outsider).get_json()["items"]]
    assert client.get(f"/webhooks/{made['id']}", headers=acme).get_json()["active"] is True  # untouched
    assert client.post("/webhooks", json={"url": URL, "events": ["*"], "account_id": tenants.ids["acme"]},
                       headers=globex).status_code == 404
    # a master may subscribe on a sub-account's behalf, and see and manage it; the sub-account sees it too
    for_eu = create(client, acme, account_id=tenants.ids["acme-eu"])
    assert for_eu["account_id"] == tenants.ids["acme-eu"]
    assert client.get(f"/webhooks/{for_eu['id']}", headers=eu).status_code == 200
    assert client.get(f"/webhooks/{for_eu['id']}", headers=acme).status_code == 200
    assert client.get(f"/webhooks/{for_eu['id']}", headers=globex).status_code == 404


def test_the_openapi_document_lists_the_events(client: FlaskClient) -> None:
    document = client.get("/openapi.json").get_json()
    schema = document["paths"]["/webhooks"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert schema["properties"]["events"]["items"]["enum"] == [*EVENTS, "*"]


def test_idempotent_create(app: Flask, client: FlaskClient, tenants: Tenants) -> None:
    headers = {**tenants.auth("globex", "operator"), "Idempotency-Key": "webhook-create-1"}
    first = client.post("/webhooks", json={"url": URL + "/idem", "events": ["*"]}, headers=headers)
    second = client.post("/webhooks", json={"url": URL + "/idem", "events": ["*"]}, headers=headers)
    assert first.status_code == second.status_code == 201 and first.get_json() == second.get_json()
    assert second.headers["Idempotent-Replayed"] == "true"
    with app.extensions["vp_sessions"]() as session:
        from voiceplatform.models import WebhookSubscription

        assert session.scalar(select(func.count()).where(WebhookSubscription.url == URL + "/idem")) == 1
