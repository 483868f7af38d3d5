"""Campaigns and single calls through the API, on SQLite and PostgreSQL: the life cycle and its
refusals, settings validation, scheduling, the estimate against the balance, stats, per-contact
state, resend, roles, idempotency, and tenant isolation for every campaign route."""

from __future__ import annotations

import io
import uuid
from decimal import Decimal
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from tests.api.conftest import Tenants, error_code
from voiceplatform.models import Account, Call, Campaign, CampaignContact, CampaignContactStatus, CampaignStatus

SURVEY = (Path(__file__).resolve().parents[2] / "ivr_flows" / "satisfaction_survey.yaml").read_text()


def set_balance(app: Flask, account_id: int, amount: str) -> None:
    with app.extensions["vp_sessions"].begin() as session:
        session.get(Account, account_id).balance = Decimal(amount)


@pytest.fixture(scope="module")
def survey(app: Flask, tenants: Tenants) -> dict[str, object]:
    """A published survey flow and a contact list of three numbers, for acme; acme has credit."""
    client = app.test_client()
    admin = tenants.auth("acme")
    flow = client.post("/flows", json={"yaml": SURVEY}, headers=admin).get_json()
    assert client.post(f"/flows/{flow['name']}/versions/{flow['version']}/publish", headers=admin).status_code == 200
    csv_text = "phone,first_name\n+12025550301,Ann\n+12025550302,Bob\n+12025550303,Cy\n"
    report = client.post("/contacts/import", headers=admin, content_type="multipart/form-data",
                         data={"file": (io.BytesIO(csv_text.encode()), "c.csv"), "list": "campaign-api"}).get_json()
    set_balance(app, tenants.ids["acme"], "50")
    return {"flow": {"name": flow["name"]}, "contact_list_id": report["list_id"]}


def create(client: FlaskClient, tenants: Tenants, survey: dict[str, object], **extra: object) -> dict:
    body = {"name": f"c-{uuid.uuid4().hex[:6]}", **survey, "settings": {"calls_per_second": 2, "max_concurrent": 3}, **extra}
    response = client.post("/campaigns", json=body, headers=tenants.auth("acme", "operator"))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_life_cycle_and_refused_moves(client: FlaskClient, tenants: Tenants, survey: dict[str, object]) -> None:
    operator = tenants.auth("acme", "operator")
    campaign = create(client, tenants, survey)
    assert campaign["status"] == "draft" and campaign["settings"]["max_concurrent"] == 3
    cid = campaign["id"]
    refused = client.post(f"/campaigns/{cid}/pause", headers=operator)
    assert refused.status_code == 409 and error_code(refused) == "invalid_state"
    for action, status in (("start", "running"), ("pause", "paused"), ("resume", "running"), ("cancel", "cancelled")):
        response = client.post(f"/campaigns/{cid}/{action}", headers=operator)
        assert response.status_code == 200 and response.get_json()["status"] == status, (action, response.get_json())
    assert client.post(f"/campaigns/{cid}/start", headers=operator).status_code == 409
    listed = client.get("/campaigns?status=cancelled", headers=operator).get_json()["items"]
    assert cid in [row["id"] for row in listed]
    assert client.get("/campaigns?status=nonsense", headers=operator).status_code == 400


@pytest.mark.parametrize("settings, field", [
    ({"calls_per_second": 0}, "calls_per_second"),
    ({"max_concurrent": "ten"}, "max_concurrent"),
    ({"window": {"start": "21:00", "end": "09:00"}}, "window"),
    ({"retries": {"answered": {"retries": 1}}}, "retries"),
    ({"surprise": 1}, "surprise"),
])
def test_bad_settings_get_400_naming_the_field(client: FlaskClient, tenants: Tenants, survey: dict[str, object],
                                                settings: dict, field: str) -> None:
    response = client.post("/campaigns", json={"name": "bad", **survey, "settings": settings},
                           headers=tenants.auth("acme", "operator"))
    assert response.status_code == 400 and error_code(response) == "invalid_settings"
    assert any(p["field"].startswith(field) for p in response.get_json()["error"]["details"]["settings"])


