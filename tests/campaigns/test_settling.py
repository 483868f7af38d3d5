"""A batch of delivery reports settled together (message_outcomes.settling): the same outcomes as
the same reports settled one by one, and a number of statements that does not grow with the
batch. On SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, event

from tests.campaigns.messaging_world import MessagingWorld, attempts, contacts, numbers, seed_messaging
from voiceplatform.campaigns.message_outcomes import MessageSettled, settle_message_outcome, settling
from voiceplatform.db import session_factory
from voiceplatform.models import Campaign

RETRY = {"retries": {"undelivered": {"retries": 1, "minutes": 60}}}


def _sent_campaign(engine: Engine, name: str, start: int, count: int) -> tuple[int, list[str]]:
    sessions = session_factory(engine)
    seeded = seed_messaging(sessions, numbers(count, start), name=name, settings=RETRY)
    MessagingWorld(sessions).completed(seeded.campaign_id)
    return seeded.campaign_id, [attempt.session_id or "" for attempt in attempts(sessions, seeded.campaign_id)]


def _script(ids: list[str]) -> list[tuple[str, str]]:
    """Delivered; undelivered (a retry); a repeat that changes nothing; unknown then learned;
    an in-progress report; a session of no campaign."""
    return [(ids[0], "delivered"), (ids[1], "undelivered"), (ids[0], "undelivered"), (ids[2], "unknown"),
            (ids[2], "delivered"), (ids[3], "enroute"), ("no-such-session", "delivered")]


def _settled(result: MessageSettled) -> tuple[Any, ...]:
    return result.applied, result.reason, result.outcome, result.final, result.next_attempt_at is None


def _state(engine: Engine, campaign_id: int) -> tuple[Any, ...]:
    sessions = session_factory(engine)
    rows = [(c.status, c.last_outcome, c.attempts, c.next_attempt_at is None) for c in contacts(sessions, campaign_id)]
    outcomes = [a.outcome for a in attempts(sessions, campaign_id)]
    with sessions() as db:
        campaign = db.get(Campaign, campaign_id)
        assert campaign is not None
        return rows, outcomes, campaign.status, campaign.status_reason


def test_a_batch_settled_together_ends_as_the_same_reports_one_by_one(engine: Engine) -> None:
    one_by_one, alone_ids = _sent_campaign(engine, "settle-alone", 700, 4)
    together, batch_ids = _sent_campaign(engine, "settle-together", 720, 4)
    sessions = session_factory(engine)
    with sessions.begin() as db:
        alone = [_settled(settle_message_outcome(db, sid, outcome)) for sid, outcome in _script(alone_ids)]
    with sessions.begin() as db:
        script = _script(batch_ids)
        with settling(db, {sid for sid, _ in script}):
            batch = [_settled(settle_message_outcome(db, sid, outcome)) for sid, outcome in script]
    assert batch == alone
    assert [applied for applied, *_ in batch] == [True, True, False, True, True, False, False]
    assert _state(engine, together) == _state(engine, one_by_one)
    _, outcomes, _, reason = _state(engine, together)
    assert sorted(outcomes) == ["delivered", "delivered", "sent", "undelivered"]
    assert reason == "retry_after_delivery_report"  # the undelivered one's retry reopened it


@contextmanager
def _statements(engine: Engine) -> Iterator[list[str]]:
    seen: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_a_batchs_statements_do_not_grow_with_its_reports(engine: Engine) -> None:
    counts = []
    for size, start in ((3, 760), (12, 780)):
        _, ids = _sent_campaign(engine, f"settle-{size}", start, size)
        sessions = session_factory(engine)
        with sessions.begin() as db, _statements(engine) as seen:
            with settling(db, ids):
                results = [settle_message_outcome(db, sid, "delivered") for sid in ids]
            db.flush()
        assert all(result.applied and result.final for result in results)
        counts.append(len(seen))
    assert counts[0] == counts[1], counts
