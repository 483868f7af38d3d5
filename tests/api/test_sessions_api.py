"""GET /sessions and GET /sessions/<id>: the list with its filters and paging, the detail with its
history (the ordered session_events rows) and the transcript rendered from them, roles, and
tenant isolation (an account sees itself and its sub-accounts; another tenant's session is a
404). SQLite and PostgreSQL (the app fixture). Sessions are made the way a designer makes them:
a published flow, a dev number, POST /dev/sessions and POST /dev/inbound."""

from __future__ import annotations

import itertools
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from tests.api.conftest import Tenants, error_code
from voiceplatform.models import Campaign, CampaignContact, CampaignStatus, Contact, FlowSession, FlowVersion
from voiceplatform.models.base import utcnow

FLOW = (Path(__file__).parents[1] / "sessions" / "two_questions.yaml").read_text()
_numbers = itertools.count(5000)


def _fresh() -> str:
    return f"+1202556{next(_numbers):04d}"


def _setup(client: FlaskClient, tenants: Tenants, tenant: str) -> str:
    auth = tenants.auth(tenant)
    created = client.post("/flows", json={"yaml": FLOW}, headers=auth)
    assert created.status_code in (200, 201), created.get_json()
    body = created.get_json()
    client.post(f"/flows/{body['name']}/versions/{body['version']}/publish", headers=auth)
    number = _fresh()
    response = client.post("/numbers", json={"number": number, "channels": ["dev"]}, headers=auth)
    assert response.status_code == 201, response.get_json()
    return number


def _start(client: FlaskClient, tenants: Tenants, tenant: str, ours: str) -> tuple[str, str]:
    contact = _fresh()
    started = client.post("/dev/sessions", json={"flow": {"name": "two_questions"}, "to": contact, "from": ours},
                          headers=tenants.auth(tenant))
    assert started.status_code == 201, started.get_json()
    return started.get_json()["session_id"], contact


def _reply(client: FlaskClient, tenants: Tenants, tenant: str, ours: str, contact: str, text: str) -> None:
    answer = client.post("/dev/inbound", json={"from": contact, "to": ours, "text": text}, headers=tenants.auth(tenant))
    assert answer.get_json()["outcome"] == "resumed", answer.get_json()


def _ids(client: FlaskClient, tenants: Tenants, query: str, tenant: str = "acme") -> list[str]:
    response = client.get(f"/sessions?per_page=500&{query}", headers=tenants.auth(tenant, "supervisor"))
    assert response.status_code == 200, response.get_json()
    return [item["id"] for item in response.get_json()["items"]]


def test_detail_has_the_ordered_history_and_the_transcript_rendered_from_it(
        client: FlaskClient, tenants: Tenants) -> None:
    ours = _setup(client, tenants, "acme")
    session_id, contact = _start(client, tenants, "acme", ours)
    _reply(client, tenants, "acme", ours, contact, "red")
    _reply(client, tenants, "acme", ours, contact, "blue")
    response = client.get(f"/sessions/{session_id}", headers=tenants.auth("acme", "operator"))
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "completed" and body["ended_at"] and body["channel"] == "dev"
    assert body["address"] == contact and body["our_address"] == ours
    assert body["flow"]["name"] == "two_questions" and body["flow"]["version"] >= 1
    assert body["results"]["first"]["value"] == "red" and body["results"]["second"]["value"] == "blue"
    history = body["history"]
    assert [event["seq"] for event in history] == list(range(1, len(history) + 1))
    assert {"seq", "kind", "type", "channel", "at", "payload"} <= set(history[0])
    inputs = [event["payload"]["value"] for event in history if event["kind"] == "input"]
    assert inputs == ["red", "blue"]
    assert any(event["kind"] == "runtime" and event["type"] == "delivered" for event in history)
    lines = [line["line"] for line in body["transcript"]]
    assert lines[:4] == ["bot (sms): First answer?", "contact: red", "bot (sms): Second answer?", "contact: blue"]
    assert len(lines) == 5 and lines[4] == "bot (sms): Thanks red blue"
    assert body["history_truncated"] is False
    assert all(line["channel"] == "dev" for line in body["transcript"])
    (part,) = body["path"]  # the same renderer as the recording page's path
    assert (part["channel"], [node["id"] for node in part["nodes"]]) == ("dev", ["q1", "q2", "done"])
    said = [(event["kind"], event["text"]) for event in part["events"] if event["kind"] in ("message", "reply")]
    assert said[:4] == [("message", "First answer?"), ("reply", "red"), ("message", "Second answer?"), ("reply", "blue")]
    assert len(said) == 5 and said[4][1] == "Thanks red blue"


