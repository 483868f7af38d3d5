"""The API's edge against hostile and nonsensical bodies (issue 10, rows 10-12), on SQLite and
PostgreSQL: every case is a 4xx JSON error naming what was wrong, never a 500.

- row 10: a lone surrogate on every JSON route, JSON nested 1,000 deep, integers past 64 bits or
  below 1 (``flow.version`` on /calls and /campaigns, ids), NaN;
- row 11: bodies over ``max_request_bytes`` are 413 before they are read (Content-Length and
  chunked), the upload route gets ``max_upload_bytes``, a 10 MB token name is refused;
- row 12: tokens born expired, regenerating a revoked token, ``scheduled_at`` in 1999, strings
  longer than their ``String(n)`` columns (422 naming the field, on PostgreSQL too).
"""

from __future__ import annotations

import io
import json
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.api.conftest import Tenants, error_code
from voiceplatform import limits
from voiceplatform.models import Contact, ContactList, ContactListMember, WebhookSubscription

SURVEY = (Path(__file__).resolve().parents[2] / "ivr_flows" / "satisfaction_survey.yaml").read_text()
#: Every route that reads a JSON body, with a body that is otherwise plausible.
JSON_ROUTES: list[tuple[str, str, dict[str, Any]]] = [
    ("POST", "/flows/validate", {"yaml": "x"}),
    ("POST", "/flows", {"yaml": "x"}),
    ("POST", "/tokens", {"role": "operator", "name": "n"}),
    ("POST", "/dnc", {"phone": "+12025550100", "reason": "r"}),
    ("POST", "/calls", {"to": "+12025550100", "flow": {"name": "f"}}),
    ("POST", "/campaigns", {"name": "n", "flow": {"name": "f"}, "contact_list_id": 1}),
    ("POST", "/webhooks", {"url": "https://example.com/h", "events": ["*"]}),
    ("PATCH", "/webhooks/{webhook}", {"active": True}),
]


@pytest.fixture(scope="module")
def webhook(app: Flask, tenants: Tenants) -> int:
    """A subscription of acme's, written directly (the URL policy is not what is tested here)."""
    with app.extensions["vp_sessions"].begin() as session:
        row = WebhookSubscription(account_id=tenants.ids["acme"], url="https://example.com/h", events=["*"],
                                  secret="s" * 32, active=True)
        session.add(row)
        session.flush()
        return row.id


@pytest.fixture(scope="module")
def survey(app: Flask, tenants: Tenants) -> dict[str, Any]:
    """A published flow and a one-contact list of acme's (the list written directly: imports are
    not what is tested here)."""
    client = app.test_client()
    admin = tenants.auth("acme")
    flow = client.post("/flows", json={"yaml": SURVEY}, headers=admin).get_json()
    assert client.post(f"/flows/{flow['name']}/versions/{flow['version']}/publish", headers=admin).status_code == 200
    with app.extensions["vp_sessions"].begin() as session:
        contact = Contact(account_id=tenants.ids["acme"], phone="+12025550401", attributes={})
        contact_list = ContactList(account_id=tenants.ids["acme"], name=f"edge-{uuid.uuid4().hex[:6]}")
        session.add_all([contact, contact_list])
        session.flush()
        session.add(ContactListMember(list_id=contact_list.id, contact_id=contact.id))
        list_id = contact_list.id
    return {"flow": {"name": flow["name"]}, "contact_list_id": list_id}


def send(client: FlaskClient, method: str, path: str, raw: bytes, headers: dict[str, str], **kw: Any) -> Any:
    return client.open(path, method=method, data=raw, content_type="application/json", headers=headers, **kw)


def assert_4xx_json(response: Any, status: int | None = None, code: str | None = None) -> dict[str, Any]:
    assert response.is_json, response.data[:200]
    assert 400 <= response.status_code < 500, (response.status_code, response.get_json())
    if status is not None:
        assert response.status_code == status, response.get_json()
    error = response.get_json()["error"]
    if code is not None:
        assert error["code"] == code, error
    return error


