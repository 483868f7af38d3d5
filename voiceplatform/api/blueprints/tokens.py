"""API tokens (admins): create (the secret is shown once), list, regenerate, revoke.

A token cannot be created already expired (``expires_at`` must be in the future), and a revoked or
expired token cannot be regenerated (409): its secret would never work, so create a new token.
The name is at most the column's 200 characters (422, from voiceplatform.models.lengths); a body
past ``max_request_bytes`` is 413 before it is read."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint
from sqlalchemy import select

from voiceplatform.api.auth import account_id, owned, requires, visible_accounts
from voiceplatform.db.request_session import db
from voiceplatform.api.errors import ApiError, bad_request, not_found
from voiceplatform.api.idempotency import idempotent
from voiceplatform.api.pagination import page_of
from voiceplatform.api.requests import field, json_body, parse_time
from voiceplatform.models import Account, ApiToken, Role
from voiceplatform.models.base import utcnow

blueprint = Blueprint("tokens", __name__, url_prefix="/tokens")


def _token(row: ApiToken) -> dict[str, Any]:
    return {"id": row.id, "name": row.name, "role": row.role.value, "prefix": row.prefix,
            "account_id": row.account_id,
            "expires_at": row.expires_at.isoformat() if row.expires_at else None,
            "revoked_at": row.revoked_at.isoformat() if row.revoked_at else None,
            "last_used_at": row.last_used_at.isoformat() if row.last_used_at else None}


@blueprint.post("")
@requires(Role.ADMIN)
@idempotent
def create():  # type: ignore[no-untyped-def]
    body = json_body()
    name = field(body, "name", str, required=False, default="")
    role_name = field(body, "role", str)
    try:
        role = Role(role_name)
    except ValueError as exc:
        raise bad_request(f"role must be one of {[r.value for r in Role]}", {"field": "role"}) from exc
    expires_at = _when(body.get("expires_at"))
    target = field(body, "account_id", int, required=False, default=account_id())
    if target not in visible_accounts():  # only this account or one of its sub-accounts
        raise not_found(f"account {target}")
    account = db().get(Account, target)
    if account is None:
        raise not_found(f"account {target}")
    row, secret = ApiToken.issue(account, role, name=name, expires_at=expires_at)
    db().add(row)
    db().flush()
    return {**_token(row), "token": secret}, 201


def _when(raw: Any) -> datetime | None:
    if raw is None:
        return None
    when = parse_time(raw, "expires_at")
    if when <= utcnow():
        raise ApiError(422, "expired", f"expires_at {raw} is not in the future", {"field": "expires_at"})
    return when


@blueprint.get("")
@requires(Role.ADMIN)
def list_tokens():  # type: ignore[no-untyped-def]
    return page_of(select(ApiToken).where(ApiToken.account_id.in_(visible_accounts())).order_by(ApiToken.id), _token)


@blueprint.post("/<int:token_id>/regenerate")
@requires(Role.ADMIN)
@idempotent
def regenerate(token_id: int):  # type: ignore[no-untyped-def]
    row = owned(db().get(ApiToken, token_id), f"token {token_id}")
    now = utcnow()
    if row.revoked_at is not None and row.revoked_at <= now:
        raise ApiError(409, "revoked", f"token {token_id} is revoked and cannot be regenerated: create a new token")
    if row.expires_at is not None and row.expires_at <= now:
        raise ApiError(409, "expired", f"token {token_id} has expired and cannot be regenerated: create a new token")
    return {**_token(row), "token": row.regenerate()}


@blueprint.delete("/<int:token_id>")
@requires(Role.ADMIN)
def revoke(token_id: int):  # type: ignore[no-untyped-def]
    owned(db().get(ApiToken, token_id), f"token {token_id}").revoke()
    return "", 204
