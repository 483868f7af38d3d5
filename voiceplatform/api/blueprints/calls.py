"""Calls: list with filters, detail, and "call this number with this flow now".

A single call is a one-contact campaign of kind ``single`` (hidden from the campaign list), so it
gets everything a campaign call gets: the dial-time do-not-call check, a switch slot, recovery if
its worker dies, settlement, billing and the ``call.ended`` webhook. Its call id is known at once.
No calling window applies: an operator asked for this call now."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Callable

import uuid

from flask import Blueprint, current_app, request
from sqlalchemy import select

from voiceplatform.api.auth import account_id, owned, requires, visible_accounts
from voiceplatform.db.request_session import db
from voiceplatform.api.errors import ApiError, bad_request
from voiceplatform.api.idempotency import idempotent
from voiceplatform.api.pagination import page_of
from voiceplatform.api.published_flows import published_flow
from voiceplatform.api.requests import field, json_body, query_id, query_time
from voiceplatform.campaigns import lifecycle
from voiceplatform.exceptions import UnsafeValueError
from voiceplatform.models import (
    Call, Campaign, CampaignContact, CampaignContactStatus, CampaignStatus, Contact, DoNotCall, Role,
)
from voiceplatform.models.base import utcnow
from voiceplatform.phone import InvalidPhoneNumber, to_e164
from voiceplatform.safety import switch_values

blueprint = Blueprint("calls", __name__, url_prefix="/calls")
DIRECTIONS = ("outbound", "inbound")
OUTCOMES = ("answered", "busy", "no-answer", "rejected", "congestion", "failed", "machine")


def _stamp(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _call(row: Call, detail: bool = False) -> dict[str, Any]:
    out = {"id": row.id, "account_id": row.account_id, "campaign_id": row.campaign_id, "to": row.to,
           "direction": row.direction, "caller": row.caller, "number_id": row.number_id,
           "flow": row.flow_name, "switch": row.switch, "outcome": row.outcome, "cause": row.cause, "amd": row.amd,
           "queued_at": _stamp(row.queued_at), "answered_at": _stamp(row.answered_at), "ended_at": _stamp(row.ended_at),
           "billable_seconds": float(row.billable_seconds or 0), "results": row.results}
    if detail:
        out.update(path=row.path, transcript=row.transcript, messages=row.messages, errors=row.errors,
                   recordings=[{"id": r.id, "path": r.path, "duration": float(r.duration), "sha256": r.sha256, "node": r.node}
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
        query = query.where(Call.campaign_id == query_id(args["campaign_id"], "campaign_id"))
    if "to" in args:
        query = query.where(Call.to == args["to"])
    if "direction" in args:
        if args["direction"] not in DIRECTIONS:
            raise bad_request(f"direction must be one of {list(DIRECTIONS)}", {"field": "direction"})
        query = query.where(Call.direction == args["direction"])
    if "since" in args:
        query = query.where(Call.queued_at >= query_time(args["since"], "since"))
    if "until" in args:
        query = query.where(Call.queued_at < query_time(args["until"], "until"))
    return page_of(query.order_by(Call.queued_at.desc(), Call.id), _call)


@blueprint.post("")
@requires(Role.OPERATOR)
@idempotent
def call_now():  # type: ignore[no-untyped-def]
    body = json_body()
    session = db()
    try:
        phone = to_e164(field(body, "to", str), field(body, "region", str, required=False, default="US"))
    except InvalidPhoneNumber as exc:
        raise bad_request(str(exc), {"field": "to"}, code="invalid_phone") from exc
    flow = published_flow(body.get("flow"))
    attributes = field(body, "contact", dict, required=False, default={})
    ring_seconds = field(body, "ring_seconds", (int, float), required=False, default=30)
    if not 5 <= ring_seconds <= 120:
        raise bad_request("'ring_seconds' must be between 5 and 120", {"field": "ring_seconds"})
    caller_id = field(body, "caller_id", str, required=False)
    if caller_id is not None:
        caller_id = _switch_value(switch_values.caller_id_text, caller_id, "caller_id")
    phone = _switch_value(switch_values.destination, phone, "to")
    if session.scalar(select(DoNotCall.id).where(DoNotCall.account_id == account_id(), DoNotCall.phone == phone)):
        raise ApiError(409, "do_not_call", f"{phone} is on the do-not-call list")
    contact = session.scalars(select(Contact).where(Contact.account_id == account_id(), Contact.phone == phone)).first()
    if contact is None:
        contact = Contact(account_id=account_id(), phone=phone, attributes={})
        session.add(contact)
    elif contact.opted_out_at is not None:
        raise ApiError(409, "opted_out", f"{phone} has opted out")
    contact.attributes = {**(contact.attributes or {}), **attributes}
    now = utcnow()
    settings = {"calls_per_second": 1, "max_concurrent": 1, "ring_seconds": ring_seconds, "caller_id": caller_id,
                "window": {"start": "00:00", "end": "24:00"},
                "retries": {outcome: {"retries": 0} for outcome in OUTCOMES if outcome != "answered"}}
    campaign = Campaign(account_id=account_id(), kind="single", name=f"call {phone}", flow_version_id=flow.id,
                        settings=settings, status=CampaignStatus.DRAFT, fanned_out_at=now)
    session.add(campaign)
    session.flush()
    try:
        lifecycle.start(session, campaign, current_app.extensions["vp_rates"], now)
    except lifecycle.TransitionRefused as refused:
        raise ApiError(refused.status, refused.code, refused.message) from refused
    call_id = uuid.uuid4().hex
    entry = CampaignContact(campaign_id=campaign.id, contact_id=contact.id, status=CampaignContactStatus.PENDING,
                            attempts=0, next_attempt_at=now, last_call_id=call_id)
    session.add(entry)
    session.flush()
    call = Call(id=call_id, account_id=account_id(), campaign_id=campaign.id, campaign_contact_id=entry.id,
                contact_id=contact.id, flow_version_id=flow.id, flow_name=flow.name, to=phone, switch="", queued_at=now)
    session.add(call)
    session.flush()
    current_app.extensions["vp_jobs"].enqueue("voiceplatform.dialer.jobs.wake_dialer")
    return {**_call(call), "status": "queued"}, 202


@blueprint.get("/<call_id>")
@requires(Role.OPERATOR, Role.SUPERVISOR)
def call_detail(call_id: str):  # type: ignore[no-untyped-def]
    return _call(owned(db().get(Call, call_id), f"call {call_id}"), detail=True)


def _switch_value(check: Callable[[object, str], str], value: str, name: str) -> str:
    """A value bound for the switch, checked by the one validator; a 400 naming the field."""
    try:
        return check(value, name)
    except UnsafeValueError as exc:
        raise bad_request(str(exc), {"field": name}, code="unsafe_value") from exc
