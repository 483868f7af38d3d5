"""What an SMS campaign's sessions speak from, on SQLite and PostgreSQL: a registered alphanumeric
sender ID named as ``settings.sender`` is the sessions' ``our_address`` (and the messages' sender),
a number of the account in another spelling is that number (with its row, so replies route to
it), no sender is the account's first SMS number, and a sender ID removed since the campaign was
created fails the attempt with the reason and sends nothing."""

from __future__ import annotations

from sqlalchemy import Engine, delete

from tests.campaigns.messaging_world import (MessagingWorld, attempts, contacts, numbers, outbox, seed_messaging,
                                             sessions_of)
from voiceplatform.db import session_factory
from voiceplatform.models import Number, NumberChannel
from voiceplatform.models.messages import SenderId
from voiceplatform.testing.campaign_seed import Seeded


def _with_sender_id(engine: Engine, sender: str | None, *, name: str, start: int) -> tuple[Seeded, int]:
    """A running SMS campaign of two contacts whose account has the sender ID ``ACME`` and the
    number +1 202 555 0199 (dev and sms); ``sender`` is its ``settings.sender``."""
    sessions = session_factory(engine)
    settings = {"calls_per_second": 50, **({"sender": sender} if sender is not None else {})}
    seeded = seed_messaging(sessions, numbers(2, start), name=name, settings=settings)
    with sessions.begin() as db:
        number = Number(account_id=seeded.account_id, number=f"+1202555{start + 99:04d}")
        db.add(number)
        db.flush()
        db.add_all([NumberChannel(number_id=number.id, channel=channel) for channel in ("dev", "sms")])
        db.add(SenderId(account_id=seeded.account_id, sender="ACME", kind="alphanumeric", countries=["SA"]))
    return seeded, number.id


def test_a_registered_alphanumeric_sender_id_is_the_sessions_address(engine: Engine) -> None:
    seeded, _ = _with_sender_id(engine, "ACME", name="sender-id", start=5100)
    sessions = session_factory(engine)
    MessagingWorld(sessions).completed(seeded.campaign_id)
    started = sessions_of(sessions, [row.id for row in contacts(sessions, seeded.campaign_id)])
    assert len(started) == 2 and {(s.our_address, s.number_id) for s in started} == {("ACME", None)}
    assert [m.from_address for m in outbox(sessions, seeded.account_id)] == ["ACME", "ACME"]
    assert [a.outcome for a in attempts(sessions, seeded.campaign_id)] == ["sent", "sent"]


def test_a_number_of_the_account_in_another_spelling_is_that_number(engine: Engine) -> None:
    seeded, number_id = _with_sender_id(engine, "(202) 555-5299", name="sender-number", start=5200)
    sessions = session_factory(engine)
    MessagingWorld(sessions).completed(seeded.campaign_id)
    started = sessions_of(sessions, [row.id for row in contacts(sessions, seeded.campaign_id)])
    assert {(s.our_address, s.number_id) for s in started} == {("+12025555299", number_id)}


def test_without_a_sender_the_accounts_first_number_on_the_transport_speaks(engine: Engine) -> None:
    seeded, number_id = _with_sender_id(engine, None, name="sender-default", start=5300)
    sessions = session_factory(engine)
    MessagingWorld(sessions).completed(seeded.campaign_id)
    started = sessions_of(sessions, [row.id for row in contacts(sessions, seeded.campaign_id)])
    assert {(s.our_address, s.number_id) for s in started} == {("+12025555399", number_id)}


def test_a_sender_id_removed_since_the_campaign_was_made_fails_the_attempt(engine: Engine) -> None:
    seeded, _ = _with_sender_id(engine, "ACME", name="sender-removed", start=5400)
    sessions = session_factory(engine)
    with sessions.begin() as db:
        db.execute(delete(SenderId).where(SenderId.account_id == seeded.account_id))
    world = MessagingWorld(sessions)
    world.run_until(seeded.campaign_id, lambda _: len(attempts(sessions, seeded.campaign_id)) >= 2)
    tried = attempts(sessions, seeded.campaign_id)
    assert {a.outcome for a in tried} == {"failed"} and all("ACME" in (a.error or "") for a in tried)
    assert outbox(sessions, seeded.account_id) == []
    assert sessions_of(sessions, [row.id for row in contacts(sessions, seeded.campaign_id)]) == []
