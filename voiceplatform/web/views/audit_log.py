"""``/audit``: the audit log of the admin's account and its sub-accounts, newest first,
filtered by action, person and date, a page at a time. Admins only."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, render_template, request
from sqlalchemy import func, select

from voiceplatform.db.request_session import db
from voiceplatform.models import AuditEvent, User
from voiceplatform.web.audit import ACTIONS
from voiceplatform.web.people import AUDITORS
from voiceplatform.web.query_values import MAX_ID, day_start, whole_number
from voiceplatform.web.viewer import requires, viewer

blueprint = Blueprint("audit", __name__)
PER_PAGE = 50
MAX_PAGE = 1_000_000


def _day(raw: str | None, problems: list[str], name: str, days_after: int = 0) -> datetime | None:
    if not raw:
        return None
    try:
        return day_start(raw, days_after)
    except ValueError:
        problems.append(f"{name}: {raw[:40]!r} is not a date (YYYY-MM-DD)")
        return None


def _number(raw: str | None, problems: list[str], name: str, high: int) -> int | None:
    if not raw:
        return None
    try:
        return whole_number(raw, 1, high)
    except ValueError:
        problems.append(f"{name}: {raw[:40]!r} is not a number from 1 to {high}")
        return None


@blueprint.route("/audit")
@requires(AUDITORS)
def audit_page() -> tuple[str, int]:
    """The log; a filter that does not parse is left out, reported, and the answer is 400."""
    person = viewer()
    problems: list[str] = []
    action = request.args.get("action") or ""
    user = (request.args.get("user") or "").strip().lower()
    recording = _number(request.args.get("recording"), problems, "recording", MAX_ID)
    since = _day(request.args.get("since"), problems, "since")
    until = _day(request.args.get("until"), problems, "until", days_after=1)  # the whole day
    page = _number(request.args.get("page"), problems, "page", MAX_PAGE) or 1
    query = select(AuditEvent, User.email).outerjoin(User, User.id == AuditEvent.user_id).where(
        AuditEvent.account_id.in_(person.account_ids))
    if action:
        query = query.where(AuditEvent.action == action)
    if user:
        query = query.where(func.lower(User.email).contains(user, autoescape=True))
    if recording is not None:
        query = query.where(AuditEvent.recording_id == recording)
    if since:
        query = query.where(AuditEvent.at >= since)
    if until:
        query = query.where(AuditEvent.at < until)
    total = db().scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = db().execute(query.order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
                        .offset((page - 1) * PER_PAGE).limit(PER_PAGE)).all()
    values: dict[str, Any] = {key: value for key, value in request.args.items() if key != "page" and value}
    return render_template("audit.html", rows=rows, total=total, page=page, pages=max(1, -(-total // PER_PAGE)),
                           actions=ACTIONS, values=values, problems=problems, viewer=person), 400 if problems else 200
