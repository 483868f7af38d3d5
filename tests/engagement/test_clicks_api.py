"""Click-tracked links in a real SMS campaign on the dev channel, through the HTTP API, on SQLite
and PostgreSQL: each recipient's message carries their own links (counted in the parts
estimate), a click through the Flask client is recorded and redirected to the campaign's URL,
a forged, unknown or expired link goes to the neutral page and is not counted, ``HEAD`` is not
a click; the summary's clicks, unique clickers and click-through rate; the per-recipient export;
tenant isolation; a campaign's hostile URLs refused with a 400."""

from __future__ import annotations

import csv
import io
import re
import uuid
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from tests.api.conftest import Tenants, app, client, error_code, tenants  # noqa: F401  (fixtures)
from tests.campaigns.messaging_world import MessagingWorld
from voiceplatform.flow.short_links import PUBLIC_URL_ENV, token
from voiceplatform.models import Account, FlowSession
from voiceplatform.models.engagement import EngagementEvent

PUBLIC = "https://go.example.sa"
OFFER = "https://shop.example.com/offer?utm_source=sms"
TERMS = "https://shop.example.com/terms"
SENDER = "+12025559921"
FLOW = """spec_version: 1
name: offer_sms
language: en
channels: [sms, whatsapp]
start: offer
nodes:
  - id: offer
    type: say
    text: "Hello {{ contact.first_name }}, our November offer is ready for you: 20% off every plan this week. See {{ track_link() }} (terms: {{ track_link('terms') }})"
"""
LINK = re.compile(re.escape(PUBLIC) + r"/l/([0-9A-Za-z]+(?:-[A-Za-z0-9_]+)?)")
PHONES = ["+12025550901", "+12025550902", "+12025550903"]
UA = "Mozilla/5.0 (Linux; Android 14) Mobile"


@pytest.fixture(scope="module", autouse=True)
def public_url() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(PUBLIC_URL_ENV, PUBLIC)
        yield


@pytest.fixture(scope="module")
def ran(app: Flask, tenants: Tenants) -> dict[str, Any]:  # noqa: F811
    """acme's SMS campaign of the offer flow, run by a worker with no switch; each phone's links."""
    client = app.test_client()
    admin, operator = tenants.auth("acme"), tenants.auth("acme", "operator")
    flow = client.post("/flows", json={"yaml": FLOW}, headers=admin).get_json()
    assert client.post(f"/flows/{flow['name']}/versions/{flow['version']}/publish", headers=admin).status_code == 200
    csv_text = "phone,first_name\n" + "".join(f"{phone},Customer{i}\n" for i, phone in enumerate(PHONES))
    report = client.post("/contacts/import", headers=admin, content_type="multipart/form-data",
                         data={"file": (io.BytesIO(csv_text.encode()), "c.csv"), "list": "offer"}).get_json()
    assert client.post("/numbers", json={"number": SENDER, "channels": ["dev"]}, headers=admin).status_code == 201
    with app.extensions["vp_sessions"].begin() as db:
        account = db.get(Account, tenants.ids["acme"])
        assert account is not None
        account.balance = Decimal("20")
    body = {"name": "offer", "flow": {"name": "offer_sms"}, "contact_list_id": report["list_id"], "channel": "sms",
            "settings": {"calls_per_second": 20, "window": {"start": "00:00", "end": "24:00"}, "sender": SENDER,
                         "redirect_url": OFFER, "links": {"terms": TERMS}}}
    created = client.post("/campaigns", json=body, headers=operator)
    assert created.status_code == 201, created.get_json()
    campaign = created.get_json()
    estimate = client.get(f"/campaigns/{campaign['id']}/estimate", headers=operator).get_json()
    assert client.post(f"/campaigns/{campaign['id']}/start", headers=operator).status_code == 200
    MessagingWorld(app.extensions["vp_sessions"]).completed(campaign["id"])
    sent = client.get("/dev/outbox?per_page=500", headers=operator).get_json()["items"]
    mine = {message["to"]: message for message in sent if message["to"] in PHONES}
    return {"campaign": campaign, "estimate": estimate, "sent": mine,
            "links": {phone: LINK.findall(message["text"]) for phone, message in mine.items()}}


def _click(client: FlaskClient, path: str, method: str = "GET", address: str = "203.0.113.77") -> Any:  # noqa: F811
    return client.open(path, method=method, headers={"User-Agent": UA}, environ_base={"REMOTE_ADDR": address})


