"""The recordings list's query string: filters, sort and page, read from the URL (so a filtered
list can be bookmarked and exported as it is shown). Values that do not parse are left out and
reported on the page. Dates are days in UTC: ``until`` includes the whole day."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Mapping

from voiceplatform.review.search import SORTS, RecordingFilters

QA_STATUSES = ("unreviewed", "reviewed", "flagged")
PER_PAGE = (25, 50, 100, 200)
DEFAULT_SORT = "-created_at"
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


def _day(text: str) -> date:
    return date.fromisoformat(text)


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=timezone.utc)


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

    take("campaign", _positive_int, "campaign_id", "a campaign id")
    take("flow", str, "flow", "a flow name")
    take("since", lambda text: _start_of(_day(text)), "since", "a date (YYYY-MM-DD)")
    take("until", lambda text: _start_of(_day(text) + timedelta(days=1)), "until", "a date (YYYY-MM-DD)")
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
    page = _bounded_int(args.get("page"), 1, 1, 1_000_000)
    per_page = _bounded_int(args.get("per_page"), 50, 1, max(PER_PAGE))
    return ListQuery(RecordingFilters(**filters), sort, page, per_page, values, problems)


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise ValueError(text)
    return value


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


def _bounded_int(raw: str | None, default: int, low: int, high: int) -> int:
    try:
        return min(high, max(low, int(raw))) if raw else default
    except ValueError:
        return default
