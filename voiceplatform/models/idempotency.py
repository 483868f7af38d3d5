"""Remembered answers to POSTs sent with an ``Idempotency-Key``, so a retried request is answered
the same way instead of being done twice."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from voiceplatform.models.base import Base, Created, Json


class IdempotencyKey(Created, Base):
    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("account_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    key: Mapped[str] = mapped_column(String(200))
    request_hash: Mapped[str] = mapped_column(String(64))  # method, path and body
    status: Mapped[int]
    response: Mapped[dict[str, Any]] = mapped_column(Json)