def test_every_recipient_gets_their_own_links_and_the_estimate_counts_them(
        client: FlaskClient, tenants: Tenants, ran: dict[str, Any]) -> None:  # noqa: F811
    links = ran["links"]
    assert sorted(links) == sorted(PHONES)
    for phone, (plain, named) in links.items():
        session_id = ran["sent"][phone]["session_id"]
        assert (plain, named) == (token(session_id), token(session_id, "terms"))
    assert len({plain for plain, _ in links.values()}) == 3  # one per recipient
    stats = client.get(f"/campaigns/{ran['campaign']['id']}/stats", headers=tenants.auth("acme", "operator")).get_json()
    assert stats["parts"] == 6  # the links take each message past 160 characters: two parts each
    assert ran["estimate"]["parts_per_contact"] == 2.0  # measured with links of the real length


def test_a_click_is_recorded_and_redirected_to_the_campaigns_url(app: Flask, client: FlaskClient,  # noqa: F811
                                                                 ran: dict[str, Any]) -> None:
    plain, named = ran["links"][PHONES[0]]
    answer = _click(client, f"/l/{plain}")
    assert answer.status_code == 302 and answer.headers["Location"] == OFFER
    assert answer.headers["Cache-Control"] == "no-store" and answer.headers["Referrer-Policy"] == "no-referrer"
    terms = _click(client, f"/l/{named}", address="2001:db8:7:1::99")
    assert terms.status_code == 302 and terms.headers["Location"] == TERMS
    previewed = _click(client, f"/l/{plain}", method="HEAD")  # a link preview: the same answer, no click
    assert previewed.status_code == 302 and previewed.headers["Location"] == OFFER
    with app.extensions["vp_sessions"]() as db:
        rows = db.scalars(select(EngagementEvent).where(EngagementEvent.campaign_id == ran["campaign"]["id"])
                          .order_by(EngagementEvent.id)).all()
        session = db.get(FlowSession, ran["sent"][PHONES[0]]["session_id"])
        assert session is not None
        assert [(r.kind, r.channel, r.link, r.network, r.user_agent) for r in rows] == [
            ("click", "sms", "", "203.0.113.0/24", UA), ("click", "sms", "terms", "2001:db8:7::/48", UA)]
        assert {(r.contact_id, r.campaign_contact_id, r.session_id, r.account_id) for r in rows} == {
            (session.contact_id, session.campaign_contact_id, session.id, session.account_id)}


@pytest.mark.parametrize("path", [
    f"/l/{token(uuid.uuid4().hex)}",  # well formed, but no session has it (forged)
    f"/l/{token('estimate')}",  # a stand-in's link
    "/l/not-a-token", "/l/" + "z" * 22, "/l/%0d%0aSet-Cookie:%20a=b", "/l/" + "A" * 5000,
])
def test_an_unknown_or_forged_link_goes_to_the_neutral_page_and_counts_nothing(
        app: Flask, client: FlaskClient, ran: dict[str, Any], path: str) -> None:  # noqa: F811
    with app.extensions["vp_sessions"]() as db:
        before = len(db.scalars(select(EngagementEvent.id)).all())
    answer = _click(client, path)
    assert answer.status_code == 302 and answer.headers["Location"] == "/l/"
    with app.extensions["vp_sessions"]() as db:
        assert len(db.scalars(select(EngagementEvent.id)).all()) == before


def test_the_neutral_page_is_content_neutral(client: FlaskClient) -> None:  # noqa: F811
    page = client.get("/l/")
    assert page.status_code == 200 and page.mimetype == "text/html" and "Thank you" in page.get_data(as_text=True)


def test_an_expired_link_goes_to_the_neutral_page(app: Flask, client: FlaskClient, ran: dict[str, Any]) -> None:  # noqa: F811
    phone = PHONES[2]
    sessions = app.extensions["vp_sessions"]
    with sessions.begin() as db:
        session = db.get(FlowSession, ran["sent"][phone]["session_id"])
        assert session is not None
        started, session.started_at = session.started_at, session.started_at - timedelta(days=91)  # link_days: 90
    try:
        answer = _click(client, f"/l/{ran['links'][phone][0]}")
        assert answer.status_code == 302 and answer.headers["Location"] == "/l/"
        with sessions() as db:
            assert db.scalars(select(EngagementEvent).where(EngagementEvent.session_id == session.id)).all() == []
    finally:
        with sessions.begin() as db:
            restored = db.get(FlowSession, ran["sent"][phone]["session_id"])
            assert restored is not None
            restored.started_at = started


