"""``/audit``: the audit log of the admin's account and its sub-accounts, newest first,
filtered by action, person and date, a page at a time. Admins only."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from flask import Blueprint, render_template, request
from sqlalchemy import func, select

from voiceplatform.api.database import db
from voiceplatform.models import AuditEvent, User
from voiceplatform.web.audit import ACTIONS
from voiceplatform.web.people import AUDITORS
from voiceplatform.web.viewer import requires, viewer

blueprint = Blueprint("audit", __name__)
PER_PAGE = 50


def _day(raw: str | None, problems: list[str], name: str) -> datetime | None:
    if not raw:
        return None
    try:
        return datetime.combine(date.fromisoformat(raw), time.min, tzinfo=timezone.utc)
    except ValueError:
        problems.append(f"{name}: {raw!r} is not a date (YYYY-MM-DD)")
        return None


@blueprint.route("/audit")
@requires(AUDITORS)
def audit_page() -> str:
    person = viewer()
    problems: list[str] = []
    action = request.args.get("action") or ""
    user = (request.args.get("user") or "").strip().lower()
    recording = request.args.get("recording") or ""
    since = _day(request.args.get("since"), problems, "since")
    until = _day(request.args.get("until"), problems, "until")
    try:
        page = max(1, int(request.args.get("page") or 1))
    except ValueError:
        page = 1
    query = select(AuditEvent, User.email).outerjoin(User, User.id == AuditEvent.user_id).where(
        AuditEvent.account_id.in_(person.account_ids))
    if action:
        query = query.where(AuditEvent.action == action)
    if user:
        query = query.where(func.lower(User.email).contains(user, autoescape=True))
    if recording.isdigit():
        query = query.where(AuditEvent.recording_id == int(recording))
    if since:
        query = query.where(AuditEvent.at >= since)
    if until:
        query = query.where(AuditEvent.at < until + timedelta(days=1))
    total = db().scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = db().execute(query.order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
                        .offset((page - 1) * PER_PAGE).limit(PER_PAGE)).all()
    values: dict[str, Any] = {key: value for key, value in request.args.items() if key != "page" and value}
    return render_template("audit.html", rows=rows, total=total, page=page, pages=max(1, -(-total // PER_PAGE)),
                           actions=ACTIONS, values=values, problems=problems, viewer=person)
