"""Flows, versioned: each save is a new draft version; publishing freezes it. A campaign pins
one published version, so editing a flow never changes a running campaign."""

from __future__ import annotations

import hashlib
from datetime import datetime
from enum import Enum

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy import Enum as SqlEnum
from sqlalchemy.orm import Mapped, mapped_column

from voiceplatform.models.base import Base, Created, UtcDateTime


class FlowStatus(str, Enum):
    DRAFT = "draft"
    PUBLISHED = "published"
    ARCHIVED = "archived"


class FlowVersion(Created, Base):
    __tablename__ = "flow_versions"
    __table_args__ = (UniqueConstraint("account_id", "name", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    version: Mapped[int]
    status: Mapped[FlowStatus] = mapped_column(
        SqlEnum(FlowStatus, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e]),
        default=FlowStatus.DRAFT)
    definition: Mapped[str] = mapped_column(Text)  # the YAML, as written
    checksum: Mapped[str] = mapped_column(String(64))
    published_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    @staticmethod
    def checksum_of(definition: str) -> str:
        return hashlib.sha256(definition.encode("utf-8")).hexdigest()