# ---- row 10 --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("method", "path", "body"), JSON_ROUTES, ids=[f"{m} {p}" for m, p, _ in JSON_ROUTES])
def test_a_lone_surrogate_is_400_on_every_json_route(client: FlaskClient, tenants: Tenants, webhook: int, method: str,
                                                      path: str, body: dict[str, Any]) -> None:
    path = path.format(webhook=webhook)
    key = next(iter(body))
    raw = json.dumps({**body, key: "\ud800"}).encode()  # json.dumps writes the escape: "\\ud800"
    assert b"\\ud800" in raw
    error = assert_4xx_json(send(client, method, path, raw, tenants.auth("acme")), 400, "bad_json")
    assert "surrogate" in error["message"]
    keyed = json.dumps({**body, "\udc00x": 1}).encode()  # in a key, a low one
    assert_4xx_json(send(client, method, path, keyed, tenants.auth("acme")), 400, "bad_json")


@pytest.mark.parametrize(("method", "path", "body"), JSON_ROUTES, ids=[f"{m} {p}" for m, p, _ in JSON_ROUTES])
def test_json_nested_1000_deep_is_400_before_parsing(client: FlaskClient, tenants: Tenants, webhook: int, method: str,
                                                     path: str, body: dict[str, Any]) -> None:
    path = path.format(webhook=webhook)
    raw = b'{"a": ' + b"[" * 1000 + b"]" * 1000 + b"}"
    error = assert_4xx_json(send(client, method, path, raw, tenants.auth("acme")), 400, "bad_json")
    assert "1001 levels" in error["message"] and str(limits.current().max_json_depth) in error["message"]
    unbalanced = b"[" * 100_000  # never closed: still measured, never parsed
    assert_4xx_json(send(client, method, path, unbalanced, tenants.auth("acme")), 400, "bad_json")


def test_depth_at_the_limit_is_parsed_and_brackets_in_strings_do_not_count(client: FlaskClient, tenants: Tenants) -> None:
    depth = limits.current().max_json_depth
    nested: Any = "[" * 500 + "]" * 500  # a string: not nesting
    for _ in range(depth - 1):
        nested = [nested]
    response = client.post("/flows/validate", json={"yaml": "spec_version: 1", "extra": nested}, headers=tenants.auth("acme"))
    assert response.status_code == 200, response.get_json()


@pytest.mark.parametrize("raw", [b'{"yaml": "x", "n": NaN}', b'{"yaml": "x", "n": -Infinity}', b'{"yaml": "x", "n": 1e999}',
                                 b'{"yaml": "x", "n": ' + b"9" * 5000 + b"}", b'{"yaml": "x", "n": 9223372036854775808}',
                                 b'{"yaml": "\xff"}'])
def test_numbers_json_cannot_carry_and_non_utf8_are_400(client: FlaskClient, tenants: Tenants, raw: bytes) -> None:
    assert_4xx_json(send(client, "POST", "/flows/validate", raw, tenants.auth("acme")), 400, "bad_json")


@pytest.mark.parametrize("version", [2**31, 2**63, 2**64, -(2**63) - 1, 0, -1, 1.5, True, "1"])
def test_flow_version_out_of_range_is_400_on_calls_and_campaigns(client: FlaskClient, tenants: Tenants,
                                                                 survey: dict[str, Any], version: Any) -> None:
    operator = tenants.auth("acme", "operator")
    flow = {**survey["flow"], "version": version}
    bodies = {"/calls": {"to": "+12025550402", "flow": flow},
              "/campaigns": {"name": "v", "flow": flow, "contact_list_id": survey["contact_list_id"]}}
    for path, body in bodies.items():
        raw = json.dumps(body).encode()
        error = assert_4xx_json(send(client, "POST", path, raw, operator), 400)
        assert error.get("details", {}).get("field") == "flow.version" or error["code"] == "bad_json", error


