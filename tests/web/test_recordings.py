"""The recordings list (filters, search, tenants, CSV), a recording's page, QA reviews and the
audit log page (SQLite and PostgreSQL)."""

from __future__ import annotations

import csv
import io
import re

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from tests.web.conftest import csrf_of, sign_in
from tests.web.seed import Seeded
from voiceplatform.models import AuditEvent, QaReview, Recording


def listed(client: FlaskClient, query: str = "") -> list[int]:
    response = client.get(f"/recordings{query}")
    assert response.status_code == 200, response.data
    return [int(found) for found in re.findall(r'<tr data-recording="(\d+)"', response.get_data(as_text=True))]


def test_a_supervisor_sees_the_account_and_its_sub_accounts(seeded: Seeded, supervisor: FlaskClient, app: Flask) -> None:
    ids = set(listed(supervisor))
    assert {seeded.recordings["acme-survey"], seeded.recordings["acme-eu-survey"]} <= ids
    assert seeded.recordings["globex-survey"] not in ids
    eu = sign_in(app.test_client(), "acme-eu", "supervisor")
    assert listed(eu) == [seeded.recordings["acme-eu-survey"]]
    globex = sign_in(app.test_client(), "globex", "admin")
    assert listed(globex) == [seeded.recordings["globex-survey"]]
    assert listed(globex, "?q=rude") == []


def test_filters_and_search(seeded: Seeded, supervisor: FlaskClient) -> None:
    r = seeded.recordings
    assert listed(supervisor, "?flow=payment_reminder") == [r["acme-payment"]]
    assert listed(supervisor, "?outcome=machine") == [r["acme-payment"]]
    assert listed(supervisor, "?q=rude") == [r["acme-survey"]]
    assert listed(supervisor, "?number=%2B442071234567") == [r["acme-eu-survey"]]
    assert r["acme-payment"] not in listed(supervisor, "?min_duration=2")
    assert listed(supervisor, "?max_duration=1.6") == [r["acme-payment"]]
    assert listed(supervisor, "?flow=satisfaction_survey&q=rude&outcome=answered") == [r["acme-survey"]]
    assert r["acme-deleted"] not in listed(supervisor, "?since=" + _days_ago(10))
    assert r["acme-deleted"] in listed(supervisor, "?until=" + _days_ago(99))
    assert listed(supervisor, "?until=" + _days_ago(99)) == [r["acme-deleted"]]


def test_bad_filter_values_are_reported_not_fatal(supervisor: FlaskClient) -> None:
    response = supervisor.get("/recordings?since=yesterday&min_duration=long&sort=sideways&page=x")
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and 'id="recordings"' in html  # the list is still shown, without them
    assert "since: &#39;yesterday&#39; is not a date" in html and "min_duration" in html and "sort:" in html


def test_sort_and_pages(seeded: Seeded, supervisor: FlaskClient) -> None:
    everything = listed(supervisor, "?per_page=200")
    first, second = listed(supervisor, "?per_page=2"), listed(supervisor, "?per_page=2&page=2")
    assert len(first) == 2 and first + second == everything[:4]
    by_length = listed(supervisor, "?sort=duration&per_page=200")
    assert by_length != everything and by_length.index(seeded.recordings["acme-payment"]) < by_length.index(
        seeded.recordings["acme-survey"])
    html = supervisor.get("/recordings?per_page=2&flow=satisfaction_survey").get_data(as_text=True)
    assert 'rel="next"' in html and "flow=satisfaction_survey" in html.split('rel="next"')[1].split(">")[0]


def test_the_recording_page(seeded: Seeded, supervisor: FlaskClient) -> None:
    html = supervisor.get(f"/recordings/{seeded.recordings['acme-survey']}").get_data(as_text=True)
    assert '<audio id="player"' in html and 'preload="none"' in html and '<canvas id="waveform"' in html
    assert 'data-start="0.0"' in html and ">rude<" in html  # transcript lines with their times
    assert "+12025550101" in html and "answered" in html and "16 Normal Clearing" in html and "HUMAN" in html
    assert "<li>comment_low</li>" in html  # the nodes
    # the conversation: tests/web/test_call_path.py (from session rows; a call without them, as stored)
    assert 'id="score_greeting"' in html and 'name="csrf_token"' in html
    assert re.search(r'<script type="application/json" id="peaks">\[0\.0, ', html)


