"""The HTTP API on SQLite and PostgreSQL: auth and roles, JSON errors, flows, tokens, do-not-call,
calls, pagination, Idempotency-Key, tenant isolation for every resource, and the OpenAPI document."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.api.conftest import Tenants, error_code
from voiceplatform.flow import analyse_flow
from voiceplatform.switches.call_record import CallRecord
from voiceplatform.calls.store import DatabaseCallSink
from voiceplatform.calls.outcomes import CallOutcome

REPO = Path(__file__).resolve().parents[2]
PAYMENT = (REPO / "ivr_flows" / "payment_reminder.yaml").read_text()


def unique_flow(name: str) -> str:
    return PAYMENT.replace("name: payment_reminder", f"name: {name}")


def test_health_and_openapi_need_no_token(client: FlaskClient) -> None:
    assert client.get("/health").get_json() == {"status": "ok"}
    assert client.get("/openapi.json").get_json()["openapi"].startswith("3.")


@pytest.mark.parametrize("header", [None, "Bearer", "Bearer vp_not-a-token", "Basic abc"])
def test_missing_or_unknown_tokens_get_401_json(client: FlaskClient, tenants: Tenants, header: str | None) -> None:
    response = client.get("/flows", headers={"Authorization": header} if header else {})
    assert response.status_code == 401 and error_code(response) == "unauthorized"


def test_roles_are_checked_per_route(client: FlaskClient, tenants: Tenants) -> None:
    body = {"yaml": unique_flow(f"roles_{uuid.uuid4().hex[:6]}")}
    assert client.post("/flows", json=body, headers=tenants.auth("acme", "supervisor")).status_code == 403
    assert client.post("/flows", json=body, headers=tenants.auth("acme", "designer")).status_code == 201
    assert client.get("/tokens", headers=tenants.auth("acme", "operator")).status_code == 403
    assert client.get("/calls", headers=tenants.auth("acme", "designer")).status_code == 403
    assert client.get("/calls", headers=tenants.auth("acme", "supervisor")).status_code == 200


@pytest.mark.parametrize(("payload", "code"), [("not json", "bad_json"), ("[1, 2]", "bad_request"),
                                             ('{"yaml": 3}', "bad_request"), ("{}", "bad_request")])
def test_bad_bodies_get_400_json(client: FlaskClient, tenants: Tenants, payload: str, code: str) -> None:
    response = client.post("/flows/validate", data=payload, content_type="application/json", headers=tenants.auth("acme"))
    assert response.status_code == 400 and error_code(response) == code


def test_unknown_routes_and_methods_are_json_too(client: FlaskClient, tenants: Tenants) -> None:
    assert error_code(client.get("/nowhere")) == "not_found"
    assert client.put("/flows", headers=tenants.auth("acme")).status_code == 405


def test_validate_gives_the_cli_messages(client: FlaskClient, tenants: Tenants, tmp_path: Path) -> None:
    broken = "spec_version: 1\nname: broken\nstart: a\nnodes:\n  - {id: a, type: say, text: hi, next: b}\n"
    response = client.post("/flows/validate", json={"yaml": broken}, headers=tenants.auth("acme", "supervisor"))
    body = response.get_json()
    (tmp_path / "flow.yaml").write_text(broken)
    _flow, expected = analyse_flow(tmp_path / "flow.yaml")
    assert body["valid"] is False
    assert [(p["line"], p["column"], p["message"]) for p in body["problems"]] == [(e.line, e.column, e.message) for e in expected]
    assert body["problems"][0]["text"] == "flow.yaml:5:40: node 'a': exit 'next' goes to unknown node 'b'"


def test_flow_versions_draft_publish_and_list(client: FlaskClient, tenants: Tenants) -> None:
    name = f"flow_{uuid.uuid4().hex[:8]}"
    designer = tenants.auth("acme", "designer")
    first = client.post("/flows", json={"yaml": unique_flow(name)}, headers=designer)
    second = client.post("/flows", json={"yaml": unique_flow(name) + "\n# edited\n"}, headers=designer)
    assert (first.status_code, first.get_json()["version"], first.get_json()["status"]) == (201, 1, "draft")
    assert second.get_json()["version"] == 2
    published = client.post(f"/flows/{name}/versions/1/publish", headers=designer).get_json()
    assert published["status"] == "published" and published["published_at"]
    listing = client.get(f"/flows/{name}/versions", headers=tenants.auth("acme", "operator")).get_json()
    assert [(v["version"], v["status"]) for v in listing["items"]] == [(2, "draft"), (1, "published")]
    detail = client.get(f"/flows/{name}/versions/2", headers=designer).get_json()
    assert detail["definition"].endswith("# edited\n")
    invalid = client.post("/flows", json={"yaml": "spec_version: 1\nname: x\n"}, headers=designer)
    assert invalid.status_code == 422 and error_code(invalid) == "invalid_flow"
    assert invalid.get_json()["error"]["details"]["problems"]


def test_idempotency_key_replays_and_refuses_reuse(client: FlaskClient, tenants: Tenants) -> None:
    name, key = f"idem_{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    headers = {**tenants.auth("acme", "designer"), "Idempotency-Key": key}
    first = client.post("/flows", json={"yaml": unique_flow(name)}, headers=headers)
    again = client.post("/flows", json={"yaml": unique_flow(name)}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json() and again.headers.get("Idempotent-Replayed") == "true"
    versions = client.get(f"/flows/{name}/versions", headers=headers).get_json()
    assert versions["total"] == 1
    other = client.post("/flows", json={"yaml": unique_flow(name + "x")}, headers=headers)
    assert other.status_code == 422 and error_code(other) == "idempotency_key_reused"


def test_tokens_show_the_secret_once_regenerate_and_revoke(client: FlaskClient, tenants: Tenants) -> None:
    admin = tenants.auth("acme")
    later = (datetime.now(timezone.utc) + timedelta(days=7)).isoformat()
    created = client.post("/tokens", json={"name": "ci", "role": "operator", "expires_at": later}, headers=admin)
    assert created.status_code == 201
    token = created.get_json()
    own = {"Authorization": f"Bearer {token['token']}"}
    assert client.get("/dnc", headers=own).status_code == 200
    listed = client.get("/tokens", headers=admin).get_json()["items"]
    assert all("token" not in row for row in listed) and token["id"] in [row["id"] for row in listed]
    fresh = client.post(f"/tokens/{token['id']}/regenerate", headers=admin).get_json()["token"]
    assert client.get("/dnc", headers=own).status_code == 401
    assert client.get("/dnc", headers={"Authorization": f"Bearer {fresh}"}).status_code == 200
    assert client.delete(f"/tokens/{token['id']}", headers=admin).status_code == 204
    assert client.get("/dnc", headers={"Authorization": f"Bearer {fresh}"}).status_code == 401
    expired = client.post("/tokens", json={"role": "operator", "expires_at": "2020-01-01T00:00:00+00:00"}, headers=admin)
    assert expired.status_code == 422 and error_code(expired) == "expired"  # born expired: refused (tests/api/test_edge.py)
    assert error_code(client.post("/tokens", json={"role": "emperor"}, headers=admin)) == "bad_request"
    assert error_code(client.post("/tokens", json={"role": "operator", "expires_at": "2030-01-01T00:00:00"}, headers=admin)) == "bad_request"


def test_do_not_call_numbers_are_e164_and_unique(client: FlaskClient, tenants: Tenants) -> None:
    operator = tenants.auth("acme", "operator")
    number = f"(202) 555-01{uuid.uuid4().int % 90 + 10}"
    added = client.post("/dnc", json={"phone": number, "reason": "asked"}, headers=operator)
    assert added.status_code == 201 and added.get_json()["phone"].startswith("+1202555")
    assert client.post("/dnc", json={"phone": number}, headers=operator).status_code == 409
    assert error_code(client.post("/dnc", json={"phone": "12"}, headers=operator)) == "invalid_phone"
    phone = added.get_json()["phone"]
    assert phone in [row["phone"] for row in client.get("/dnc?per_page=500", headers=operator).get_json()["items"]]
    assert client.delete(f"/dnc/{phone}", headers=operator).status_code == 204
    assert client.delete(f"/dnc/{phone}", headers=operator).status_code == 404


def _store_call(app: Flask, account_id: int, outcome: CallOutcome, queued: datetime) -> str:
    record = CallRecord(call_id=uuid.uuid4().hex, to="+12025550143", flow="payment_reminder", switch="asterisk")
    record.outcome = outcome
    record.mark("queued", queued)
    record.mark("ended", queued + timedelta(seconds=30))
    DatabaseCallSink(app.extensions["vp_sessions"], account_id).call_ended(record)
    return record.call_id


def test_calls_filter_and_detail(app: Flask, client: FlaskClient, tenants: Tenants) -> None:
    when = datetime(2030, 5, 1, 12, tzinfo=timezone.utc)
    busy = _store_call(app, tenants.ids["acme"], CallOutcome.BUSY, when)
    _store_call(app, tenants.ids["acme"], CallOutcome.ANSWERED, when + timedelta(hours=1))
    headers = tenants.auth("acme", "supervisor")
    found = client.get("/calls?outcome=busy&since=2030-05-01T00:00:00%2B00:00&until=2030-05-02T00:00:00%2B00:00", headers=headers).get_json()
    assert [row["id"] for row in found["items"]] == [busy]
    detail = client.get(f"/calls/{busy}", headers=headers).get_json()
    assert detail["outcome"] == "busy" and detail["recordings"] == [] and detail["path"] == []
    assert error_code(client.get("/calls?outcome=maybe", headers=headers)) == "bad_request"
    assert error_code(client.get("/calls?since=yesterday", headers=headers)) == "bad_request"


def test_pagination(client: FlaskClient, tenants: Tenants) -> None:
    operator = tenants.auth("globex", "operator")
    for index in range(3):
        client.post("/dnc", json={"phone": f"+1202555{index + 2:04d}"}, headers=operator)
    first = client.get("/dnc?per_page=2", headers=operator).get_json()
    second = client.get("/dnc?per_page=2&page=2", headers=operator).get_json()
    assert (len(first["items"]), first["next"], len(second["items"]), second["next"]) == (2, 2, 1, None)
    assert first["total"] == 3
    assert error_code(client.get("/dnc?per_page=0", headers=operator)) == "bad_request"
    assert error_code(client.get("/dnc?page=x", headers=operator)) == "bad_request"


def test_tenants_never_see_each_others_data(app: Flask, client: FlaskClient, tenants: Tenants) -> None:
    acme, globex, eu = tenants.auth("acme"), tenants.auth("globex"), tenants.auth("acme-eu")
    name = f"private_{uuid.uuid4().hex[:8]}"
    client.post("/flows", json={"yaml": unique_flow(name)}, headers=acme)
    assert client.get(f"/flows/{name}/versions/1", headers=globex).status_code == 404
    assert client.post(f"/flows/{name}/versions/1/publish", headers=globex).status_code == 404
    assert name not in [row["name"] for row in client.get("/flows?per_page=500", headers=globex).get_json()["items"]]
    token = client.post("/tokens", json={"role": "operator"}, headers=acme).get_json()
    assert client.post(f"/tokens/{token['id']}/regenerate", headers=globex).status_code == 404
    assert client.delete(f"/tokens/{token['id']}", headers=globex).status_code == 404
    assert token["id"] not in [row["id"] for row in client.get("/tokens?per_page=500", headers=globex).get_json()["items"]]
    assert client.post("/tokens", json={"role": "admin", "account_id": tenants.ids["acme"]}, headers=globex).status_code == 404
    phone = client.post("/dnc", json={"phone": "+12025550199"}, headers=acme).get_json()["phone"]
    assert phone not in [row["phone"] for row in client.get("/dnc?per_page=500", headers=globex).get_json()["items"]]
    assert client.delete(f"/dnc/{phone}", headers=globex).status_code == 404
    eu_call = _store_call(app, tenants.ids["acme-eu"], CallOutcome.ANSWERED, datetime(2031, 1, 1, tzinfo=timezone.utc))
    acme_call = _store_call(app, tenants.ids["acme"], CallOutcome.ANSWERED, datetime(2031, 1, 1, tzinfo=timezone.utc))
    assert client.get(f"/calls/{eu_call}", headers=acme).status_code == 200  # a master sees its sub-accounts
    assert client.get(f"/calls/{acme_call}", headers=eu).status_code == 404  # a sub-account does not see its master
    assert client.get(f"/calls/{eu_call}", headers=globex).status_code == 404
    assert eu_call not in [row["id"] for row in client.get("/calls?per_page=500", headers=globex).get_json()["items"]]


def test_openapi_documents_exactly_the_routes(app: Flask, client: FlaskClient) -> None:
    from openapi_spec_validator import validate

    document = client.get("/openapi.json").get_json()
    validate(document)
    routes = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("web."):
            continue  # the web UI's pages (voiceplatform.web) are HTML for people, not the API
        path = rule.rule
        for argument in rule.arguments:
            path = path.replace(f"<int:{argument}>", f"{{{argument}}}").replace(f"<{argument}>", f"{{{argument}}}")
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            routes.add((path, method.lower()))
    documented = {(path, method) for path, operations in document["paths"].items() for method in operations}
    assert routes == documented


def test_contacts_import_by_upload_and_tenant_isolation(client: FlaskClient, tenants: Tenants) -> None:
    import io

    operator, globex = tenants.auth("acme", "operator"), tenants.auth("globex", "operator")
    csv_text = "phone,first_name\n(202) 555-0170,Ann\nbad,Bob\n"
    response = client.post("/contacts/import", headers=operator, content_type="multipart/form-data",
                           data={"file": (io.BytesIO(csv_text.encode()), "people.csv"), "list": "api"})
    report = response.get_json()
    assert response.status_code == 201 and (report["created"], report["error_count"]) == (1, 1)
    assert report["errors"][0]["row"] == 3
    found = client.get("/contacts?phone=%2B12025550170", headers=operator).get_json()["items"]
    assert [c["attributes"]["first_name"] for c in found] == ["Ann"]
    contact_id = found[0]["id"]
    assert client.get(f"/contacts/{contact_id}", headers=globex).status_code == 404
    assert client.get("/contacts?phone=%2B12025550170", headers=globex).get_json()["items"] == []
    missing = client.post("/contacts/import", headers=operator, content_type="multipart/form-data", data={})
    assert missing.status_code == 400
    unreadable = client.post("/contacts/import", headers=operator, content_type="multipart/form-data",
                             data={"file": (io.BytesIO(b"name\nAnn\n"), "people.csv")})
    assert unreadable.status_code == 422 and error_code(unreadable) == "unreadable_file"


def test_huge_ids_and_pages_are_client_errors_not_crashes(client: FlaskClient, tenants: Tenants) -> None:
    """Found by schemathesis against /openapi.json: integers past 64 bits reached the database."""
    admin, huge = tenants.auth("acme"), str(2**63)
    assert client.get(f"/calls?campaign_id={huge}", headers=admin).status_code == 400
    assert client.get(f"/calls?page={huge}", headers=admin).status_code == 400
    assert client.get(f"/campaigns/{huge}", headers=admin).status_code == 404
    assert client.get(f"/contacts/{huge}", headers=admin).status_code == 404
    assert client.post(f"/campaigns/{huge}/start", headers=admin).status_code == 404
