"""catalog_for (voiceplatform.messages.whatsapp_catalog) on SQLite and PostgreSQL: an account's
whatsapp_templates rows as the engine's TemplateCatalog, other accounts' left out, no rows no
catalog."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from voiceplatform.flow.whatsapp_templates import TemplateInfo
from voiceplatform.messages.whatsapp_catalog import catalog_for
from voiceplatform.models import Account
from voiceplatform.models.whatsapp import WhatsAppTemplate


def test_an_accounts_rows_are_its_catalog(engine: Engine) -> None:
    with Session(engine) as db, db.begin():
        mine, other, empty = Account(name="mine"), Account(name="other"), Account(name="empty")
        db.add_all([mine, other, empty])
        db.flush()
        db.add_all([
            WhatsAppTemplate(account_id=mine.id, name="reminder", language="en", category="utility", status="approved",
                             body_params=2, quick_replies=["Yes", "Ja, gern ✓"]),
            WhatsAppTemplate(account_id=mine.id, name="reminder", language="ar", category="UTILITY", status="PAUSED",
                             body_params=2, quick_replies=[]),
            WhatsAppTemplate(account_id=other.id, name="promo", language="en", category="MARKETING", status="APPROVED",
                             body_params=0, quick_replies=[]),
        ])
        db.flush()
        catalog = catalog_for(db, mine.id)
        assert catalog is not None and len(catalog) == 2
        assert catalog.get("reminder", "en") == TemplateInfo("reminder", "en", "UTILITY", "APPROVED", 2,
                                                             ("Yes", "Ja, gern ✓"))
        assert catalog.languages("reminder") == ("ar", "en") and catalog.get("promo", "en") is None
        assert catalog_for(db, empty.id) is None  # never synced: no catalog, so no check