def test_bad_references_and_times(client: FlaskClient, tenants: Tenants, survey: dict[str, object]) -> None:
    operator = tenants.auth("acme", "operator")
    assert client.post("/campaigns", json={"name": "x", "flow": {"name": "nope"}, "contact_list_id": survey["contact_list_id"]},
                       headers=operator).status_code == 404
    assert client.post("/campaigns", json={"name": "x", "flow": survey["flow"], "contact_list_id": 999999},
                       headers=operator).status_code == 404
    naive = client.post("/campaigns", json={"name": "x", **survey, "scheduled_at": "2031-01-01T09:00:00"}, headers=operator)
    assert naive.status_code == 400 and naive.get_json()["error"]["details"]["field"] == "scheduled_at"
    both = client.post("/campaigns", json={"name": "x", **survey, "scheduled_at": "2031-01-01T09:00:00Z", "start": True},
                       headers=operator)
    assert both.status_code == 400


def test_scheduled_campaign_and_estimate(client: FlaskClient, tenants: Tenants, survey: dict[str, object]) -> None:
    campaign = create(client, tenants, survey, scheduled_at="2031-01-01T09:00:00+00:00",
                      settings={"expected_minutes": 2})
    assert campaign["status"] == "scheduled" and campaign["scheduled_at"].startswith("2031-01-01T09:00")
    estimate = client.get(f"/campaigns/{campaign['id']}/estimate", headers=tenants.auth("acme", "supervisor")).get_json()
    assert estimate["contacts"] == 3 and Decimal(estimate["estimated_cost"]) == Decimal("0.02") * 2 * 3
    assert estimate["sufficient"] is True and Decimal(estimate["balance"]) == Decimal("50")


def test_starting_without_credit_is_refused(app: Flask, client: FlaskClient, tenants: Tenants,
                                            survey: dict[str, object]) -> None:
    campaign = create(client, tenants, survey)
    set_balance(app, tenants.ids["acme"], "0")
    try:
        refused = client.post(f"/campaigns/{campaign['id']}/start", headers=tenants.auth("acme", "operator"))
        assert refused.status_code == 402 and error_code(refused) == "insufficient_credit"
        call = client.post("/calls", json={"to": "+12025550309", "flow": survey["flow"]}, headers=tenants.auth("acme", "operator"))
        assert call.status_code == 402
    finally:
        set_balance(app, tenants.ids["acme"], "50")


def test_stats_contacts_and_resend(app: Flask, client: FlaskClient, tenants: Tenants, survey: dict[str, object]) -> None:
    operator = tenants.auth("acme", "operator")
    campaign = create(client, tenants, survey, start=True)
    cid = campaign["id"]
    from voiceplatform.campaigns.fanout import fan_out
    from voiceplatform.models.base import utcnow

    sessions = app.extensions["vp_sessions"]
    fan_out(sessions, cid, utcnow())
    with sessions.begin() as session:  # as the dialler would leave it: one reached, two not
        session.get(Campaign, cid).fanned_out_at = utcnow()
        rows = session.scalars(select(CampaignContact).where(CampaignContact.campaign_id == cid).order_by(CampaignContact.id)).all()
        for row, outcome in zip(rows, ["answered", "busy", "no-answer"]):
            row.status, row.attempts, row.last_outcome, row.final_at = CampaignContactStatus.DONE, 1, outcome, utcnow()
            row.last_call_id = uuid.uuid4().hex
            session.add(Call(id=row.last_call_id, account_id=tenants.ids["acme"], campaign_id=cid, campaign_contact_id=row.id,
                             flow_name="satisfaction_survey", to="+1", switch="asterisk", outcome=outcome,
                             queued_at=utcnow(), dialling_at=utcnow()))
        from voiceplatform.campaigns import lifecycle

        lifecycle.complete_if_done(session, session.get(Campaign, cid), utcnow())
    stats = client.get(f"/campaigns/{cid}/stats", headers=tenants.auth("acme", "supervisor")).get_json()
    assert (stats["status"], stats["contacts"], stats["final"], stats["percent"]) == ("completed", 3, 3, 100.0)
    assert stats["outcomes"] == {"answered": 1, "busy": 1, "no-answer": 1} and stats["calls"] == 3
    listed = client.get(f"/campaigns/{cid}/contacts?status=done", headers=operator).get_json()
    assert listed["total"] == 3 and {row["last_outcome"] for row in listed["items"]} == {"answered", "busy", "no-answer"}
    resent = client.post(f"/campaigns/{cid}/resend", headers=operator)
    assert resent.status_code == 200 and resent.get_json()["status"] == "running"
    assert resent.get_json()["contacts_to_dial"] == 2  # the answered contact is not called again
    detail = client.get(f"/campaigns/{cid}", headers=operator).get_json()
    assert detail["progress"]["by_status"]["pending"] == 2


