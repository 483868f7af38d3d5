"""The web UI's pure parts: the QA form, the list's query string, CSV cells and time formats.
(The caller's path is rendered from session rows: tests/sessions/test_session_path.py.)"""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from voiceplatform.web.export import safe_cell
from voiceplatform.web.listing import parse_list_args
from voiceplatform.web.qa import parse_form, parse_tags
from voiceplatform.web.rubric import DEFAULT_RUBRIC
from voiceplatform.web.setup import clock


def test_tags_are_trimmed_lowercased_and_unique() -> None:
    assert parse_tags(" Rude, follow-up ,rude,,  Very   Long\nnext ") == ["rude", "follow-up", "very long", "next"]
    assert len(parse_tags(",".join(f"t{i}" for i in range(50)))) == 20


def test_the_qa_form() -> None:
    form, problems = parse_form({"score_greeting": "5", "score_accuracy": "", "score_courtesy": "0", "tags": "a",
                                 "notes": "  fine  ", "status": "reviewed"}, DEFAULT_RUBRIC)
    assert problems == [] and form.as_dict() == {"scores": {"greeting": 5, "courtesy": 0}, "tags": ["a"], "notes": "fine",
                                                 "status": "reviewed"}
    _form, problems = parse_form({"score_greeting": "6", "score_accuracy": "-1", "score_courtesy": "x", "status": ""},
                                 DEFAULT_RUBRIC)
    assert len(problems) == 4


def test_the_list_query_string() -> None:
    query = parse_list_args({"campaign": "3", "since": "2024-05-01", "until": "2024-05-02", "min_duration": "1.5",
                             "q": "refund", "tag": "Rude", "sort": "duration", "page": "2", "per_page": "100"})
    filters = query.filters
    assert (filters.campaign_id, filters.text, filters.tag, filters.min_duration) == (3, "refund", "rude", 1.5)
    assert filters.since == datetime(2024, 5, 1, tzinfo=timezone.utc)
    assert filters.until == datetime(2024, 5, 3, tzinfo=timezone.utc)  # the whole of the 2nd
    assert (query.sort, query.page, query.per_page, query.problems) == ("duration", 2, 100, [])
    assert query.args(page=3)["page"] == 3 and "page" not in query.args(page=None)
    bad = parse_list_args({"campaign": "0", "qa_status": "great", "max_duration": "-2", "sort": "x", "page": "-4",
                           "per_page": "100000"})
    assert len(bad.problems) == 6 and (bad.page, bad.per_page, bad.sort) == (1, 200, "-created_at")
    assert "page: '-4' is not a number from 1 to 1000000" in bad.problems
    assert bad.filters.campaign_id is None and not bad.filtered


@pytest.mark.parametrize("value, expected", [
    ("=1+1", "'=1+1"), ("@SUM(A1)", "'@SUM(A1)"), ("-2+3", "'-2+3"), ("+12025550101", "+12025550101"),
    ("-1.5", "-1.5"), ("plain", "plain"), (None, ""), (4, "4")])
def test_csv_cells_never_run_as_formulas(value: object, expected: str) -> None:
    assert safe_cell(value) == expected


def test_clock() -> None:
    assert (clock(0), clock(83.4), clock(3723), clock(None)) == ("0:00", "1:23", "1:02:03", "")