def test_saving_a_review_updates_the_list_and_the_audit_log(app: Flask, seeded: Seeded, supervisor: FlaskClient) -> None:
    recording = seeded.recordings["acme-survey"]
    form = {"score_greeting": "4", "score_courtesy": "2", "tags": "Rude, follow-up, rude", "notes": "=HYPERLINK(x)",
            "status": "flagged"}
    assert supervisor.post(f"/recordings/{recording}/qa", data=form).status_code == 400  # no CSRF token
    response = supervisor.post(f"/recordings/{recording}/qa", data={**form, "csrf_token": csrf_of(supervisor)})
    assert response.status_code == 302
    page = supervisor.get(response.headers["Location"]).get_data(as_text=True)
    assert "Review saved." in page and 'value="rude, follow-up"' in page
    with app.extensions["vp_sessions"]() as session:
        review = session.scalars(select(QaReview).where(QaReview.recording_id == recording)).one()
        assert (review.scores, review.tags, review.status) == ({"greeting": 4, "courtesy": 2}, ["rude", "follow-up"], "flagged")
        assert session.get(Recording, recording).qa_status == "flagged"
        event = session.scalars(select(AuditEvent).where(AuditEvent.recording_id == recording,
                                                         AuditEvent.action == "qa.update")).one()
        assert event.details["before"] is None and event.details["after"]["status"] == "flagged"
    assert listed(supervisor, "?qa_status=flagged") == [recording]
    assert listed(supervisor, "?tag=follow-up") == [recording]
    row = supervisor.get("/recordings?qa_status=flagged").get_data(as_text=True)
    assert '<span class="badge flagged">flagged</span>' in row and '<span class="tag">rude</span>' in row
    # saving the same again changes nothing and writes nothing; a change writes before and after
    supervisor.post(f"/recordings/{recording}/qa", data={**form, "tags": "rude, follow-up", "csrf_token": csrf_of(supervisor)})
    supervisor.post(f"/recordings/{recording}/qa", data={**form, "status": "reviewed", "csrf_token": csrf_of(supervisor)})
    with app.extensions["vp_sessions"]() as session:
        events = session.scalars(select(AuditEvent).where(AuditEvent.recording_id == recording,
                                                          AuditEvent.action == "qa.update").order_by(AuditEvent.id)).all()
        assert [e.details["changed"] for e in events] == [["notes", "scores", "status", "tags"], ["status"]]
        assert events[1].details["before"]["status"] == "flagged"


def test_a_bad_review_is_not_saved(app: Flask, seeded: Seeded, supervisor: FlaskClient) -> None:
    recording = seeded.recordings["acme-payment"]
    response = supervisor.post(f"/recordings/{recording}/qa", data={
        "score_greeting": "9", "score_accuracy": "x", "status": "excellent", "csrf_token": csrf_of(supervisor)})
    page = supervisor.get(response.headers["Location"]).get_data(as_text=True)
    assert "the score goes from 0 to 5" in page and "is not a whole number" in page and "choose a status" in page
    with app.extensions["vp_sessions"]() as session:
        assert session.scalars(select(QaReview).where(QaReview.recording_id == recording)).first() is None


def test_another_tenants_review_cannot_be_written(app: Flask, seeded: Seeded, supervisor: FlaskClient) -> None:
    globex = seeded.recordings["globex-survey"]
    response = supervisor.post(f"/recordings/{globex}/qa", data={"status": "flagged", "csrf_token": csrf_of(supervisor)})
    assert response.status_code == 404
    with app.extensions["vp_sessions"]() as session:
        assert session.get(Recording, globex).qa_status == "unreviewed"


def test_csv_export_has_the_filtered_list_with_its_reviews(app: Flask, seeded: Seeded) -> None:
    client = sign_in(app.test_client(), "acme", "admin")
    recording = seeded.recordings["acme-eu-survey"]
    client.post(f"/recordings/{recording}/qa", data={"score_accuracy": "5", "tags": "good", "notes": "@SUM(1)",
                                                    "status": "reviewed", "csrf_token": csrf_of(client)})
    response = client.get("/recordings.csv?flow=satisfaction_survey&sort=to")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == 'attachment; filename="recordings.csv"'
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    ids = [int(row["recording_id"]) for row in rows]
    assert recording in ids and seeded.recordings["globex-survey"] not in ids and seeded.recordings["acme-payment"] not in ids
    assert [row["to"] for row in rows] == sorted(row["to"] for row in rows)
    mine = next(row for row in rows if int(row["recording_id"]) == recording)
    assert (mine["qa_status"], mine["tags"], mine["score_accuracy"], mine["reviewer"]) == ("reviewed", "good", "5", "admin@acme.test")
    assert mine["notes"] == "'@SUM(1)" and mine["to"] == "+442071234567" and mine["scores"] == "accuracy=5"
    assert mine["flow"] == "satisfaction_survey" and mine["audio_deleted"] == "no"
    with app.extensions["vp_sessions"]() as session:
        assert session.scalars(select(AuditEvent).where(AuditEvent.action == "export")).first() is not None


def test_the_audit_log_is_for_admins_of_the_account(app: Flask, seeded: Seeded) -> None:
    listener = sign_in(app.test_client(), "acme", "supervisor")
    html = listener.get(f"/recordings/{seeded.recordings['acme-survey']}").get_data(as_text=True)
    download = re.search(r'<a id="download" href="([^"]+)"', html).group(1).replace("&amp;", "&")  # type: ignore[union-attr]
    listener.get(download)
    admin = sign_in(app.test_client(), "acme", "admin")
    page = admin.get("/audit?action=download").get_data(as_text=True)
    assert "supervisor@acme.test" in page and f">{seeded.recordings['acme-survey']}</a>" in page
    assert "<td>login</td>" not in page  # filtered by action
    assert "supervisor@acme.test" in admin.get("/audit?user=SUPERVISOR@acme").get_data(as_text=True)
    assert "No events." in admin.get("/audit?user=nobody").get_data(as_text=True)
    assert "No events." in admin.get("/audit?until=2000-01-01").get_data(as_text=True)
    assert "not a date" in admin.get("/audit?since=soon").get_data(as_text=True)
    globex_admin = sign_in(app.test_client(), "globex", "admin")
    assert "supervisor@acme.test" not in globex_admin.get("/audit").get_data(as_text=True)
    assert listener.get("/audit").status_code == 403


def _days_ago(days: int) -> str:
    from datetime import datetime, timedelta, timezone

    return (datetime.now(timezone.utc) - timedelta(days=days)).date().isoformat()
