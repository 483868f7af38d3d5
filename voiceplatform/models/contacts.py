"""Contacts (E.164 numbers, timezone, attributes, channel preferences, opt-outs), contact lists,
the imports that made them, and the do-not-call list."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, validates

from voiceplatform.models.base import Base, Created, Json, UtcDateTime
from voiceplatform.safety.locale import iana_zone, language_tag


class Contact(Created, Base):
    __tablename__ = "contacts"
    __table_args__ = (UniqueConstraint("account_id", "phone"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    phone: Mapped[str] = mapped_column(String(20))  # E.164
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    language: Mapped[str | None] = mapped_column(String(10))
    attributes: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    channels: Mapped[list[str]] = mapped_column(Json, default=lambda: ["voice", "sms", "whatsapp"])
    opted_out_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    @validates("timezone")
    def _zone(self, key: str, value: str) -> str:
        """Only IANA zone names (not ``localtime``, ``Factory``): voiceplatform.safety.locale."""
        return iana_zone(value, key)

    @validates("language")
    def _language(self, key: str, value: str | None) -> str | None:
        return None if value is None else language_tag(value, key)


class ContactList(Created, Base):
    """A named list of contacts. A name is unique in its account, so that a retried or concurrent
    import can never make a second list of the same name."""

    __tablename__ = "contact_lists"
    __table_args__ = (Index("uq_contact_lists_account_id_name", "account_id", "name", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))


class ContactListMember(Base):
    __tablename__ = "contact_list_members"

    list_id: Mapped[int] = mapped_column(ForeignKey("contact_lists.id", ondelete="CASCADE"), primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True, index=True)


class ContactImport(Created, Base):
    """One applied contact import, written in the import's own transaction. ``fingerprint`` is
    the SHA-256 of the file's SHA-256 and the import's options (list, append, phone column,
    region): the same file sent again for the same list is answered with ``report`` instead of
    being applied twice (voiceplatform.contacts.importer)."""

    __tablename__ = "contact_imports"
    __table_args__ = (UniqueConstraint("account_id", "fingerprint"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    fingerprint: Mapped[str] = mapped_column(String(64))
    file_sha256: Mapped[str] = mapped_column(String(64))
    list_id: Mapped[int | None] = mapped_column(ForeignKey("contact_lists.id", ondelete="SET NULL"))
    report: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)


class DoNotCall(Created, Base):
    __tablename__ = "do_not_call"
    __table_args__ = (UniqueConstraint("account_id", "phone"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    phone: Mapped[str] = mapped_column(String(20))  # E.164
    reason: Mapped[str] = mapped_column(String(200), default="")
