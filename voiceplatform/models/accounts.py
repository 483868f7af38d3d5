"""Accounts (with sub-accounts under a master), users with roles, and API tokens.

Tokens are shown once and stored as a SHA-256 hash; they expire, can be regenerated (the old one
stops working at once) and revoked."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime
from decimal import Decimal
from enum import Enum

from sqlalchemy import Boolean, ForeignKey, Numeric, String
from sqlalchemy import Enum as SqlEnum
from sqlalchemy.orm import Mapped, mapped_column, relationship

from voiceplatform.models.base import Base, Created, UtcDateTime, utcnow

TOKEN_PREFIX = "vp_"


class Role(str, Enum):
    ADMIN = "admin"
    DESIGNER = "designer"
    OPERATOR = "operator"
    SUPERVISOR = "supervisor"


class Account(Created, Base):
    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"), index=True)
    balance: Mapped[Decimal] = mapped_column(Numeric(14, 4), default=Decimal("0"))
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    recording_retention_days: Mapped[int | None] = mapped_column(default=90)

    parent: Mapped[Account | None] = relationship(remote_side="Account.id", back_populates="children")
    children: Mapped[list[Account]] = relationship(back_populates="parent")

    def tree_ids(self) -> list[int]:
        """This account and every sub-account below it."""
        ids, stack = [], [self]
        while stack:
            account = stack.pop()
            ids.append(account.id)
            stack.extend(account.children)
        return ids


class User(Created, Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[Role] = mapped_column(SqlEnum(Role, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e]))
    password_hash: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    account: Mapped[Account] = relationship()


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class ApiToken(Created, Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    name: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[Role] = mapped_column(SqlEnum(Role, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e]))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))  # shown in listings, to tell tokens apart
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    account: Mapped[Account] = relationship()

    @classmethod
    def issue(cls, account: Account, role: Role, *, name: str = "", expires_at: datetime | None = None,
              user: User | None = None) -> tuple[ApiToken, str]:
        """A new token row and the secret to show once."""
        secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
        row = cls(account=account, role=role, name=name, expires_at=expires_at, user_id=user.id if user else None,
                  token_hash=hash_token(secret), prefix=secret[: len(TOKEN_PREFIX) + 6])
        return row, secret

    def regenerate(self) -> str:
        """A new secret for this token; the old one stops working."""
        secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
        self.token_hash = hash_token(secret)
        self.prefix = secret[: len(TOKEN_PREFIX) + 6]
        return secret

    def revoke(self, at: datetime | None = None) -> None:
        self.revoked_at = at or utcnow()

    def usable(self, at: datetime | None = None) -> bool:
        now = at or utcnow()
        if self.revoked_at is not None and self.revoked_at <= now:
            return False
        return self.expires_at is None or now < self.expires_at
