"""Sessions: the stored journeys on every channel (voiceplatform.sessions), read-only.

``GET /sessions`` lists them, newest first, with filters (status, channel, address, contact,
campaign, flow name, started after / before); ``GET /sessions/<id>`` gives one with its history
(the ordered ``session_events`` rows: kind, type, channel, time, payload), its path (the parts
per channel: nodes and conversation events) and its transcript, both rendered from those rows
when read (voiceplatform.sessions.transcript, the renderer the recording page uses too). A
caller sees its account's sessions and its sub-accounts'; any other id answers 404, as
everywhere in the API.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, request
from sqlalchemy import Row, select

from voiceplatform.api.auth import owned, requires, visible_accounts
from voiceplatform.api.errors import bad_request
from voiceplatform.api.pagination import page_of
from voiceplatform.api.requests import query_id, query_time
from voiceplatform.db.request_session import db
from voiceplatform.models import CampaignContact, FlowVersion, Role
from voiceplatform.models.sessions import FlowSession, SessionEvent, SessionStatus
from voiceplatform.sessions import transcript

blueprint = Blueprint("sessions", __name__, url_prefix="/sessions")
STATUSES = tuple(status.value for status in SessionStatus)
MAX_HISTORY = 5000  # rows in one detail answer; a longer history says history_truncated
TEXT_FILTER_LENGTH = 64  # the widest filtered column (address); longer values match nothing anyway


def _stamp(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _session(row: FlowSession, flow_name: str | None, flow_version: int | None,
             campaign_id: int | None) -> dict[str, Any]:
    return {"id": row.id, "account_id": row.account_id, "contact_id": row.contact_id,
            "campaign_contact_id": row.campaign_contact_id, "campaign_id": campaign_id,
            "flow": {"name": flow_name, "version": flow_version, "version_id": row.flow_version_id},
            "channel": row.channel, "address": row.address, "our_address": row.our_address,
            "number_id": row.number_id, "status": row.status, "wait_kind": row.wait_kind,
            "wait_expires_at": _stamp(row.wait_expires_at), "end_reason": row.end_reason,
            "started_at": _stamp(row.started_at), "updated_at": _stamp(row.updated_at),
            "ended_at": _stamp(row.ended_at)}


def _listed(found: Row[Any]) -> dict[str, Any]:
    row, flow_name, flow_version, campaign_id = tuple(found)
    return _session(row, flow_name, flow_version, campaign_id)


def _event(row: SessionEvent) -> dict[str, Any]:
    return {"seq": row.seq, "kind": row.kind, "type": row.type, "channel": row.channel, "at": row.at.isoformat(),
            "payload": row.payload}


def _query() -> Any:
    return (select(FlowSession, FlowVersion.name, FlowVersion.version, CampaignContact.campaign_id)
            .join(FlowVersion, FlowVersion.id == FlowSession.flow_version_id)
            .outerjoin(CampaignContact, CampaignContact.id == FlowSession.campaign_contact_id)
            .where(FlowSession.account_id.in_(visible_accounts())))


@blueprint.get("")
@requires(Role.OPERATOR, Role.SUPERVISOR)
def list_sessions():  # type: ignore[no-untyped-def]
    query = _query()
    args = request.args
    if "status" in args:
        if args["status"] not in STATUSES:
            raise bad_request(f"status must be one of {list(STATUSES)}", {"field": "status"})
        query = query.where(FlowSession.status == args["status"])
    if "channel" in args:
        query = query.where(FlowSession.channel == args["channel"][:TEXT_FILTER_LENGTH])
    if "address" in args:
        query = query.where(FlowSession.address == args["address"][:TEXT_FILTER_LENGTH])
    if "contact_id" in args:
        query = query.where(FlowSession.contact_id == query_id(args["contact_id"], "contact_id"))
    if "campaign_id" in args:
        query = query.where(CampaignContact.campaign_id == query_id(args["campaign_id"], "campaign_id"))
    if "flow" in args:
        query = query.where(FlowVersion.name == args["flow"][:200])
    if "started_after" in args:
        query = query.where(FlowSession.started_at >= query_time(args["started_after"], "started_after"))
    if "started_before" in args:
        query = query.where(FlowSession.started_at < query_time(args["started_before"], "started_before"))
    return page_of(query.order_by(FlowSession.started_at.desc(), FlowSession.id), _listed, rows=True)


@blueprint.get("/<session_id>")
@requires(Role.OPERATOR, Role.SUPERVISOR)
def session_detail(session_id: str):  # type: ignore[no-untyped-def]
    found = db().execute(_query().where(FlowSession.id == session_id[:64])).first()
    row = owned(found[0] if found else None, f"session {session_id[:64]}")
    assert found is not None
    events = list(db().scalars(select(SessionEvent).where(SessionEvent.session_id == row.id)
                               .order_by(SessionEvent.seq).limit(MAX_HISTORY + 1)))
    truncated = len(events) > MAX_HISTORY
    events = events[:MAX_HISTORY]
    state = row.state or {}
    parts = transcript.path(events)
    return {**_listed(found), "results": state.get("results", {}), "language": state.get("language"),
            "row_version": row.row_version, "history": [_event(event) for event in events],
            "history_truncated": truncated, "path": [part.to_dict() for part in parts],
            "transcript": [line.to_dict() for line in transcript.lines_of(parts)]}
