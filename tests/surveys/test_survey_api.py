"""SMS surveys through the HTTP API, on SQLite and PostgreSQL: an SMS campaign of a three-question
flow (a yes/no choice, a 1-5 rating, a free comment) run on the dev channel, answered by the
contacts through ``POST /dev/inbound``; the aggregate per question (counts per choice with
labels, the rating's count, average, min, max and distribution, each recipient counted once);
the export of every answer (UTF-8 with a byte-order mark, Arabic kept, formulas defused); tenant
isolation; and the same results for a voice campaign, read from its calls' stored states."""

from __future__ import annotations

import csv
import io
import uuid
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from tests.api.conftest import Tenants, app, client, tenants  # noqa: F401  (fixtures)
from tests.campaigns.messaging_world import MessagingWorld
from voiceplatform.models import Account, Call, Campaign, CampaignContact, FlowStatus, FlowVersion
from voiceplatform.models.base import utcnow

SENDER = "+12025559931"
SURVEY = """spec_version: 1
name: visit_survey
language: en
channels: [sms, whatsapp, voice]
start: satisfied
nodes:
  - id: satisfied
    type: gather
    text: Were you satisfied with your visit?
    choices:
      - {key: 1, label: "Yes"}
      - {key: 2, label: "No"}
    next: rating
  - id: rating
    type: gather
    text: How would you rate us, from 1 to 5?
    validate: "[1-5]"
    store: rating
    next: comment
  - id: comment
    type: gather
    text: Anything else you would like to tell us?
    store: comment
    next: thanks
  - id: thanks
    type: say
    text: Thank you!
"""
PHONES = ["+12025550931", "+12025550932", "+12025550933", "+12025550934"]
ARABIC = "الخدمة ممتازة، شكراً"
REPLIES = {  # what each contact typed, in order; the last one answers nothing
    PHONES[0]: ["1", "5", ARABIC],
    PHONES[1]: ["no", "4", "=HYPERLINK(\"https://evil.example\")"],
    PHONES[2]: ["Yes", "٣"],  # an Arabic-Indic 3: stored as 3
    PHONES[3]: [],
}


@pytest.fixture(scope="module")
def surveyed(app: Flask, tenants: Tenants) -> dict[str, Any]:  # noqa: F811
    """acme's SMS survey campaign, sent by a worker with no switch and answered by the contacts."""
    client = app.test_client()
    admin, operator = tenants.auth("acme"), tenants.auth("acme", "operator")
    flow = client.post("/flows", json={"yaml": SURVEY}, headers=admin).get_json()
    assert client.post(f"/flows/{flow['name']}/versions/{flow['version']}/publish", headers=admin).status_code == 200
    report = client.post("/contacts/import", headers=admin, content_type="multipart/form-data",
                         data={"file": (io.BytesIO(("phone\n" + "\n".join(PHONES) + "\n").encode()), "c.csv"),
                               "list": "survey"}).get_json()
    assert client.post("/numbers", json={"number": SENDER, "channels": ["dev"]}, headers=admin).status_code == 201
    with app.extensions["vp_sessions"].begin() as db:
        account = db.get(Account, tenants.ids["acme"])
        assert account is not None
        account.balance = Decimal("20")
    created = client.post("/campaigns", headers=operator, json={
        "name": "survey", "flow": {"name": "visit_survey"}, "contact_list_id": report["list_id"], "channel": "sms",
        "start": True, "settings": {"calls_per_second": 20, "window": {"start": "00:00", "end": "24:00"}, "sender": SENDER}})
    assert created.status_code == 201, created.get_json()
    campaign = created.get_json()
    MessagingWorld(app.extensions["vp_sessions"]).completed(campaign["id"])
    for phone, replies in REPLIES.items():
        for text in replies:
            routed = client.post("/dev/inbound", json={"from": phone, "to": SENDER, "text": text}, headers=operator)
            assert routed.status_code == 200 and routed.get_json()["outcome"] == "resumed", (phone, text, routed.get_json())
    return campaign


def _question(results: dict[str, Any], name: str) -> dict[str, Any]:
    return next(question for question in results["questions"] if question["name"] == name)


def test_the_aggregate_per_question(client: FlaskClient, tenants: Tenants, surveyed: dict[str, Any]) -> None:  # noqa: F811
    results = client.get(f"/campaigns/{surveyed['id']}/survey", headers=tenants.auth("acme", "supervisor")).get_json()
    assert (results["channel"], results["recipients"], results["respondents"]) == ("sms", 4, 3)
    assert [q["name"] for q in results["questions"]] == ["satisfied", "rating", "comment"]  # the flow's order
    satisfied = _question(results, "satisfied")
    assert satisfied["text"] == "Were you satisfied with your visit?" and satisfied["answered"] == 3
    assert satisfied["answers"] == [{"value": "1", "label": "Yes", "count": 2}, {"value": "2", "label": "No", "count": 1}]
    rating = _question(results, "rating")
    assert rating["numeric"] == {"count": 3, "average": 4.0, "min": 3, "max": 5, "distribution": {"3": 1, "4": 1, "5": 1}}
    comment = _question(results, "comment")
    assert comment["answered"] == 2 and comment["numeric"] is None and comment["other_values"] == 0
    assert {a["value"] for a in comment["answers"]} == {ARABIC, REPLIES[PHONES[1]][2]}


