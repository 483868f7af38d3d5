"""Issue 10 row 1 (AMI injection) and row 12 (a 5,000-character caller_id): values bound for the
switch are refused at the API edge with a 4xx naming the field, on SQLite and PostgreSQL."""

from __future__ import annotations

import io
from decimal import Decimal
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from tests.api.conftest import Tenants
from voiceplatform.models import Account, Campaign

SURVEY = (Path(__file__).resolve().parents[2] / "ivr_flows" / "satisfaction_survey.yaml").read_text()
INJECTION = "+15551234567\r\n\r\nAction: Originate\r\nChannel: Local/s@default\r\nApplication: System\r\nData: touch /tmp/pwned\r\n"


@pytest.fixture(scope="module")
def published(app: Flask, tenants: Tenants) -> dict[str, object]:
    client = app.test_client()
    admin = tenants.auth("acme")
    flow = client.post("/flows", json={"yaml": SURVEY}, headers=admin).get_json()
    assert client.post(f"/flows/{flow['name']}/versions/{flow['version']}/publish", headers=admin).status_code == 200
    report = client.post("/contacts/import", headers=admin, content_type="multipart/form-data",
                         data={"file": (io.BytesIO(b"phone\n+12025550391\n"), "c.csv"), "list": "switch-values"}).get_json()
    with app.extensions["vp_sessions"].begin() as session:
        session.get(Account, tenants.ids["acme"]).balance = Decimal("50")
    return {"flow": {"name": flow["name"]}, "contact_list_id": report["list_id"]}


def campaign_count(app: Flask) -> int:
    with app.extensions["vp_sessions"]() as session:
        return int(session.scalar(select(func.count(Campaign.id))) or 0)


@pytest.mark.parametrize("caller_id, fragment", [
    (INJECTION, "carriage return"),
    ("+1555\nApplication: System", "line feed"),
    ("x" * 5000, "at most 80"),
    ('"Acme, Inc" <+15551234567>', "','"),
])
def test_post_calls_refuses_an_unsafe_caller_id(app: Flask, client: FlaskClient, tenants: Tenants,
                                                published: dict[str, object], caller_id: str, fragment: str) -> None:
    before = campaign_count(app)
    response = client.post("/calls", json={"to": "+12025550392", "flow": published["flow"], "caller_id": caller_id},
                           headers=tenants.auth("acme", "operator"))
    assert response.status_code == 400, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == "unsafe_value" and error["details"] == {"field": "caller_id"}
    assert fragment in error["message"] and len(error["message"]) < 300  # never the value echoed back
    assert campaign_count(app) == before  # nothing queued


def test_post_calls_accepts_and_normalises_a_proper_caller_id(app: Flask, client: FlaskClient, tenants: Tenants,
                                                              published: dict[str, object]) -> None:
    response = client.post("/calls", json={"to": "+12025550393", "flow": published["flow"],
                                           "caller_id": 'Acme Support <+15551234567>'},
                           headers=tenants.auth("acme", "operator"))
    assert response.status_code == 202, response.get_json()
    with app.extensions["vp_sessions"]() as session:
        campaign = session.get(Campaign, response.get_json()["campaign_id"])
        assert campaign.settings["caller_id"] == '"Acme Support" <+15551234567>'


@pytest.mark.parametrize("caller_id", [INJECTION, "x" * 5000])
def test_campaign_creation_refuses_an_unsafe_caller_id(app: Flask, client: FlaskClient, tenants: Tenants,
                                                       published: dict[str, object], caller_id: str) -> None:
    before = campaign_count(app)
    response = client.post("/campaigns", json={"name": "injected", **published, "settings": {"caller_id": caller_id}},
                           headers=tenants.auth("acme", "operator"))
    assert 400 <= response.status_code < 500, response.get_json()
    problems = response.get_json()["error"]["details"]["settings"]
    assert [p["field"] for p in problems] == ["caller_id"]
    assert len(response.get_data()) < 1000
    assert campaign_count(app) == before
