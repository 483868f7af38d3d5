"""Sender IDs: an account registers the alphanumeric or numeric senders it may send SMS from
(besides its own numbers), each with the countries it is registered in for the country check
(brief 4.2.9). ``GET/POST /senders``, ``GET/PATCH/DELETE /senders/{id}``. A sender ID is its
account's own: another account (its master or a sub-account included) cannot send from it.
docs/messages-api.md."""

from __future__ import annotations

from typing import Any

import phonenumbers
from flask import Blueprint
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from voiceplatform.api.auth import account_id, owned, requires, visible_accounts
from voiceplatform.api.blueprints.messages import known_fields, refused
from voiceplatform.api.errors import ApiError, bad_request, not_found
from voiceplatform.api.idempotency import idempotent
from voiceplatform.api.pagination import page_of
from voiceplatform.api.requests import field, json_body, patch_body
from voiceplatform.db.request_session import db
from voiceplatform.exceptions import MessageRefusedError
from voiceplatform.messages.countries import registration_countries
from voiceplatform.messages.sender_ids import parse_sender_id
from voiceplatform.models import Role
from voiceplatform.models.messages import SenderId

blueprint = Blueprint("senders", __name__, url_prefix="/senders")
MAX_COUNTRIES = 250


def _view(row: SenderId) -> dict[str, Any]:
    required = registration_countries()
    return {"id": row.id, "account_id": row.account_id, "sender": row.sender, "kind": row.kind,
            "countries": list(row.countries or []),
            "unregistered_where_required": sorted(required - set(row.countries or [])),
            "created_at": row.created_at.isoformat(), "updated_at": row.updated_at.isoformat()}


def _countries(body: dict[str, Any]) -> list[str]:
    raw = field(body, "countries", list, required=False, default=[])
    if len(raw) > MAX_COUNTRIES:
        raise bad_request(f"at most {MAX_COUNTRIES} countries", {"field": "countries"})
    codes = [code.strip().upper() if isinstance(code, str) else code for code in raw]
    unknown = [code for code in codes if not isinstance(code, str) or code not in phonenumbers.SUPPORTED_REGIONS]
    if unknown:
        raise bad_request(f"countries are ISO 3166 codes such as SA or EG; not {[str(c)[:8] for c in unknown][:10]}",
                          {"field": "countries"}, code="unknown_country")
    return sorted(set(codes))


@blueprint.post("")
@requires(Role.OPERATOR)
@idempotent
def register():  # type: ignore[no-untyped-def]
    body = json_body()
    known_fields(body, ("sender", "countries", "account_id"))
    target = field(body, "account_id", int, required=False, default=account_id())
    if target not in visible_accounts():
        raise not_found(f"account {target}")
    try:
        sender, kind = parse_sender_id(body.get("sender"))
    except MessageRefusedError as error:
        raise refused(error) from error
    countries = _countries(body)
    taken = ApiError(409, "sender_exists", f"{sender} is already a sender ID of this account", {"field": "sender"})
    if db().scalar(select(SenderId.id).where(SenderId.account_id == target, SenderId.sender == sender)) is not None:
        raise taken
    row = SenderId(account_id=target, sender=sender, kind=kind, countries=countries)
    db().add(row)
    try:
        db().flush()
    except IntegrityError as exc:  # a concurrent registration of the same sender ID
        db().rollback()
        raise taken from exc
    return _view(row), 201


@blueprint.get("")
@requires(Role.OPERATOR, Role.SUPERVISOR)
def list_senders():  # type: ignore[no-untyped-def]
    query = select(SenderId).where(SenderId.account_id.in_(visible_accounts()))
    return page_of(query.order_by(SenderId.id), _view)


def _mine(sender_id: int) -> SenderId:
    return owned(db().get(SenderId, sender_id), f"sender ID {sender_id}")


@blueprint.get("/<int:sender_id>")
@requires(Role.OPERATOR, Role.SUPERVISOR)
def detail(sender_id: int):  # type: ignore[no-untyped-def]
    return _view(_mine(sender_id))


@blueprint.patch("/<int:sender_id>")
@requires(Role.OPERATOR)
def change(sender_id: int):  # type: ignore[no-untyped-def]
    body = patch_body(("countries",))
    row = _mine(sender_id)
    row.countries = _countries(body)
    db().flush()
    return _view(row)


@blueprint.delete("/<int:sender_id>")
@requires(Role.OPERATOR)
def remove(sender_id: int):  # type: ignore[no-untyped-def]
    db().delete(_mine(sender_id))
    return "", 204