def test_single_call_is_queued_with_its_id(app: Flask, client: FlaskClient, tenants: Tenants,
                                           survey: dict[str, object]) -> None:
    operator = tenants.auth("acme", "operator")
    headers = {**operator, "Idempotency-Key": uuid.uuid4().hex}
    body = {"to": "(202) 555-0321", "flow": survey["flow"], "contact": {"first_name": "Dee"}}
    response = client.post("/calls", json=body, headers=headers)
    assert response.status_code == 202, response.get_json()
    call = response.get_json()
    assert call["status"] == "queued" and call["to"] == "+12025550321"
    replay = client.post("/calls", json=body, headers=headers)
    assert replay.get_json()["id"] == call["id"] and replay.headers.get("Idempotent-Replayed") == "true"
    detail = client.get(f"/calls/{call['id']}", headers=operator).get_json()
    assert detail["outcome"] is None and detail["flow"] == "satisfaction_survey"
    with app.extensions["vp_sessions"]() as session:
        campaign = session.get(Campaign, call["campaign_id"])
        assert (campaign.kind, campaign.status) == ("single", CampaignStatus.RUNNING)
        (entry,) = session.scalars(select(CampaignContact).where(CampaignContact.campaign_id == campaign.id)).all()
        assert entry.last_call_id == call["id"] and entry.status == CampaignContactStatus.PENDING
    assert call["campaign_id"] not in [row["id"] for row in client.get("/campaigns?per_page=500", headers=operator).get_json()["items"]]
    assert client.get(f"/campaigns/{call['campaign_id']}", headers=operator).status_code == 404  # not a campaign to manage


def test_single_call_refusals(client: FlaskClient, tenants: Tenants, survey: dict[str, object]) -> None:
    operator = tenants.auth("acme", "operator")
    client.post("/dnc", json={"phone": "+12025550399"}, headers=operator)
    blocked = client.post("/calls", json={"to": "+12025550399", "flow": survey["flow"]}, headers=operator)
    assert blocked.status_code == 409 and error_code(blocked) == "do_not_call"
    assert error_code(client.post("/calls", json={"to": "not a number", "flow": survey["flow"]}, headers=operator)) == "invalid_phone"
    assert client.post("/calls", json={"to": "+12025550398"}, headers=operator).status_code == 400
    assert client.post("/calls", json={"to": "+12025550398", "flow": survey["flow"], "ring_seconds": 500},
                       headers=operator).status_code == 400
    assert client.post("/calls", json={"to": "+12025550398", "flow": survey["flow"]},
                       headers=tenants.auth("acme", "supervisor")).status_code == 403


def test_roles_on_campaign_routes(client: FlaskClient, tenants: Tenants, survey: dict[str, object]) -> None:
    campaign = create(client, tenants, survey)
    supervisor, designer = tenants.auth("acme", "supervisor"), tenants.auth("acme", "designer")
    assert client.get(f"/campaigns/{campaign['id']}/stats", headers=supervisor).status_code == 200
    assert client.post(f"/campaigns/{campaign['id']}/start", headers=supervisor).status_code == 403
    assert client.post("/campaigns", json={"name": "x", **survey}, headers=designer).status_code == 403
    assert client.get("/campaigns", headers=designer).status_code == 403


def test_tenants_never_reach_each_others_campaigns(client: FlaskClient, tenants: Tenants, survey: dict[str, object]) -> None:
    campaign = create(client, tenants, survey)
    cid = campaign["id"]
    globex, eu, acme = tenants.auth("globex"), tenants.auth("acme-eu"), tenants.auth("acme")
    for other in (globex, eu):  # another tenant, and a sub-account looking up at its master
        for path in ("", "/stats", "/estimate", "/contacts"):
            assert client.get(f"/campaigns/{cid}{path}", headers=other).status_code == 404, path
        for action in ("start", "pause", "resume", "cancel", "resend"):
            assert client.post(f"/campaigns/{cid}/{action}", headers=other).status_code == 404, action
        assert cid not in [row["id"] for row in client.get("/campaigns?per_page=500", headers=other).get_json()["items"]]
    # nor can they use acme's flow or contact list in their own campaigns and calls
    stolen = client.post("/campaigns", json={"name": "x", **survey}, headers=globex)
    assert stolen.status_code == 404
    assert client.post("/calls", json={"to": "+12025550331", "flow": survey["flow"]}, headers=globex).status_code == 404
    assert client.get(f"/campaigns/{cid}", headers=acme).status_code == 200
