"""The query behind the supervisors' recordings list: filters, transcript search, sorting, paging,
and a streamed variant for the CSV export.

Tenant scoping is the caller's: ``account_ids`` are the accounts the user may see (their account,
and its sub-accounts for a master account); nothing outside them is ever returned.

Filters (all optional, combined with AND):

- ``campaign_id``, ``flow`` (the call's flow name), ``outcome``: equal to the call's;
- ``since`` (inclusive) and ``until`` (exclusive): the recording's ``created_at``;
- ``min_duration`` / ``max_duration``: seconds, inclusive;
- ``number``: the called number. One that parses as a phone number matches exactly (as E.164,
  the way numbers are stored); other digits match anywhere in the number; text with letters
  (a lab callee name) matches anywhere;
- ``qa_status``: ``unreviewed``, ``reviewed`` or ``flagged``;
- ``tag``: one of the QA review's tags, exactly;
- ``text``: every word must appear in the transcript. PostgreSQL: full-text search,
  ``to_tsvector('simple', transcript) @@ plainto_tsquery('simple', text)`` (whole words, any case,
  served by the GIN index of migration 0005). SQLite: each word as a case-insensitive substring
  (LIKE). The row's ``snippet`` is the stretch of transcript around the first word found.

``score`` is the sum of the QA review's item scores (``None`` without a review or scores).
Sorts: ``SORTS``; ties are broken newest first, then by id, so pages never overlap.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, String, and_, exists, false, func, literal_column, or_, select, type_coerce
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session, aliased

from voiceplatform.models import Call, QaReview, Recording
from voiceplatform.phone import InvalidPhoneNumber, to_e164


@dataclass
class RecordingFilters:
    campaign_id: int | None = None
    flow: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    outcome: str | None = None
    min_duration: float | None = None
    max_duration: float | None = None
    number: str | None = None
    qa_status: str | None = None
    tag: str | None = None
    text: str | None = None


@dataclass
class RecordingRow:
    id: int
    call_id: str
    created_at: datetime
    duration: float
    to: str
    flow: str
    campaign_id: int | None
    outcome: str | None
    qa_status: str
    tags: list[str]
    score: int | None
    transcription_status: str
    snippet: str | None  # the transcript around the search words, when text is given
    audio_deleted: bool
    direction: str = "outbound"  # an inbound call's row shows its caller (``to`` is the account's number)
    caller: str | None = None


@dataclass
class RecordingPage:
    items: list[RecordingRow]
    total: int
    page: int
    per_page: int


SORTS = ("-created_at", "created_at", "-duration", "duration", "to", "-score")
MAX_PER_PAGE = 500
SNIPPET_CONTEXT = 60  # characters of transcript kept on each side of the word found
EXPORT_BATCH = 1000  # rows fetched at a time by iter_recordings

_WORD = re.compile(r"\w+", re.UNICODE)


def search_words(text: str | None) -> list[str]:
    """The words of a transcript search (what the 'simple' text-search parser keeps, roughly)."""
    return [word.lower() for word in _WORD.findall(text or "")]


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _number_clause(number: str) -> ColumnElement[bool]:
    """The customer's number: the number called on an outbound call, the caller on an inbound one
    (whose ``to`` is the account's own number, which matches too)."""
    return or_(_number_in(Call.to, number), _number_in(Call.caller, number))


def _number_in(column: Any, number: str) -> ColumnElement[bool]:
    raw = number.strip()
    if any(character.isalpha() for character in raw):
        return column.like(f"%{_escape_like(raw)}%", escape="\\")
    try:
        return column == to_e164(raw)
    except InvalidPhoneNumber:
        digits = re.sub(r"\D", "", raw)
        return column.like(f"%{digits}%") if digits else false()


def _text_clause(dialect: str, text: str) -> ColumnElement[bool]:
    if dialect == "postgresql":
        simple = literal_column("'simple'", String)  # a literal, not a parameter: the GIN index's expression
        vector = func.to_tsvector(simple, Recording.transcript)
        return vector.bool_op("@@")(func.plainto_tsquery(simple, text))
    return and_(*(Recording.transcript.ilike(f"%{_escape_like(word)}%", escape="\\") for word in search_words(text)))


def _tag_clause(dialect: str, tag: str) -> ColumnElement[bool]:
    reviews = aliased(QaReview)  # the list query also joins qa_reviews: keep this one apart
    if dialect == "postgresql":
        return exists().where(reviews.recording_id == Recording.id, type_coerce(reviews.tags, JSONB).contains([tag]))
    elements = func.json_each(reviews.tags).table_valued("value")
    return exists().where(reviews.recording_id == Recording.id,
                          exists().select_from(elements).where(elements.c.value == tag))


def _conditions(dialect: str, account_ids: list[int], filters: RecordingFilters) -> tuple[list[ColumnElement[bool]], bool]:
    """The WHERE clauses, and whether they need the calls table."""
    where: list[ColumnElement[bool]] = [Recording.account_id.in_(account_ids)]
    on_call: list[ColumnElement[bool]] = []
    if filters.campaign_id is not None:
        on_call.append(Call.campaign_id == filters.campaign_id)
    if filters.flow:
        on_call.append(Call.flow_name == filters.flow)
    if filters.outcome:
        on_call.append(Call.outcome == filters.outcome)
    if filters.number and filters.number.strip():
        on_call.append(_number_clause(filters.number))
    if filters.since is not None:
        where.append(Recording.created_at >= filters.since)
    if filters.until is not None:
        where.append(Recording.created_at < filters.until)
    if filters.min_duration is not None:
        where.append(Recording.duration >= filters.min_duration)
    if filters.max_duration is not None:
        where.append(Recording.duration <= filters.max_duration)
    if filters.qa_status:
        where.append(Recording.qa_status == filters.qa_status)
    if filters.tag:
        where.append(_tag_clause(dialect, filters.tag))
    if filters.text and search_words(filters.text):
        where.append(_text_clause(dialect, filters.text))
    return where + on_call, bool(on_call)


def _score_expression(dialect: str) -> Any:
    if dialect == "postgresql":
        return literal_column("(SELECT sum(value::numeric) FROM jsonb_each_text(qa_reviews.scores))")
    return literal_column("(SELECT sum(value) FROM json_each(qa_reviews.scores))")


@dataclass(frozen=True)
class _Part:
    condition: ColumnElement[bool] | None  # added to the filters' conditions
    order: list[Any]
    reviewed: bool = False  # only recordings with a review: the page's ids come from an inner join with it


def _parts(dialect: str, sort: str) -> list[_Part]:
    """The sort as consecutive parts. ``-score`` is two: the reviewed recordings by score, then
    the others newest first (their score is NULL: last). Two cheap queries instead of one that
    computes a score for every row before sorting."""
    newest = [Recording.created_at.desc(), Recording.id.desc()]
    if sort == "-score":
        reviews = aliased(QaReview)  # NOT EXISTS plans as an anti-join; "outer join ... IS NULL" did not
        return [_Part(QaReview.id.is_not(None), [_score_expression(dialect).desc().nulls_last(), *newest], reviewed=True),
                _Part(~exists().where(reviews.recording_id == Recording.id), newest)]
    orders: dict[str, list[Any]] = {
        "-created_at": newest,
        "created_at": [Recording.created_at.asc(), Recording.id.asc()],
        "-duration": [Recording.duration.desc(), *newest],
        "duration": [Recording.duration.asc(), *newest],
        "to": [Call.to.asc(), *newest],
    }
    return [_Part(None, orders[sort])]


def _check(sort: str, page: int = 1, per_page: int = 1) -> None:
    if sort not in SORTS:
        raise ValueError(f"unknown sort {sort!r}: one of {', '.join(SORTS)}")
    if page < 1:
        raise ValueError("page starts at 1")
    if not 1 <= per_page <= MAX_PER_PAGE:
        raise ValueError(f"per_page is between 1 and {MAX_PER_PAGE}")


def _rows_query(where: list[ColumnElement[bool]], searching: bool, order: list[Any]) -> Select[Any]:
    columns: list[Any] = [
        Recording.id, Recording.call_id, Recording.created_at, Recording.duration, Call.to, Call.flow_name,
        Call.campaign_id, Call.outcome, Recording.qa_status, QaReview.tags, QaReview.scores,
        Recording.transcription_status, Recording.audio_deleted_at, Call.direction, Call.caller,
        Recording.transcript if searching else literal_column("NULL").label("transcript"),
    ]
    return (select(*columns).select_from(Recording)
            .join(Call, Call.id == Recording.call_id)
            .outerjoin(QaReview, QaReview.recording_id == Recording.id)
            .where(*where).order_by(*order))


def _count(session: Session, where: list[ColumnElement[bool]], needs_call: bool, needs_review: bool = False) -> int:
    counting = select(func.count()).select_from(Recording)
    if needs_call:
        counting = counting.join(Call, Call.id == Recording.call_id)
    if needs_review:
        counting = counting.join(QaReview, QaReview.recording_id == Recording.id)
    return int(session.execute(counting.where(*where)).scalar_one())


def score_of(scores: dict[str, Any] | None) -> int | None:
    values = [value for value in (scores or {}).values() if isinstance(value, (int, float)) and not isinstance(value, bool)]
    return int(sum(values)) if values else None


def snippet(transcript: str | None, text: str | None, context: int = SNIPPET_CONTEXT) -> str | None:
    """The part of ``transcript`` around the earliest of ``text``'s words in it (a whole word
    if there is one), cut at spaces, with "…" where it was cut; its start when no word is found."""
    if not transcript or not text:
        return None
    hits = []
    for word in search_words(text):
        pattern = re.escape(word)
        hit = re.search(rf"(?<!\w){pattern}(?!\w)", transcript, re.IGNORECASE) or re.search(pattern, transcript, re.IGNORECASE)
        if hit:
            hits.append((hit.start(), hit.end()))
    first, last = min(hits) if hits else (0, 0)
    start, end = max(0, first - context), min(len(transcript), last + context if hits else 2 * context)
    if start > 0 and not transcript[start - 1].isspace():  # do not cut a word in two
        space = transcript.find(" ", start, first)
        start = space + 1 if space >= 0 else start
    if end < len(transcript) and not transcript[end].isspace():
        space = transcript.rfind(" ", last, end)
        end = space if space > last else end
    return ("…" if start > 0 else "") + transcript[start:end].strip() + ("…" if end < len(transcript) else "")


def _row(values: Any, text: str | None) -> RecordingRow:
    return RecordingRow(
        id=values.id, call_id=values.call_id, created_at=values.created_at, duration=float(values.duration),
        to=values.to, flow=values.flow_name, campaign_id=values.campaign_id, outcome=values.outcome,
        qa_status=values.qa_status, tags=list(values.tags or []), score=score_of(values.scores),
        transcription_status=values.transcription_status,
        snippet=snippet(values.transcript, text) if text else None,
        audio_deleted=values.audio_deleted_at is not None,
        direction=values.direction, caller=values.caller,
    )


def _page_ids(session: Session, where: list[ColumnElement[bool]], needs_call: bool, part: _Part, sort: str,
              skip: int, limit: int) -> list[int]:
    """The ids of one page, sorted, joining only what the filters and the sort need (the rows'
    details are fetched for these ids alone: a deep page does not join every row it skips)."""
    query = select(Recording.id).select_from(Recording)
    if needs_call or sort == "to":
        query = query.join(Call, Call.id == Recording.call_id)
    if part.reviewed:
        query = query.join(QaReview, QaReview.recording_id == Recording.id)
    conditions = where if part.condition is None else [*where, part.condition]
    return list(session.scalars(query.where(*conditions).order_by(*part.order).offset(skip).limit(limit)))


def find_recordings(session: Session, account_ids: list[int], filters: RecordingFilters, *, sort: str = "-created_at",
                    page: int = 1, per_page: int = 50) -> RecordingPage:
    """One page of the recordings of ``account_ids`` that match ``filters``, and the total count.
    Raises ``ValueError`` for an unknown sort or a bad page or page size."""
    _check(sort, page, per_page)
    if not account_ids:
        return RecordingPage([], 0, page, per_page)
    dialect = session.get_bind().dialect.name
    where, needs_call = _conditions(dialect, account_ids, filters)
    searching = bool(filters.text and search_words(filters.text))
    total = _count(session, where, needs_call)
    skip, wanted = (page - 1) * per_page, per_page
    ids: list[int] = []
    parts = _parts(dialect, sort) if total > skip else []
    for index, part in enumerate(parts):
        if skip and index < len(parts) - 1:  # a later page of -score: does it start past the reviewed part?
            in_part = _count(session, where, needs_call, needs_review=True)
            if skip >= in_part:
                skip -= in_part
                continue
        found = _page_ids(session, where, needs_call, part, sort, skip, wanted)
        ids.extend(found)
        skip, wanted = 0, wanted - len(found)
        if wanted == 0:
            break
    items: list[RecordingRow] = []
    if ids:
        rows = {values.id: _row(values, filters.text)
                for values in session.execute(_rows_query([Recording.id.in_(ids)], searching, []))}
        items = [rows[i] for i in ids]
    return RecordingPage(items, total, page, per_page)


def iter_recordings(session: Session, account_ids: list[int], filters: RecordingFilters,
                    sort: str = "-created_at") -> Iterator[RecordingRow]:
    """Every matching recording, in order, fetched ``EXPORT_BATCH`` rows at a time (for the CSV
    export: memory stays flat whatever the count)."""
    _check(sort)
    if not account_ids:
        return
    dialect = session.get_bind().dialect.name
    where, _ = _conditions(dialect, account_ids, filters)
    searching = bool(filters.text and search_words(filters.text))
    for part in _parts(dialect, sort):
        conditions = where if part.condition is None else [*where, part.condition]
        query = _rows_query(conditions, searching, part.order).execution_options(yield_per=EXPORT_BATCH)
        for values in session.execute(query):
            yield _row(values, filters.text)
