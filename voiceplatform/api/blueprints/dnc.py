"""The do-not-call list (checked again at the moment of dialling)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from sqlalchemy import select

from voiceplatform.api.auth import account_id, requires, visible_accounts
from voiceplatform.db.request_session import db
from voiceplatform.api.errors import ApiError, bad_request, not_found
from voiceplatform.api.idempotency import idempotent
from voiceplatform.api.pagination import page_of
from voiceplatform.api.requests import field, json_body
from voiceplatform.models import DoNotCall, Role
from voiceplatform.phone import InvalidPhoneNumber, to_e164

blueprint = Blueprint("dnc", __name__, url_prefix="/dnc")


def _entry(row: DoNotCall) -> dict[str, Any]:
    return {"phone": row.phone, "reason": row.reason, "account_id": row.account_id, "created_at": row.created_at.isoformat()}


def _e164(raw: str) -> str:
    try:
        return to_e164(raw)
    except InvalidPhoneNumber as exc:
        raise bad_request(str(exc), {"field": "phone"}, code="invalid_phone") from exc


@blueprint.post("")
@requires(Role.OPERATOR)
@idempotent
def add():  # type: ignore[no-untyped-def]
    body = json_body()
    phone = _e164(field(body, "phone", str))
    session = db()
    if session.scalars(select(DoNotCall).where(DoNotCall.account_id == account_id(), DoNotCall.phone == phone)).first():
        raise ApiError(409, "exists", f"{phone} is already on the do-not-call list")
    row = DoNotCall(account_id=account_id(), phone=phone, reason=field(body, "reason", str, required=False, default=""))
    session.add(row)
    session.flush()
    return _entry(row), 201


@blueprint.get("")
@requires(Role.OPERATOR, Role.SUPERVISOR)
def list_entries():  # type: ignore[no-untyped-def]
    return page_of(select(DoNotCall).where(DoNotCall.account_id.in_(visible_accounts())).order_by(DoNotCall.id), _entry)


@blueprint.delete("/<phone>")
@requires(Role.OPERATOR)
def remove(phone: str):  # type: ignore[no-untyped-def]
    row = db().scalars(select(DoNotCall).where(DoNotCall.account_id == account_id(), DoNotCall.phone == _e164(phone))).first()
    if row is None:
        raise not_found(f"{phone} on the do-not-call list")
    db().delete(row)
    return "", 204
