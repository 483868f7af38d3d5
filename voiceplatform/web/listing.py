"""The recordings list's query string: filters, sort and page, read from the URL (so a filtered
list can be bookmarked and exported as it is shown). Values that do not parse (a word for a
number, an id past 64 bits, a day past 9999-12-31, a page out of range) are left out and reported
on the page, which then answers 400. Dates are days in UTC: ``until`` includes the whole day."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from voiceplatform.review.search import SORTS, RecordingFilters
from voiceplatform.web.query_values import MAX_ID, database_id, day_start, whole_number

QA_STATUSES = ("unreviewed", "reviewed", "flagged")
PER_PAGE = (25, 50, 100, 200)
DEFAULT_SORT = "-created_at"
MAX_PAGE = 1_000_000
FIELDS = ("campaign", "flow", "since", "until", "outcome", "min_duration", "max_duration", "number", "qa_status", "tag", "q")


@dataclass
class ListQuery:
    filters: RecordingFilters
    sort: str = DEFAULT_SORT
    page: int = 1
    per_page: int = 50
    values: dict[str, str] = field(default_factory=dict)  # the accepted filters, as typed
    problems: list[str] = field(default_factory=list)

    def args(self, **changes: Any) -> dict[str, Any]:
        """Query arguments for a link to this list with some of them changed."""
        found: dict[str, Any] = dict(self.values)
        if self.sort != DEFAULT_SORT:
            found["sort"] = self.sort
        if self.per_page != 50:
            found["per_page"] = self.per_page
        if self.page != 1:
            found["page"] = self.page
        found.update(changes)
        return {key: value for key, value in found.items() if value not in (None, "")}

    @property
    def filtered(self) -> bool:
        return bool(self.values)


def parse_list_args(args: Mapping[str, str]) -> ListQuery:
    filters: dict[str, Any] = {}
    values: dict[str, str] = {}
    problems: list[str] = []

    def take(name: str, convert: Any, target: str, describe: str) -> None:
        raw = (args.get(name) or "").strip()
        if not raw:
            return
        try:
            filters[target] = convert(raw)
        except (ValueError, TypeError):
            problems.append(f"{name}: {raw!r} is not {describe}")
            return
        values[name] = raw

    take("campaign", database_id, "campaign_id", "a campaign id")
    take("flow", str, "flow", "a flow name")
    take("since", day_start, "since", "a date (YYYY-MM-DD)")
    take("until", lambda text: day_start(text, days_after=1), "until", "a date (YYYY-MM-DD)")
    take("outcome", str, "outcome", "an outcome")
    take("min_duration", _seconds, "min_duration", "a number of seconds")
    take("max_duration", _seconds, "max_duration", "a number of seconds")
    take("number", str, "number", "a number")
    take("qa_status", _one_of(QA_STATUSES), "qa_status", f"one of {', '.join(QA_STATUSES)}")
    take("tag", lambda text: text.lower(), "tag", "a tag")
    take("q", str, "text", "a search")
    sort = args.get("sort") or DEFAULT_SORT
    if sort not in SORTS:
        problems.append(f"sort: {sort!r} is not one of {', '.join(SORTS)}")
        sort = DEFAULT_SORT
    page = _bounded_int(args.get("page"), 1, 1, MAX_PAGE, "page", problems)
    per_page = _bounded_int(args.get("per_page"), 50, 1, max(PER_PAGE), "per_page", problems)
    return ListQuery(RecordingFilters(**filters), sort, page, per_page, values, problems)


def _seconds(text: str) -> float:
    value = float(text)
    if not 0 <= value < 10**7:
        raise ValueError(text)
    return value


def _one_of(choices: tuple[str, ...]) -> Any:
    def convert(text: str) -> str:
        if text not in choices:
            raise ValueError(text)
        return text

    return convert


def _bounded_int(raw: str | None, default: int, low: int, high: int, name: str, problems: list[str]) -> int:
    """``raw`` as a number in ``low..high``; one that does not parse gives ``default``, one out of
    range the nearest bound, each reported."""
    if not raw:
        return default
    try:
        return whole_number(raw, low, high)
    except ValueError:
        problems.append(f"{name}: {raw[:40]!r} is not a number from {low} to {high}")
    try:
        return min(high, max(low, whole_number(raw, -MAX_ID, MAX_ID)))
    except ValueError:
        return default
