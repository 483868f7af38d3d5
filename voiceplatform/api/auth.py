"""Bearer-token authentication, roles, and tenant isolation.

Every route but the health checks and the OpenAPI document needs ``Authorization: Bearer <token>``.
A token belongs to an account and carries a role; a route names the roles it allows. A route may
also take HTTP Basic (``requires(..., basic=True)``: the personalised SMS API, brief 4.7): the
user is the account's id and the password one of its API tokens. A request
sees its account and, for a master account, the sub-accounts below it (``visible_accounts()``);
anything else answers 404, so a tenant cannot even learn that another tenant's object exists.
"""

from __future__ import annotations

import base64
import binascii
from datetime import timedelta
from functools import wraps
from typing import Any, Callable, TypeVar

from flask import g, request
from sqlalchemy import select

from voiceplatform.db.request_session import db
from voiceplatform.api.errors import ApiError
from voiceplatform.models import Account, ApiToken, Role
from voiceplatform.models.accounts import hash_token
from voiceplatform.models.base import utcnow

F = TypeVar("F", bound=Callable[..., Any])
ALL_ROLES = tuple(Role)
LAST_USED_RESOLUTION = timedelta(minutes=1)  # how stale a token's last_used_at may be


def authenticate(basic: bool = False) -> None:
    """The request's token, from ``Bearer <token>`` (or, when ``basic``, ``Basic`` with the
    account's id as the user and the token as the password)."""
    header = request.headers.get("Authorization", "")
    scheme, _, secret = header.partition(" ")
    claimed: str | None = None  # the account a Basic user names
    if basic and scheme.lower() == "basic":
        claimed, secret = _basic_credentials(secret)
    elif scheme.lower() != "bearer" or not secret.strip():
        raise ApiError(401, "unauthorized", "send Authorization: Bearer <token>"
                       + (" or Basic <account id>:<token>" if basic else ""))
    token = db().scalars(select(ApiToken).where(ApiToken.token_hash == hash_token(secret.strip()))).first()
    now = utcnow()
    if token is None or not token.usable(now) or (claimed is not None and claimed != str(token.account_id)):
        raise ApiError(401, "unauthorized", "the token is unknown, expired or revoked"
                       + (", or not the named account's" if claimed is not None else ""))
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        token.last_used_at = now
        db().commit()  # a short write of its own: never hold the write lock for the whole request
    g.token = token
    g.account = db().get(Account, token.account_id)
    g.role = token.role


def _basic_credentials(encoded: str) -> tuple[str, str]:
    """(user, password) of a Basic header; 401 when it is not base64 of ``user:password``."""
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        decoded = ""
    user, _, password = decoded.partition(":")
    if not user or not password:
        raise ApiError(401, "unauthorized", "Basic credentials are base64 of <account id>:<token>")
    return user, password


def requires(*roles: Role, basic: bool = False) -> Callable[[F], F]:
    """The route needs a token with one of ``roles`` (admin is always allowed); ``basic``: the
    token may also come as HTTP Basic credentials."""
    allowed = set(roles) | {Role.ADMIN}

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            authenticate(basic)
            if g.role not in allowed:
                raise ApiError(403, "forbidden", f"the {g.role.value} role cannot do this")
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


def account_id() -> int:
    return int(g.account.id)


def visible_accounts() -> list[int]:
    """This account and its sub-accounts."""
    if "visible" not in g:
        g.visible = g.account.tree_ids()
    return g.visible


def owned(row: Any, what: str) -> Any:
    """``row`` if the caller may see it, else 404."""
    if row is None or getattr(row, "account_id", None) not in visible_accounts():
        raise ApiError(404, "not_found", f"{what} not found")
    return row
