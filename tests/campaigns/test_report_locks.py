"""A delivery report that leaves its contact final does not lock the campaign's row (a bridge's
batch of receipts must not hold up the dialler's next batch of attempts, which locks it first);
one that makes the contact due again does, so it never crosses the campaign's completion.
PostgreSQL only: SQLite has one write lock for everything."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text, update
from sqlalchemy.exc import OperationalError

from tests.campaigns.messaging_world import MessagingWorld, attempts, numbers, seed_messaging
from voiceplatform.campaigns.message_outcomes import settle_message_outcome
from voiceplatform.db import session_factory
from voiceplatform.models import Campaign


def test_only_a_report_that_retries_waits_for_the_campaigns_row(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("row locks are PostgreSQL's; SQLite serialises every writer on one lock")
    sessions = session_factory(engine)
    seeded = seed_messaging(sessions, numbers(2, 790), name="report-locks",
                            settings={"retries": {"undelivered": {"retries": 1, "minutes": 60}}})
    MessagingWorld(sessions).completed(seeded.campaign_id)
    delivered, undelivered = (attempt.session_id or "" for attempt in attempts(sessions, seeded.campaign_id))
    with engine.connect() as dialler:  # the dialler's transaction, holding the campaign's row
        dialler.execute(update(Campaign).where(Campaign.id == seeded.campaign_id).values(status=Campaign.status))
        with sessions.begin() as db:
            db.execute(text("SET LOCAL lock_timeout = '3s'"))
            assert settle_message_outcome(db, delivered, "delivered").final is True
        with pytest.raises(OperationalError, match="lock timeout"), sessions.begin() as db:
            db.execute(text("SET LOCAL lock_timeout = '200ms'"))
            settle_message_outcome(db, undelivered, "undelivered")
        dialler.rollback()
    with sessions.begin() as db:  # once the dialler's transaction is over, the retry is applied
        settled = settle_message_outcome(db, undelivered, "undelivered")
    assert settled.applied and settled.final is False