def test_the_largest_integer_version_is_a_plain_404(client: FlaskClient, tenants: Tenants, survey: dict[str, Any]) -> None:
    """2^31 - 1: PostgreSQL's INTEGER (2^31 failed its query with "integer out of range", a 500)."""
    body = {"to": "+12025550403", "flow": {**survey["flow"], "version": 2**31 - 1}}
    assert_4xx_json(client.post("/calls", json=body, headers=tenants.auth("acme", "operator")), 404, "not_found")
    for path in ("/campaigns/2147483648", "/contacts/2147483648", "/webhooks/9223372036854775807"):
        assert_4xx_json(client.get(path, headers=tenants.auth("acme")), 404)
    assert_4xx_json(client.get("/calls?campaign_id=2147483648", headers=tenants.auth("acme")), 400)


@pytest.mark.parametrize("value", [2**31, 2**63, 0, -5, 10**30])
def test_integer_ids_in_bodies_are_1_to_2_63(client: FlaskClient, tenants: Tenants, survey: dict[str, Any], value: int) -> None:
    admin = tenants.auth("acme")
    cases = [("/campaigns", {"name": "i", "flow": survey["flow"], "contact_list_id": value}, "contact_list_id"),
             ("/tokens", {"role": "operator", "account_id": value}, "account_id"),
             ("/webhooks", {"url": "https://example.com/h", "events": ["*"], "account_id": value}, "account_id")]
    for path, body, name in cases:
        error = assert_4xx_json(send(client, "POST", path, json.dumps(body).encode(), admin), 400)
        assert error["code"] == "bad_json" or error["details"]["field"] == name, error


def test_ring_seconds_huge_is_400(client: FlaskClient, tenants: Tenants, survey: dict[str, Any]) -> None:
    body = {"to": "+12025550404", "flow": survey["flow"], "ring_seconds": 2**62}
    assert_4xx_json(client.post("/calls", json=body, headers=tenants.auth("acme", "operator")), 400)


# ---- row 11 --------------------------------------------------------------------------------------

def test_a_body_over_the_limit_is_413_json_by_content_length(client: FlaskClient, tenants: Tenants) -> None:
    limit = limits.current().max_request_bytes
    name = "x" * (10 * 1024 * 1024)  # the 10 MB token name
    response = client.post("/tokens", json={"role": "operator", "name": name}, headers=tenants.auth("acme"))
    error = assert_4xx_json(response, 413, "request_entity_too_large")
    assert f"{limit:,}" in error["message"]
    for path in ("/flows/validate", "/dnc", "/nowhere", "/health"):
        assert client.post(path, data=b"{" + b" " * limit + b"}", content_type="application/json").status_code == 413


def test_a_chunked_body_is_cut_at_the_limit(client: FlaskClient, tenants: Tenants) -> None:
    limit = limits.current().max_request_bytes
    body = json.dumps({"yaml": "y" * (limit + 10)}).encode()
    response = client.post("/flows/validate", input_stream=io.BytesIO(body), content_type="application/json",
                           headers={**tenants.auth("acme"), "Transfer-Encoding": "chunked"},
                           environ_overrides={"wsgi.input_terminated": True})
    assert_4xx_json(response, 413)


def test_a_body_at_the_limit_is_read(client: FlaskClient, tenants: Tenants) -> None:
    limit = limits.current().max_request_bytes
    padding = limit - len(json.dumps({"yaml": "spec_version: 1", "pad": ""}))
    body = json.dumps({"yaml": "spec_version: 1", "pad": " " * padding}).encode()
    assert len(body) == limit
    response = send(client, "POST", "/flows/validate", body, tenants.auth("acme"))
    assert response.status_code == 200, response.get_json()


