"""An account's template registry (``whatsapp_templates``) brought in line with what the Graph API
lists for its WhatsApp Business Account (``GraphClient.templates(waba_id)``), in the caller's
transaction: a translation listed is inserted or updated (category, status, body parameter
count, quick replies, ``synced_at``), one no longer listed is deleted. The flow checks and the
messages API read the registry (voiceplatform.messages.whatsapp_catalog.catalog_for)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from voiceplatform.models.whatsapp import WhatsAppTemplate

from whatsapp_bridge.graph_client import TemplateRecord


@dataclass(frozen=True, slots=True)
class Synced:
    added: int
    changed: int
    removed: int


def sync_templates(db: Session, account_id: int, records: Sequence[TemplateRecord], now: datetime) -> Synced:
    listed = {(record.name[:512], record.language[:20]): record for record in records}
    stored = {(row.name, row.language): row for row in db.scalars(
        select(WhatsAppTemplate).where(WhatsAppTemplate.account_id == account_id).with_for_update())}
    added = changed = removed = 0
    for key, record in listed.items():
        values = {"category": record.category[:40], "status": record.status[:40], "body_params": record.body_params,
                  "quick_replies": list(record.quick_replies)}
        row = stored.get(key)
        if row is None:
            db.add(WhatsAppTemplate(account_id=account_id, name=key[0], language=key[1], synced_at=now, **values))
            added += 1
            continue
        if any(getattr(row, name) != value for name, value in values.items()):
            changed += 1
        for name, value in values.items():
            setattr(row, name, value)
        row.synced_at = now
    for key, row in stored.items():
        if key not in listed:
            db.delete(row)
            removed += 1
    db.flush()
    return Synced(added, changed, removed)