def test_list_filters_and_pages(app: Flask, client: FlaskClient, tenants: Tenants) -> None:
    ours = _setup(client, tenants, "acme")
    waiting, contact_w = _start(client, tenants, "acme", ours)
    done, contact_d = _start(client, tenants, "acme", ours)
    _reply(client, tenants, "acme", ours, contact_d, "a")
    _reply(client, tenants, "acme", ours, contact_d, "b")
    assert waiting in _ids(client, tenants, "status=waiting") and done not in _ids(client, tenants, "status=waiting")
    assert done in _ids(client, tenants, "status=completed")
    assert _ids(client, tenants, f"address={quote(contact_w)}") == [waiting]
    assert set(_ids(client, tenants, "flow=two_questions")) >= {waiting, done}
    assert _ids(client, tenants, "flow=no_such_flow") == []
    assert set(_ids(client, tenants, "channel=dev")) >= {waiting, done}
    assert waiting not in _ids(client, tenants, "channel=voice")
    with app.extensions["vp_sessions"].begin() as db:
        row = db.get(FlowSession, waiting)
        assert row is not None
        contact = db.scalars(select(Contact).where(Contact.phone == contact_w)).first()
        if contact is None:
            contact = Contact(account_id=row.account_id, phone=contact_w, attributes={})
            db.add(contact)
            db.flush()
        version = db.get(FlowVersion, row.flow_version_id)
        assert version is not None
        campaign = Campaign(account_id=row.account_id, kind="single", name="sessions api", flow_version_id=version.id,
                            settings={}, status=CampaignStatus.DRAFT)
        db.add(campaign)
        db.flush()
        entry = CampaignContact(campaign_id=campaign.id, contact_id=contact.id)
        db.add(entry)
        db.flush()
        row.contact_id, row.campaign_contact_id = contact.id, entry.id
        db.flush()
        campaign_id, contact_id = campaign.id, contact.id
        started = row.started_at
    assert _ids(client, tenants, f"campaign_id={campaign_id}") == [waiting]
    assert _ids(client, tenants, f"contact_id={contact_id}") == [waiting]
    listed = client.get(f"/sessions?campaign_id={campaign_id}", headers=tenants.auth("acme")).get_json()["items"][0]
    assert listed["campaign_id"] == campaign_id and listed["contact_id"] == contact_id and "history" not in listed
    after = (started - timedelta(seconds=1)).isoformat()
    before = (started + timedelta(seconds=1)).isoformat()
    assert waiting in _ids(client, tenants, f"started_after={after.replace('+', '%2B')}")
    assert waiting not in _ids(client, tenants, f"started_before={after.replace('+', '%2B')}")
    assert waiting in _ids(client, tenants, f"started_before={before.replace('+', '%2B')}")
    future = (utcnow() + timedelta(days=1)).isoformat().replace("+", "%2B")
    assert _ids(client, tenants, f"started_after={future}") == []
    first = client.get("/sessions?per_page=1", headers=tenants.auth("acme")).get_json()
    assert len(first["items"]) == 1 and first["total"] >= 2 and first["next"] == 2
    second = client.get("/sessions?per_page=1&page=2", headers=tenants.auth("acme")).get_json()
    assert second["items"][0]["id"] != first["items"][0]["id"]


def test_bad_filters_are_400(client: FlaskClient, tenants: Tenants) -> None:
    auth = tenants.auth("acme")
    for query in ("status=asleep", "contact_id=x", "campaign_id=0", f"campaign_id={2**31}", "started_after=yesterday",
                  "started_before=2027-01-01T00:00:00", "page=0"):
        response = client.get(f"/sessions?{query}", headers=auth)
        assert response.status_code == 400, query
        assert error_code(response) == "bad_request"


def test_tenants_see_their_own_and_their_sub_accounts_sessions(client: FlaskClient, tenants: Tenants) -> None:
    ours_eu = _setup(client, tenants, "acme-eu")
    eu_session, _ = _start(client, tenants, "acme-eu", ours_eu)
    ours_globex = _setup(client, tenants, "globex")
    globex_session, _ = _start(client, tenants, "globex", ours_globex)
    assert eu_session in _ids(client, tenants, "", "acme")  # the master sees its sub-account's
    assert globex_session not in _ids(client, tenants, "", "acme")
    assert eu_session not in _ids(client, tenants, "", "globex")
    assert _ids(client, tenants, "", "globex") == [globex_session]
    assert client.get(f"/sessions/{eu_session}", headers=tenants.auth("acme")).status_code == 200
    for tenant, other in (("acme", globex_session), ("globex", eu_session), ("acme-eu", globex_session)):
        hidden = client.get(f"/sessions/{other}", headers=tenants.auth(tenant))
        assert hidden.status_code == 404 and error_code(hidden) == "not_found"
    assert client.get("/sessions/" + "0" * 32, headers=tenants.auth("acme")).status_code == 404
    assert client.get("/sessions/" + "x" * 500, headers=tenants.auth("acme")).status_code == 404


def test_roles(client: FlaskClient, tenants: Tenants) -> None:
    assert client.get("/sessions").status_code == 401
    assert client.get("/sessions", headers=tenants.auth("acme", "designer")).status_code == 403
    for role in ("admin", "operator", "supervisor"):
        assert client.get("/sessions", headers=tenants.auth("acme", role)).status_code == 200