def test_the_summary_counts_clicks_clickers_and_the_click_through_rate(
        client: FlaskClient, tenants: Tenants, ran: dict[str, Any]) -> None:  # noqa: F811
    operator, campaign_id = tenants.auth("acme", "operator"), ran["campaign"]["id"]
    before = client.get(f"/campaigns/{campaign_id}/clicks", headers=operator).get_json()
    _click(client, f"/l/{ran['links'][PHONES[1]][0]}")
    _click(client, f"/l/{ran['links'][PHONES[1]][0]}")  # the same recipient again: a click, not a clicker
    summary = client.get(f"/campaigns/{campaign_id}/clicks", headers=tenants.auth("acme", "supervisor")).get_json()
    assert summary["clicks"] == before["clicks"] + 2
    assert (summary["unique_clickers"], summary["recipients_reached"]) == (2, 3)
    assert summary["click_through_rate"] == round(2 / 3, 4)
    assert {row["link"]: (row["clicks"], row["unique_clickers"]) for row in summary["by_link"]} == {
        None: (summary["clicks"] - 1, 2), "terms": (1, 1)}
    assert summary["first_click_at"] <= summary["last_click_at"]
    assert client.get(f"/campaigns/{campaign_id}/stats", headers=operator).get_json()["clicks"] == summary
    undelivered = client.post("/dev/receipts", json={"message_id": ran["sent"][PHONES[2]]["id"], "status": "undelivered"},
                              headers=operator)
    assert undelivered.status_code == 200
    after = client.get(f"/campaigns/{campaign_id}/clicks", headers=operator).get_json()
    assert (after["recipients_reached"], after["click_through_rate"]) == (2, 1.0)  # reached: sent or delivered


def test_the_export_has_one_row_per_recipient(client: FlaskClient, tenants: Tenants, ran: dict[str, Any]) -> None:  # noqa: F811
    operator, campaign_id = tenants.auth("acme", "operator"), ran["campaign"]["id"]
    summary = client.get(f"/campaigns/{campaign_id}/clicks", headers=operator).get_json()
    answer = client.get(f"/campaigns/{campaign_id}/clicks/export", headers=operator)
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    assert "attachment" in answer.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(answer.get_data(as_text=True))))
    assert [row["phone"] for row in rows] == PHONES
    assert list(rows[0]) == ["recipient", "phone", "sent_at", "clicks", "first_click_at", "last_click_at"]
    assert sum(int(row["clicks"]) for row in rows) == summary["clicks"]
    assert all(row["sent_at"] and row["recipient"].isdigit() for row in rows[:2])
    assert int(rows[0]["clicks"]) >= 2 and rows[0]["first_click_at"] < rows[0]["last_click_at"]
    assert (rows[2]["clicks"], rows[2]["first_click_at"]) == ("0", "")


def test_clicks_are_tenant_isolated(client: FlaskClient, tenants: Tenants, ran: dict[str, Any]) -> None:  # noqa: F811
    campaign_id = ran["campaign"]["id"]
    for path in (f"/campaigns/{campaign_id}/clicks", f"/campaigns/{campaign_id}/clicks/export"):
        assert client.get(path, headers=tenants.auth("globex", "operator")).status_code == 404
        assert client.get(path, headers=tenants.auth("acme-eu", "admin")).status_code == 404  # a sub-account
        assert client.get(path).status_code == 401
    assert client.get("/campaigns/2147483647/clicks", headers=tenants.auth("acme")).status_code == 404


@pytest.mark.parametrize("settings, field", [
    ({"redirect_url": "javascript:alert(1)"}, "redirect_url"),
    ({"redirect_url": "data:text/html,<script>alert(1)</script>"}, "redirect_url"),
    ({"redirect_url": "https://example.com/\r\nLocation: https://evil.example"}, "redirect_url"),
    ({"redirect_url": "https://bank.example@evil.example"}, "redirect_url"),
    ({"redirect_url": 7}, "redirect_url"),
    ({"links": {"terms": "//evil.example"}}, "links"),
    ({"links": {"bad name": "https://example.com"}}, "links"),
    ({"links": "https://example.com"}, "links"),
    ({"link_days": 0}, "link_days"),
])
def test_a_hostile_url_in_the_settings_is_a_400(client: FlaskClient, tenants: Tenants, ran: dict[str, Any],  # noqa: F811
                                                settings: dict[str, Any], field: str) -> None:
    body = {"name": "hostile", "flow": {"name": "offer_sms"}, "contact_list_id": ran["campaign"]["contact_list_id"],
            "channel": "sms", "settings": settings}
    answer = client.post("/campaigns", json=body, headers=tenants.auth("acme", "operator"))
    assert answer.status_code == 400 and error_code(answer) == "invalid_settings", answer.get_json()
    assert [problem["field"].split(".")[0] for problem in answer.get_json()["error"]["details"]["settings"]] == [field]
