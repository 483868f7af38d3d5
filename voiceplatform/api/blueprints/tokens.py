"""API tokens (admins): create (the secret is shown once), list, regenerate, revoke."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint
from sqlalchemy import select

from voiceplatform.api.auth import account_id, owned, requires, visible_accounts
from voiceplatform.api.database import db
from voiceplatform.api.errors import bad_request, not_found
from voiceplatform.api.idempotency import idempotent
from voiceplatform.api.pagination import page_of
from voiceplatform.api.requests import field, json_body
from voiceplatform.models import Account, ApiToken, Role

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
    expires_at = _when(field(body, "expires_at", str, required=False))
    target = field(body, "account_id", int, required=False, default=account_id())
    if target not in visible_accounts():  # only this account or one of its sub-accounts
        raise not_found(f"account {target}")
    account = db().get(Account, target)
    row, secret = ApiToken.issue(account, role, name=name, expires_at=expires_at)
    db().add(row)
    db().flush()
    return {**_token(row), "token": secret}, 201


def _when(raw: str | None) -> datetime | None:
    if raw is None:
        return None
    try:
        when = datetime.fromisoformat(raw)
    except ValueError as exc:
        raise bad_request("expires_at must be an ISO 8601 time with a zone", {"field": "expires_at"}) from exc
    if when.tzinfo is None:
        raise bad_request("expires_at needs a time zone (e.g. 2027-01-01T00:00:00Z)", {"field": "expires_at"})
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
    return {**_token(row), "token": row.regenerate()}


@blueprint.delete("/<int:token_id>")
@requires(Role.ADMIN)
def revoke(token_id: int):  # type: ignore[no-untyped-def]
    owned(db().get(ApiToken, token_id), f"token {token_id}").revoke()
    return "", 204