def test_the_export_has_every_answer_in_utf8_with_a_bom(client: FlaskClient, tenants: Tenants,  # noqa: F811
                                                        surveyed: dict[str, Any]) -> None:
    answer = client.get(f"/campaigns/{surveyed['id']}/survey/export", headers=tenants.auth("acme", "operator"))
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    body = answer.get_data()
    assert body.startswith("\ufeff".encode())
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
    assert list(rows[0]) == ["recipient", "phone", "question", "answer", "label", "input", "answered_at", "channel"]
    assert [(row["phone"], row["question"]) for row in rows] == [
        (PHONES[0], "satisfied"), (PHONES[0], "rating"), (PHONES[0], "comment"),
        (PHONES[1], "satisfied"), (PHONES[1], "rating"), (PHONES[1], "comment"),
        (PHONES[2], "satisfied"), (PHONES[2], "rating")]
    by = {(row["phone"], row["question"]): row for row in rows}
    assert by[(PHONES[0], "comment")]["answer"] == ARABIC and by[(PHONES[0], "comment")]["input"] == ARABIC
    assert (by[(PHONES[1], "satisfied")]["answer"], by[(PHONES[1], "satisfied")]["label"],
            by[(PHONES[1], "satisfied")]["input"]) == ("2", "No", "no")
    assert (by[(PHONES[2], "rating")]["answer"], by[(PHONES[2], "rating")]["input"]) == ("3", "٣")
    assert by[(PHONES[1], "comment")]["answer"].startswith("'=HYPERLINK")  # never run as a formula
    assert {row["channel"] for row in rows} == {"sms"} and all(row["answered_at"] and row["recipient"] for row in rows)


def test_survey_results_are_tenant_isolated(client: FlaskClient, tenants: Tenants, surveyed: dict[str, Any]) -> None:  # noqa: F811
    for path in (f"/campaigns/{surveyed['id']}/survey", f"/campaigns/{surveyed['id']}/survey/export"):
        assert client.get(path, headers=tenants.auth("globex", "operator")).status_code == 404
        assert client.get(path, headers=tenants.auth("acme-eu", "admin")).status_code == 404
        assert client.get(path, headers=tenants.auth("acme", "designer")).status_code == 403
        assert client.get(path).status_code == 401


def test_a_voice_campaign_has_survey_results_from_its_calls(app: Flask, client: FlaskClient, tenants: Tenants,  # noqa: F811
                                                            surveyed: dict[str, Any]) -> None:
    """A voice campaign's answers are in its calls' stored states (a call with no session row
    keeps its final state on the call); a retried call's answer replaces the first."""
    sessions = app.extensions["vp_sessions"]
    with sessions.begin() as db:
        version = db.scalars(select(FlowVersion).where(FlowVersion.account_id == tenants.ids["acme"],
                                                       FlowVersion.name == "visit_survey",
                                                       FlowVersion.status == FlowStatus.PUBLISHED)).first()
        entries = db.scalars(select(CampaignContact).where(CampaignContact.campaign_id == surveyed["id"])
                             .order_by(CampaignContact.id)).all()
        assert version is not None and len(entries) == 4
        campaign = Campaign(account_id=tenants.ids["acme"], name="by phone", flow_version_id=version.id, channel="voice")
        db.add(campaign)
        db.flush()
        voice_entries = [CampaignContact(campaign_id=campaign.id, contact_id=entry.contact_id) for entry in entries[:2]]
        db.add_all(voice_entries)
        db.flush()

        def call(entry: CampaignContact, rating: str, at: str) -> Call:
            results = {"rating": {"value": rating, "input": rating, "node": "rating", "channel": "voice", "at": at}}
            return Call(id=uuid.uuid4().hex, account_id=campaign.account_id, campaign_id=campaign.id,
                        campaign_contact_id=entry.id, contact_id=entry.contact_id, flow_name="visit_survey",
                        to="+12025550931", switch="lab", outcome="answered", answered_at=utcnow(), results={},
                        final_state={"results": results})

        db.add_all([call(voice_entries[0], "2", "2031-01-01T10:00:00+00:00"),
                    call(voice_entries[0], "4", "2031-01-02T10:00:00+00:00"),  # the retry: the latest answer
                    call(voice_entries[1], "5", "2031-01-01T11:00:00+00:00")])
        campaign_id = campaign.id
    results = client.get(f"/campaigns/{campaign_id}/survey", headers=tenants.auth("acme", "operator")).get_json()
    assert (results["channel"], results["recipients"], results["respondents"]) == ("voice", 2, 2)
    assert _question(results, "rating")["numeric"] == {"count": 2, "average": 4.5, "min": 4, "max": 5,
                                                        "distribution": {"4": 1, "5": 1}}
    assert _question(results, "satisfied")["answers"] == [{"value": "1", "label": "Yes", "count": 0},
                                                          {"value": "2", "label": "No", "count": 0}]
    exported = client.get(f"/campaigns/{campaign_id}/survey/export", headers=tenants.auth("acme", "operator"))
    rows = list(csv.DictReader(io.StringIO(exported.get_data().decode("utf-8-sig"))))
    assert [(row["answer"], row["channel"]) for row in rows] == [("2", "voice"), ("4", "voice"), ("5", "voice")]
