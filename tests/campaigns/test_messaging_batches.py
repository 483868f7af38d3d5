"""Messaging attempts in batches (dialer.messaging.MessageSender.send_batch), on SQLite and
PostgreSQL: one transaction starts many sessions, each contact once; the batch holds to the
per-second cap and to what the balance covers; a contact whose session cannot start voids its
batch, whose contacts are then sent one by one (that one failed, the others sent); the
dispatcher sends in batches above ten a second."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest
from sqlalchemy import Engine, update

from tests.campaigns.messaging_world import (MessagingWorld, attempts, contacts, numbers, outbox, seed_messaging,
                                             sessions_of)
from voiceplatform.campaigns.fanout import fan_out
from voiceplatform.campaigns.settings import CampaignSettings
from voiceplatform.db import session_factory
from voiceplatform.dialer.dispatcher import CATCH_UP, MAX_BATCH, batch_size, next_slot
from voiceplatform.dialer.messaging import MessageSender
from voiceplatform.exceptions import ChannelUnavailableError
from voiceplatform.models import Account, Campaign, CampaignContactStatus
from voiceplatform.models.base import utcnow


def _sender(world: MessagingWorld) -> MessageSender:
    return MessageSender(world.sessions, world.messaging.runner, world.context.rates, world.clock)


def _account_id(world: MessagingWorld, campaign_id: int) -> int:
    with world.sessions() as db:
        campaign = db.get(Campaign, campaign_id)
        assert campaign is not None
        return campaign.account_id


def _fanned_out(engine: Engine, count: int, start: int, name: str,
                **settings: object) -> tuple[MessagingWorld, int, list[str], CampaignSettings]:
    sessions = session_factory(engine)
    phones = numbers(count, start)
    seeded = seed_messaging(sessions, phones, name=name, settings=dict(settings))
    fan_out(sessions, seeded.campaign_id, utcnow())
    return MessagingWorld(sessions), seeded.campaign_id, phones, CampaignSettings.model_validate(
        {"window": {"start": "00:00", "end": "24:00"}, **settings})


def test_a_batch_starts_each_due_contact_once_in_one_transaction(engine: Engine) -> None:
    world, campaign_id, phones, settings = _fanned_out(engine, 7, 700, "batch-once")
    first = _sender(world).send_batch(campaign_id, settings, 5)
    assert (first.outcome, first.placed) == ("placed", 5)
    second = _sender(world).send_batch(campaign_id, settings, 5)
    assert (second.outcome, second.placed) == ("placed", 2)
    assert _sender(world).send_batch(campaign_id, settings, 5).outcome == "idle"
    rows = contacts(world.sessions, campaign_id)
    assert {(row.status, row.attempts, row.last_outcome) for row in rows} == {(CampaignContactStatus.DONE, 1, "sent")}
    assert len(rows) == 7
    started = sessions_of(world.sessions, [row.id for row in rows])
    assert sorted(s.campaign_contact_id for s in started) == sorted(row.id for row in rows)
    assert sorted(m.to_address for m in outbox(world.sessions, _account_id(world, campaign_id))) == sorted(phones)
    assert [a.messages for a in attempts(world.sessions, campaign_id)] == [1] * 7  # the first step's text, counted


def test_a_batch_holds_to_the_per_second_cap_and_to_the_balance(engine: Engine) -> None:
    world, campaign_id, _phones, settings = _fanned_out(engine, 8, 720, "batch-cap", max_sessions_per_second=3)
    assert _sender(world).send_batch(campaign_id, settings, 6).placed == 3
    assert _sender(world).send_batch(campaign_id, settings, 6).outcome == "wait"  # 3 in the last second already
    uncapped = CampaignSettings.model_validate({"window": {"start": "00:00", "end": "24:00"}})
    rate = world.context.rates.minimum_charge("sms")
    with world.sessions.begin() as db:  # the balance covers two more attempts at the minimum charge
        db.execute(update(Account).where(Account.id == _account_id(world, campaign_id)).values(balance=rate * 2))
    assert _sender(world).send_batch(campaign_id, uncapped, 6).placed == 2
    with world.sessions() as db:
        account = db.get(Account, _account_id(world, campaign_id))
        assert account is not None and account.balance == Decimal(0)


def test_a_contact_that_cannot_start_voids_its_batch_then_each_is_sent_alone(engine: Engine) -> None:
    world, campaign_id, phones, settings = _fanned_out(engine, 4, 740, "batch-refused")
    start_in = world.messaging.runner.start_in

    def refuse_the_third(db, **options):  # type: ignore[no-untyped-def]  # a driver that refuses one address
        if options["address"] == phones[2]:
            raise ChannelUnavailableError("the bridge refused the submission")
        return start_in(db, **options)

    world.messaging.runner.start_in = refuse_the_third  # type: ignore[method-assign]
    result = _sender(world).send_batch(campaign_id, settings, 4)
    assert (result.outcome, result.placed) == ("placed", 4)
    by_outcome = sorted((a.outcome, a.session_id is None) for a in attempts(world.sessions, campaign_id))
    assert by_outcome == [("failed", True), ("sent", False), ("sent", False), ("sent", False)]
    assert sorted(m.to_address for m in outbox(world.sessions, _account_id(world, campaign_id))) == sorted(
        phones[:2] + phones[3:])  # each once: nothing of the voided batch was kept
    rows = contacts(world.sessions, campaign_id)
    assert len(sessions_of(world.sessions, [row.id for row in rows])) == 3


def test_the_dispatcher_sends_in_batches_above_ten_a_second(engine: Engine) -> None:
    sessions = session_factory(engine)
    seeded = seed_messaging(sessions, numbers(60, 760), name="batch-dispatcher", settings={"calls_per_second": 200})
    world = MessagingWorld(sessions)
    world.completed(seeded.campaign_id)
    starts = [attempt.sent_at for attempt in attempts(sessions, seeded.campaign_id)]
    assert len(starts) == 60 and len(set(starts)) < 60  # attempts of one batch share their transaction's time
    # never more than a tenth of a second's worth at once, or the last batch's duration's worth
    # when that took longer (batch_size): the time since the previous batch began bounds it
    times = sorted(set(starts))
    for previous, at in zip(times, times[1:]):
        assert starts.count(at) <= batch_size(200, (at - previous).total_seconds()) + 1, (previous, at, starts.count(at))
    assert starts.count(times[0]) <= 20


def test_a_batch_is_a_tenth_of_a_seconds_worth_or_the_last_batchs_when_the_database_is_behind() -> None:
    assert batch_size(200, 0.0) == 20  # the first batch
    assert batch_size(200, 0.05) == 20  # the database keeps up
    assert batch_size(200, 0.4) == 80  # behind: the last batch took 0.4 s
    assert batch_size(2000, 3.0) == MAX_BATCH
    assert batch_size(5, 0.0) == 1


def test_a_batch_spends_its_intervals_from_when_it_began_not_from_when_it_returned() -> None:
    # 400 attempts at 2,000 a second are 0.2 s of the schedule, from the batch's start
    assert next_slot(10.0, 10.0, 400, 2000) == pytest.approx(10.2)
    # a batch that began on time and took 0.3 s: the next is due at once (at 10.2, already past)
    began, returned = 10.0, 10.3
    assert next_slot(10.0, began, 400, 2000) < returned
    # a long pause is not saved up as a burst: only a twentieth of an interval is caught up
    assert next_slot(10.0, 50.0, 1, 2) == pytest.approx(50.0 - 0.5 * CATCH_UP + 0.5)
    assert next_slot(10.0, 50.0, 4, 2) == pytest.approx(50.0 - 0.5 * CATCH_UP + 2.0)
    # on schedule, evenly spaced: n single calls at 5 a second take n fifths of a second
    at = 0.0
    for _ in range(10):
        at = next_slot(at, at, 1, 5)
    assert at == pytest.approx(2.0)


def test_never_three_attempts_within_one_interval_whatever_they_take() -> None:
    """Single attempts of random durations, each observed (its time taken) anywhere inside it, as
    the dispatcher's loop runs them: one begins when the schedule says, or when the previous one
    returned if that is later. Three observations are never closer than an interval, less the
    catch-up."""
    rng = random.Random(20261204)
    interval = 0.2
    for _ in range(200):
        scheduled, now, seen = 0.0, 0.0, []
        for _ in range(12):
            began = max(now, scheduled + rng.choice((0.0, 0.0, 0.001, 0.02)))  # a sleep may overshoot
            took = rng.choice((0.001, 0.01, 0.15, 0.3, 0.5))
            seen.append(began + took * rng.random())
            now = began + took
            scheduled = next_slot(scheduled, began, 1, 1 / interval)
        assert all(c - a >= interval * (1 - CATCH_UP) - 1e-9 for a, c in zip(seen, seen[2:])), seen
