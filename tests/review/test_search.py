"""The recordings list query on SQLite and PostgreSQL: every filter alone and together, transcript
search with its snippet, each sort, paging, the streamed export, and tenant scoping by account."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from tests.review.conftest import T0, add_recording, new_account, new_campaign, review
from voiceplatform.db import session_factory
from voiceplatform.review.search import (
    SORTS, RecordingFilters, find_recordings, iter_recordings, search_words, snippet,
)


@dataclass
class Data:
    master: int
    child: int
    other: int
    campaigns: dict[str, int]
    ids: dict[str, int]  # r1..r6

    def names(self, ids: list[int]) -> list[str]:
        by_id = {value: key for key, value in self.ids.items()}
        return [by_id[i] for i in ids]


@pytest.fixture(scope="module")
def data(engine: Engine) -> Data:
    sessions = session_factory(engine)
    master = new_account(sessions, "master")
    child = new_account(sessions, "child", parent_id=master)
    other = new_account(sessions, "other")
    campaigns = {"march": new_campaign(sessions, master, "March"), "april": new_campaign(sessions, master, "April")}
    day = timedelta(days=1)
    ids = {
        "r1": add_recording(sessions, master, campaign_id=campaigns["march"], flow="survey", outcome="answered",
                            duration=30, to="+12025550143", created_at=T0, status="done",
                            transcript="Thank you for calling about your payment, have a good day"),
        "r2": add_recording(sessions, master, campaign_id=campaigns["march"], flow="survey", outcome="machine",
                            duration=5, to="+12025550188", created_at=T0 + day, status="done",
                            transcript="please leave a message after the tone"),
        "r3": add_recording(sessions, master, campaign_id=campaigns["april"], flow="reminder", outcome="answered",
                            duration=120, to="+442079460958", created_at=T0 + 2 * day, status="done",
                            transcript="yes I would like to pay my bill by card today please"),
        "r4": add_recording(sessions, master, flow="reminder", outcome="answered", duration=60, to="+12025550143",
                            created_at=T0 + 3 * day, status="pending", audio_deleted_at=T0 + 4 * day),
        "r5": add_recording(sessions, child, flow="survey", outcome="answered", duration=45, to="+13125550100",
                            created_at=T0 + 4 * day, status="done", transcript="the payment was made yesterday"),
        "r6": add_recording(sessions, other, flow="survey", outcome="answered", duration=30, to="+12025550143",
                            created_at=T0 + 5 * day, status="done", transcript="thank you payment bill card"),
    }
    review(sessions, ids["r1"], scores={"greeting": 4, "resolution": 5}, tags=["polite", "payment"])
    review(sessions, ids["r3"], scores={"greeting": 1, "resolution": 2}, tags=["escalate"], status="flagged")
    review(sessions, ids["r5"], scores={"greeting": 5, "resolution": 5}, tags=["payment"])
    review(sessions, ids["r6"], scores={"greeting": 5}, tags=["payment"])
    return Data(master, child, other, campaigns, ids)


@pytest.fixture
def session(engine: Engine) -> Any:
    with session_factory(engine)() as session:
        yield session


def found(session: Session, data: Data, filters: RecordingFilters, accounts: list[int] | None = None, **options: Any) -> list[str]:
    page = find_recordings(session, accounts if accounts is not None else [data.master, data.child], filters, per_page=100, **options)
    assert page.total == len(page.items)
    return data.names([row.id for row in page.items])


# ---- tenant scoping ----


def test_only_the_given_accounts_are_seen(session: Session, data: Data) -> None:
    assert found(session, data, RecordingFilters(), [data.master]) == ["r4", "r3", "r2", "r1"]
    assert found(session, data, RecordingFilters(), [data.master, data.child]) == ["r5", "r4", "r3", "r2", "r1"]
    assert found(session, data, RecordingFilters(), [data.other]) == ["r6"]
    assert found(session, data, RecordingFilters(text="payment"), [data.child]) == ["r5"]
    assert find_recordings(session, [], RecordingFilters()).total == 0
    assert list(iter_recordings(session, [], RecordingFilters())) == []


# ---- each filter ----


def filter_cases(data: Data) -> list[tuple[RecordingFilters, list[str]]]:
    return [
        (RecordingFilters(campaign_id=data.campaigns["march"]), ["r2", "r1"]),
        (RecordingFilters(flow="reminder"), ["r4", "r3"]),
        (RecordingFilters(since=T0 + timedelta(days=1)), ["r5", "r4", "r3", "r2"]),
        (RecordingFilters(until=T0 + timedelta(days=1)), ["r1"]),  # until is exclusive
        (RecordingFilters(since=T0 + timedelta(days=1), until=T0 + timedelta(days=3)), ["r3", "r2"]),
        (RecordingFilters(outcome="machine"), ["r2"]),
        (RecordingFilters(min_duration=45), ["r5", "r4", "r3"]),
        (RecordingFilters(max_duration=30), ["r2", "r1"]),
        (RecordingFilters(min_duration=30, max_duration=60), ["r5", "r4", "r1"]),
        (RecordingFilters(number="(202) 555-0143"), ["r4", "r1"]),  # a whole number: exact, as E.164
        (RecordingFilters(number="+44 20 7946 0958"), ["r3"]),
        (RecordingFilters(number="0143"), ["r4", "r1"]),  # some digits: anywhere in the number
        (RecordingFilters(number="555-0"), ["r5", "r4", "r2", "r1"]),
        (RecordingFilters(number="0100"), ["r5"]),
        (RecordingFilters(number="answer-press"), []),  # letters: a callee name, anywhere
        (RecordingFilters(qa_status="flagged"), ["r3"]),
        (RecordingFilters(qa_status="unreviewed"), ["r4", "r2"]),
        (RecordingFilters(tag="payment"), ["r5", "r1"]),
        (RecordingFilters(tag="pay"), []),  # tags match whole
        (RecordingFilters(text="payment"), ["r5", "r1"]),
        (RecordingFilters(text="PAY, bill!"), ["r3"]),  # every word, any case, punctuation ignored
        (RecordingFilters(text="payment yesterday"), ["r5"]),
        (RecordingFilters(text="nothing-like-this"), []),
        (RecordingFilters(text="  ...  "), ["r5", "r4", "r3", "r2", "r1"]),  # no word: no text filter
        (RecordingFilters(campaign_id=data.campaigns["march"], outcome="answered"), ["r1"]),
        (RecordingFilters(flow="survey", tag="payment", text="payment", since=T0), ["r5", "r1"]),
    ]


def test_each_filter(session: Session, data: Data) -> None:
    for filters, expected in filter_cases(data):
        assert found(session, data, filters) == expected, filters


def test_transcript_search_gives_a_snippet_around_the_words(session: Session, data: Data) -> None:
    page = find_recordings(session, [data.master, data.child], RecordingFilters(text="card"))
    assert [row.snippet for row in page.items] == ["yes I would like to pay my bill by card today please"]
    rows = find_recordings(session, [data.master], RecordingFilters()).items
    assert all(row.snippet is None for row in rows)  # no search, no snippet
    long = "word " * 40 + "the payment is late " + "word " * 40
    cut = snippet(long.strip(), "payment", context=20)
    assert cut is not None and cut.startswith("…") and cut.endswith("…") and "payment" in cut
    assert all(piece in {"…word", "word", "word…", "the", "payment", "is", "late"} for piece in cut.split()), cut
    assert search_words("Pay, BILL! 123") == ["pay", "bill", "123"]


def test_rows_carry_what_the_list_shows(session: Session, data: Data) -> None:
    rows = {data.names([row.id])[0]: row for row in find_recordings(session, [data.master], RecordingFilters()).items}
    r1, r4 = rows["r1"], rows["r4"]
    assert (r1.to, r1.flow, r1.campaign_id, r1.outcome, r1.duration) == ("+12025550143", "survey", data.campaigns["march"], "answered", 30.0)
    assert (r1.qa_status, r1.tags, r1.score, r1.transcription_status, r1.audio_deleted) == ("reviewed", ["polite", "payment"], 9, "done", False)
    assert r1.created_at == T0 and r1.call_id.startswith("call-")
    assert (r4.tags, r4.score, r4.transcription_status, r4.audio_deleted) == ([], None, "pending", True)


# ---- sorting and paging ----


@pytest.mark.parametrize("sort, expected", [
    ("-created_at", ["r5", "r4", "r3", "r2", "r1"]),
    ("created_at", ["r1", "r2", "r3", "r4", "r5"]),
    ("-duration", ["r3", "r4", "r5", "r1", "r2"]),
    ("duration", ["r2", "r1", "r5", "r4", "r3"]),
    ("to", ["r4", "r1", "r2", "r5", "r3"]),  # ties newest first
    ("-score", ["r5", "r1", "r3", "r4", "r2"]),  # 10, 9, 3, then the unreviewed newest first
])
def test_sorts(session: Session, data: Data, sort: str, expected: list[str]) -> None:
    assert found(session, data, RecordingFilters(), sort=sort) == expected
    exported = list(iter_recordings(session, [data.master, data.child], RecordingFilters(), sort=sort))
    assert data.names([row.id for row in exported]) == expected


def test_every_sort_is_tested() -> None:
    assert set(SORTS) == {"-created_at", "created_at", "-duration", "duration", "to", "-score"}


def test_pages_cover_every_row_once(session: Session, data: Data) -> None:
    accounts = [data.master, data.child]
    pages = [find_recordings(session, accounts, RecordingFilters(), sort="duration", page=n, per_page=2) for n in (1, 2, 3, 4)]
    assert [p.total for p in pages] == [5, 5, 5, 5] and [(p.page, p.per_page) for p in pages][1] == (2, 2)
    assert [data.names([r.id for r in p.items]) for p in pages] == [["r2", "r1"], ["r5", "r4"], ["r3"], []]
    by_score = [find_recordings(session, accounts, RecordingFilters(), sort="-score", page=n, per_page=2) for n in (1, 2, 3)]
    assert [data.names([r.id for r in p.items]) for p in by_score] == [["r5", "r1"], ["r3", "r4"], ["r2"]]  # across both parts
    assert [p.total for p in by_score] == [5, 5, 5]
    flagged = find_recordings(session, accounts, RecordingFilters(qa_status="unreviewed"), sort="-score", per_page=1, page=2)
    assert data.names([r.id for r in flagged.items]) == ["r2"] and flagged.total == 2


def test_the_export_streams_with_the_same_filters_and_snippets(session: Session, data: Data) -> None:
    rows = list(iter_recordings(session, [data.master, data.child], RecordingFilters(text="payment", tag="payment")))
    assert data.names([r.id for r in rows]) == ["r5", "r1"]
    assert rows[1].snippet is not None and "payment" in rows[1].snippet and rows[1].score == 9


@pytest.mark.parametrize("options", [{"sort": "-to"}, {"page": 0}, {"per_page": 0}, {"per_page": 10_000}])
def test_bad_sort_or_page_is_refused(session: Session, data: Data, options: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        find_recordings(session, [data.master], RecordingFilters(), **options)
