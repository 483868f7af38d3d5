"""Calls: list with filters, and detail."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, request
from sqlalchemy import select

from voiceplatform.api.auth import owned, requires, visible_accounts
from voiceplatform.api.database import db
from voiceplatform.api.errors import bad_request
from voiceplatform.api.pagination import page_of
from voiceplatform.models import Call, Role

blueprint = Blueprint("calls", __name__, url_prefix="/calls")
OUTCOMES = ("answered", "busy", "no-answer", "rejected", "congestion", "failed", "machine")


def _stamp(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _call(row: Call, detail: bool = False) -> dict[str, Any]:
    out = {"id": row.id, "account_id": row.account_id, "campaign_id": row.campaign_id, "to": row.to,
           "flow": row.flow_name, "switch": row.switch, "outcome": row.outcome, "cause": row.cause, "amd": row.amd,
           "queued_at": _stamp(row.queued_at), "answered_at": _stamp(row.answered_at), "ended_at": _stamp(row.ended_at),
           "billable_seconds": float(row.billable_seconds or 0), "results": row.results}
    if detail:
        out.update(path=row.path, transcript=row.transcript, messages=row.messages, errors=row.errors,
                   recordings=[{"id": r.id, "duration": float(r.duration), "sha256": r.sha256, "node": r.node}
                               for r in row.recordings])
    return out


@blueprint.get("")
@requires(Role.OPERATOR, Role.SUPERVISOR)
def list_calls():  # type: ignore[no-untyped-def]
    query = select(Call).where(Call.account_id.in_(visible_accounts()))
    args = request.args
    if "outcome" in args:
        if args["outcome"] not in OUTCOMES:
            raise bad_request(f"outcome must be one of {list(OUTCOMES)}", {"field": "outcome"})
        query = query.where(Call.outcome == args["outcome"])
    if "campaign_id" in args:
        query = query.where(Call.campaign_id == _int(args["campaign_id"], "campaign_id"))
    if "to" in args:
        query = query.where(Call.to == args["to"])
    if "since" in args:
        query = query.where(Call.queued_at >= _time(args["since"], "since"))
    if "until" in args:
        query = query.where(Call.queued_at < _time(args["until"], "until"))
    return page_of(query.order_by(Call.queued_at.desc(), Call.id), _call)


@blueprint.get("/<call_id>")
@requires(Role.OPERATOR, Role.SUPERVISOR)
def call_detail(call_id: str):  # type: ignore[no-untyped-def]
    return _call(owned(db().get(Call, call_id), f"call {call_id}"), detail=True)


def _int(raw: str, name: str) -> int:
    try:
        return int(raw)
    except ValueError as exc:
        raise bad_request(f"{name} must be a whole number", {"field": name}) from exc


def _time(raw: str, name: str) -> datetime:
    try:
        when = datetime.fromisoformat(raw)
    except ValueError as exc:
        raise bad_request(f"{name} must be an ISO 8601 time", {"field": name}) from exc
    if when.tzinfo is None:
        raise bad_request(f"{name} needs a time zone", {"field": name})
    return when
