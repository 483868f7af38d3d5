"""Numbers from outside that used to crash a page (issue 10, row 10): ids past 64 bits, days past
9999-12-31, digits of other scripts and 5,000-digit values in the query strings of /recordings,
/recordings.csv and /audit, and in a Range header, are 400 (or 416 for a range), never 500."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.web.conftest import csrf_of, media_links, sign_in
from tests.web.seed import Seeded
from voiceplatform.limits import current
from voiceplatform.web.query_values import MAX_ID, database_id, day_start, whole_number
from voiceplatform.web.ranges import NotSatisfiable, parse_range

HUGE = "99999999999999999999999"
BAD_NUMBERS = [HUGE, str(MAX_ID + 1), "9" * 5000, "²", "١٢", "1e3", "--1", "0x10"]


@pytest.fixture
def admin(app: Flask, seeded: Seeded) -> FlaskClient:
    return sign_in(app.test_client(), "acme", "admin")


@pytest.mark.parametrize("query, named", [
    *[(f"campaign={value}", "campaign") for value in BAD_NUMBERS],
    (f"page={HUGE}", "page"), ("page=" + "9" * 5000, "page"), ("page=0", "page"), ("page=²", "page"),
    (f"per_page={HUGE}", "per_page"), ("per_page=-1", "per_page"),
    ("until=9999-12-31", "until"), ("since=10000-01-01", "since"), ("since=" + "9" * 5000, "since"),
    ("min_duration=1e400", "min_duration"), ("max_duration=nan", "max_duration"), ("min_duration=" + "9" * 5000, "min_duration"),
])
def test_the_recordings_list_answers_400_and_says_why(admin: FlaskClient, query: str, named: str) -> None:
    for path in ("/recordings", "/recordings.csv"):
        response = admin.get(f"{path}?{query}")
        assert response.status_code == 400, (path, query, response.status_code)
        assert response.mimetype == "text/html" and f"{named}: " in response.get_data(as_text=True)


def test_the_largest_values_that_make_sense_still_work(admin: FlaskClient) -> None:
    assert admin.get(f"/recordings?campaign={MAX_ID}&since=9999-12-31&page=1000000&per_page=200").status_code == 200
    assert admin.get(f"/audit?recording={MAX_ID}&since=9999-12-31&until=9999-12-30&page=1000000").status_code == 200


@pytest.mark.parametrize("query, named", [
    *[(f"recording={value}", "recording") for value in BAD_NUMBERS],
    (f"page={HUGE}", "page"), ("page=" + "9" * 5000, "page"), ("page=-3", "page"), ("page=x", "page"),
    ("until=9999-12-31", "until"), ("since=9999-99-99", "since"), ("until=" + "1" * 5000, "until"),
])
def test_the_audit_log_answers_400_and_says_why(admin: FlaskClient, query: str, named: str) -> None:
    response = admin.get(f"/audit?{query}")
    assert response.status_code == 400 and response.mimetype == "text/html", (query, response.status_code)
    assert f"{named}: " in response.get_data(as_text=True)


def test_huge_ids_in_paths_are_not_found(admin: FlaskClient, seeded: Seeded) -> None:
    ids = (HUGE, str(MAX_ID + 1), str(2**63 - 1))  # past 32 bits: PostgreSQL's INTEGER ids
    for path in [template.format(value) for value in ids for template in (
            "/recordings/{}", "/recordings/{}/qa", "/recordings/{}/listen-url", "/media/recordings/{}", "/lockouts/{}/clear")]:
        posted = path.endswith(("/qa", "/clear", "/listen-url"))
        response = admin.post(path, headers={"X-CSRF-Token": csrf_of(admin)}) if posted else admin.get(path)
        expected = (403, 404) if path.startswith("/media/") else (404,)  # media: no valid signature either
        assert response.status_code in expected, (path, response.status_code)


@pytest.mark.parametrize("header", [
    "bytes=" + "9" * 5000 + "-", "bytes=0-" + "9" * 5000, "bytes=-" + "9" * 5000, "bytes=" + "9" * 30 + "-",
    "bytes=" + " " * 300 + "0-1", "bytes=٣-٤",
])
def test_a_range_header_that_cannot_be_served_is_416(app: Flask, seeded: Seeded, admin: FlaskClient, header: str) -> None:
    page = admin.get(f"/recordings/{seeded.recordings['acme-survey']}")
    listen = media_links(page.get_data(as_text=True))["listen"]
    response = admin.get(listen, headers={"Range": header})
    assert response.status_code == 416 and response.headers["Content-Range"].startswith("bytes */")


def test_a_media_url_with_a_huge_expiry_or_user_is_refused(admin: FlaskClient, seeded: Seeded) -> None:
    recording = seeded.recordings["acme-survey"]
    for query in ("p=listen&e=" + "9" * 5000 + "&u=1&n=x&s=y", f"p=listen&e=1&u={HUGE}&n=x&s=y"):
        assert admin.get(f"/media/recordings/{recording}?{query}").status_code == 403


def test_the_range_limit_is_max_header_chars() -> None:
    limit = current().max_header_chars
    at_limit = "bytes=0-1".ljust(limit)
    assert parse_range(at_limit, 10) is not None
    with pytest.raises(NotSatisfiable, match="characters"):
        parse_range(at_limit + " ", 10)
    with pytest.raises(NotSatisfiable, match="characters"):
        parse_range("bytes=0-1", 10, max_chars=5)


def test_query_values() -> None:
    assert database_id("42") == 42 and database_id(str(MAX_ID)) == MAX_ID
    assert whole_number(" -3 ", -5, 5) == -3
    for bad in [*BAD_NUMBERS, "0", "", " ", "-"]:
        with pytest.raises(ValueError):
            database_id(bad)
    assert day_start("2024-02-28", days_after=2).isoformat() == "2024-03-01T00:00:00+00:00"
    with pytest.raises(ValueError, match="last day"):
        day_start("9999-12-31", days_after=1)
