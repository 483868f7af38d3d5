"""An account's WhatsApp templates as the flow checks read them: the ``whatsapp_templates``
table (``voiceplatform.models.whatsapp.WhatsAppTemplate``, synced from Meta by the WhatsApp side)
turned into the engine's pure ``TemplateCatalog`` (voiceplatform.flow.whatsapp_templates).

An account with no template rows has no catalog (None): it has never synced its templates, so
validation checks only a flow's structure, and the estimate prices unknown templates as
marketing. With rows, every template a flow names must be among them
(voiceplatform.flow.template_checks)."""

from __future__ import annotations

from enum import Enum

from sqlalchemy import select
from sqlalchemy.orm import Session

from voiceplatform.flow.whatsapp_templates import TemplateCatalog, TemplateInfo
from voiceplatform.models.whatsapp import WhatsAppTemplate


def catalog_for(db: Session, account_id: int) -> TemplateCatalog | None:
    """The templates of ``account_id`` (None: it has none synced)."""
    rows = db.scalars(select(WhatsAppTemplate).where(WhatsAppTemplate.account_id == account_id)).all()
    if not rows:
        return None
    return TemplateCatalog(template_info(row) for row in rows)


def template_info(row: WhatsAppTemplate) -> TemplateInfo:
    """One row as the checks see it: status and category in Meta's upper case, the quick
    replies' texts in button order."""
    replies = row.quick_replies if isinstance(row.quick_replies, list) else []
    return TemplateInfo(row.name, row.language, _upper(row.category), _upper(row.status), int(row.body_params or 0),
                        tuple(str(reply) for reply in replies))


def _upper(value: object) -> str:
    text = value.value if isinstance(value, Enum) else value
    return str(text or "").upper()