def test_the_upload_route_gets_the_upload_limit(app: Flask, client: FlaskClient, tenants: Tenants) -> None:
    assert "contacts.import_file" in app.extensions["vp_upload_endpoints"]
    current = limits.current()
    operator = tenants.auth("acme", "operator")
    padding = b"p" * (current.max_request_bytes + 1)  # over the request limit, far under the upload limit
    response = client.post("/contacts/import", headers=operator, content_type="multipart/form-data",
                           data={"not_the_file": (io.BytesIO(padding), "pad.bin")})
    assert_4xx_json(response, 400, "bad_request")  # read in full and answered by the route: no 413
    assert client.post("/flows/validate", headers=operator, content_type="multipart/form-data",
                       data={"not_the_file": (io.BytesIO(padding), "pad.bin")}).status_code == 413
    response = client.post("/contacts/import", headers=operator, content_type="multipart/form-data; boundary=x",
                           input_stream=io.BytesIO(b""), environ_overrides={"CONTENT_LENGTH": str(current.max_upload_bytes + 1)})
    assert assert_4xx_json(response, 413)["message"].endswith(f"{current.max_upload_bytes:,}")


def test_a_token_name_longer_than_its_column_is_422_naming_it(client: FlaskClient, tenants: Tenants) -> None:
    response = client.post("/tokens", json={"role": "operator", "name": "n" * 201}, headers=tenants.auth("acme"))
    error = assert_4xx_json(response, 422, "too_long")
    assert error["details"] == {"field": "name", "table": "api_tokens", "max_length": 200}
    assert client.post("/tokens", json={"role": "operator", "name": "n" * 200}, headers=tenants.auth("acme")).status_code == 201


# ---- row 12 --------------------------------------------------------------------------------------

@pytest.mark.parametrize("when", ["1970-01-01T00:00:00Z", "2020-06-01T00:00:00+02:00"])
def test_a_token_expiring_in_the_past_is_refused(client: FlaskClient, tenants: Tenants, when: str) -> None:
    response = client.post("/tokens", json={"role": "operator", "expires_at": when}, headers=tenants.auth("acme"))
    error = assert_4xx_json(response, 422, "expired")
    assert error["details"] == {"field": "expires_at"} and "not in the future" in error["message"]


@pytest.mark.parametrize("when", ["9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00+01:00", "x" * 1000, 5])
def test_times_utc_cannot_hold_are_400(client: FlaskClient, tenants: Tenants, when: Any) -> None:
    response = client.post("/tokens", json={"role": "operator", "expires_at": when}, headers=tenants.auth("acme"))
    assert assert_4xx_json(response, 400)["details"] == {"field": "expires_at"}


def test_a_revoked_token_cannot_be_regenerated(client: FlaskClient, tenants: Tenants) -> None:
    admin = tenants.auth("acme")
    token = client.post("/tokens", json={"role": "operator"}, headers=admin).get_json()
    assert client.delete(f"/tokens/{token['id']}", headers=admin).status_code == 204
    response = client.post(f"/tokens/{token['id']}/regenerate", headers=admin)
    error = assert_4xx_json(response, 409, "revoked")
    assert "create a new token" in error["message"]
    assert client.get("/dnc", headers={"Authorization": f"Bearer {token['token']}"}).status_code == 401


def test_scheduled_at_in_the_past_is_refused_with_a_small_grace(client: FlaskClient, tenants: Tenants,
                                                                 survey: dict[str, Any]) -> None:
    operator = tenants.auth("acme", "operator")
    base = {"name": "s", **survey}
    response = client.post("/campaigns", json={**base, "scheduled_at": "1999-01-01T09:00:00Z"}, headers=operator)
    error = assert_4xx_json(response, 422, "in_the_past")
    assert error["details"] == {"field": "scheduled_at"}
    a_minute_ago = (datetime.now(timezone.utc) - timedelta(minutes=1)).isoformat()  # a client clock a bit behind
    assert client.post("/campaigns", json={**base, "scheduled_at": a_minute_ago}, headers=operator).status_code == 201


def test_strings_longer_than_their_columns_are_422_on_every_route(client: FlaskClient, tenants: Tenants) -> None:
    operator = tenants.auth("acme", "operator")
    response = client.post("/dnc", json={"phone": "+12025550405", "reason": "r" * 201}, headers=operator)
    assert assert_4xx_json(response, 422, "too_long")["details"]["field"] == "reason"
    assert client.get("/dnc", headers=operator).status_code == 200  # the session was not left broken
