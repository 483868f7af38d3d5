"""Page through lists: ``?page=1&per_page=50`` (at most 500). Responses carry the items and
``{"page", "per_page", "total", "next"}``."""

from __future__ import annotations

from typing import Any, Callable, Unpack

from flask import request
from sqlalchemy import Select, func, select

from voiceplatform.db.request_session import db
from voiceplatform.api.errors import bad_request

MAX_PER_PAGE = 500
MAX_PAGE = 1_000_000


def page_of(query: Select[Unpack[tuple[Any, ...]]], render: Callable[[Any], dict[str, Any]], *, rows: bool = False) -> dict[str, Any]:
    """``rows=True`` renders whole result rows (for queries that select several things)."""
    try:
        page = int(request.args.get("page", 1))
        per_page = int(request.args.get("per_page", 50))
    except ValueError as exc:
        raise bad_request("page and per_page must be whole numbers") from exc
    if not 1 <= page <= MAX_PAGE or not 1 <= per_page <= MAX_PER_PAGE:
        raise bad_request(f"page must be between 1 and {MAX_PAGE:,} and per_page between 1 and {MAX_PER_PAGE}")
    session = db()
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    window = query.limit(per_page).offset((page - 1) * per_page)
    found = session.execute(window).all() if rows else session.scalars(window).all()
    return {
        "items": [render(row) for row in found],
        "page": page,
        "per_page": per_page,
        "total": total,
        "next": page + 1 if page * per_page < total else None,
    }
