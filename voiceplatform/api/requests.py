"""Reading request bodies, in one place: JSON objects only, with clear 4xx answers.

:func:`json_body` is the only way a route reads its JSON. It applies every rule of
:func:`voiceplatform.safety.json_input.parse_json` (nesting at most ``max_json_depth``, no lone
surrogates, no NaN/Infinity, no integer past 64 bits); the body's size was already capped at
``max_request_bytes`` before it was read (see :mod:`voiceplatform.api.body_limits`).

:func:`field` is the only way a route reads one value of it, and carries the generic rules for
numbers: every integer the API takes is an id, a version or a count, so an integer is a whole
number (never a bool) from ``minimum`` (1 unless the route says otherwise) to :data:`INT_MAX`,
2^31 - 1: ids and versions are ``INTEGER`` columns, 32-bit on PostgreSQL, where a larger value
fails the query (``integer out of range``, a 500) instead of finding nothing. A number
(``float``) must be finite and within the same bounds unless the route gives its own.
"""

from __future__ import annotations

import math
from datetime import datetime, timezone
from typing import Any

from flask import request

from voiceplatform import limits
from voiceplatform.api.body_limits import read_body
from voiceplatform.api.errors import bad_request
from voiceplatform.safety.json_input import parse_json

INT_MIN = 1  # the smallest integer field value unless a route gives its own minimum
INT_MAX = 2**31 - 1  # the largest value of an INTEGER column on PostgreSQL (ids, versions, counts)


def json_body() -> dict[str, Any]:
    if not request.is_json:
        raise bad_request("the body must be a JSON object (Content-Type: application/json)")
    body = parse_json(read_body(), max_depth=limits.current().max_json_depth)
    if not isinstance(body, dict):
        raise bad_request("the body must be a JSON object (Content-Type: application/json)")
    return body


def query_id(raw: str, name: str) -> int:
    """An id from a query string (1 to INT_MAX), else a 400 naming the parameter."""
    try:
        value = int(raw)
    except ValueError as exc:
        raise bad_request(f"{name} must be a whole number", {"field": name}) from exc
    if not 0 < value <= INT_MAX:
        raise bad_request(f"{name} must be between 1 and {INT_MAX}", {"field": name})
    return value


def query_time(raw: str, name: str) -> datetime:
    """An ISO 8601 time with a zone from a query string, else a 400 naming the parameter."""
    try:
        when = datetime.fromisoformat(raw)
    except ValueError as exc:
        raise bad_request(f"{name} must be an ISO 8601 time", {"field": name}) from exc
    if when.tzinfo is None:
        raise bad_request(f"{name} needs a time zone", {"field": name})
    return when


def patch_body(changeable: tuple[str, ...]) -> dict[str, Any]:
    """The JSON body of a PATCH, refused (400 naming the fields) when it touches anything else."""
    body = json_body()
    unexpected = sorted(set(body) - set(changeable))
    if unexpected:
        raise bad_request(f"only {list(changeable)} can be changed, not {unexpected}", {"fields": unexpected})
    return body


def field(body: dict[str, Any], name: str, kind: type | tuple[type, ...], *, required: bool = True, default: Any = None,
          minimum: int | float | None = None, maximum: int | float | None = None, label: str | None = None) -> Any:
    """``body[name]`` checked against ``kind`` (and, for numbers, ``minimum`` and ``maximum``).
    ``label`` is the name the client knows the field by in messages (``flow.version``)."""
    label = label or name
    if name not in body or body[name] is None:
        if required:
            raise bad_request(f"{label!r} is required", {"field": label})
        return default
    value = body[name]
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
        names = " or ".join("number" if k is float else "whole number" if k is int else k.__name__ for k in kinds)
        raise bad_request(f"{label!r} must be a {names}", {"field": label})
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        _check_number(value, label, minimum, maximum)
    return value


def _check_number(value: int | float, label: str, minimum: int | float | None, maximum: int | float | None) -> None:
    low = INT_MIN if minimum is None else minimum
    high = INT_MAX if maximum is None else maximum
    if isinstance(value, float) and not math.isfinite(value):
        raise bad_request(f"{label!r} must be a finite number", {"field": label})
    if not low <= value <= high:
        raise bad_request(f"{label!r} must be between {low} and {high}", {"field": label, "minimum": low, "maximum": high})


def parse_time(raw: Any, label: str) -> datetime:
    """An ISO 8601 time with a zone, as UTC. A time without a zone, or one that UTC cannot hold
    (``9999-12-31T23:59:59-01:00`` is in the year 10000), is a 400 naming the field."""
    try:
        when = datetime.fromisoformat(raw) if isinstance(raw, str) and len(raw) <= 64 else None
    except ValueError:
        when = None
    if when is None or when.tzinfo is None:
        raise bad_request(f"{label!r} must be an ISO 8601 time with a time zone (e.g. 2027-01-01T00:00:00Z)",
                          {"field": label})
    try:
        return when.astimezone(timezone.utc)
    except OverflowError as exc:
        raise bad_request(f"{label!r} is out of range", {"field": label}) from exc
