"""SMS campaigns on the dev channel, run by a worker with no switch, on SQLite and PostgreSQL:
each contact gets exactly one session and the outbox its message; the do-not-call list and
opt-outs are checked per channel when sending; a closed window defers; pacing spaces the
sessions; a delivery report of ``undelivered`` retries once after the configured delay, then is
final; stats count messages and SMS parts; the account is charged per part; an attempt whose
session cannot start keeps nothing of it and follows the ``failed`` rule."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import gevent
from sqlalchemy import Engine

from tests.campaigns.messaging_world import (MessagingWorld, attempts, contacts, numbers, outbox, seed_messaging,
                                             sessions_of)
from voiceplatform.campaigns.fanout import fan_out
from voiceplatform.campaigns.message_outcomes import settle_message_outcome
from voiceplatform.campaigns.progress import progress
from voiceplatform.campaigns.settings import CampaignSettings
from voiceplatform.db import session_factory
from voiceplatform.dialer.claims import next_to_message
from voiceplatform.exceptions import ChannelUnavailableError
from voiceplatform.models import Account, Campaign, CampaignContactStatus, CampaignStatus, Contact, DoNotCall
from voiceplatform.models.base import utcnow

GSM_200 = ("Dear customer, your statement for November is ready. Log in to see it, or reply HELP. " * 3)[:200]
ARABIC_80 = ("عميلنا العزيز، كشف حسابك لشهر نوفمبر جاهز الآن. " * 2)[:80]


def test_each_contact_gets_exactly_one_session_and_its_message(engine: Engine) -> None:
    sessions = session_factory(engine)
    phones = numbers(12, 100)
    seeded = seed_messaging(sessions, phones, name="sms-once", settings={"calls_per_second": 50})
    world = MessagingWorld(sessions)
    campaign = world.completed(seeded.campaign_id)
    assert campaign.finished_at is not None
    rows = contacts(sessions, seeded.campaign_id)
    assert [(row.status, row.attempts, row.last_outcome) for row in rows] == [(CampaignContactStatus.DONE, 1, "sent")] * 12
    started = sessions_of(sessions, [row.id for row in rows])
    assert sorted(s.campaign_contact_id for s in started) == sorted(row.id for row in rows)  # one each, none twice
    assert all(s.channel == "dev" and s.status == "completed" for s in started)
    sent = outbox(sessions, seeded.account_id)
    assert sorted(m.to_address for m in sent) == sorted(phones)
    assert {m.to_address: m.text for m in sent} == {phone: f"Hello {phone}" for phone in phones}
    assert {m.session_id for m in sent} == {s.id for s in started}
    assert [a.outcome for a in attempts(sessions, seeded.campaign_id)] == ["sent"] * 12


def test_do_not_call_and_sms_opt_outs_are_checked_when_sending_per_channel(engine: Engine) -> None:
    sessions = session_factory(engine)
    phones = numbers(4, 200)
    seeded = seed_messaging(sessions, phones, name="sms-opt-outs")
    fan_out(sessions, seeded.campaign_id, utcnow())  # queued first: only the send-time check can catch them
    with sessions.begin() as db:
        db.get(Campaign, seeded.campaign_id).fanned_out_at = utcnow()  # type: ignore[union-attr]
        db.add(DoNotCall(account_id=seeded.account_id, phone=phones[0]))
        db.get(Contact, seeded.contact_ids[1]).channels = ["voice", "whatsapp"]  # type: ignore[union-attr]  # STOP by SMS
        db.get(Contact, seeded.contact_ids[2]).channels = ["sms", "whatsapp"]  # type: ignore[union-attr]  # no more calls
    MessagingWorld(sessions).completed(seeded.campaign_id)
    outcomes = [(row.status.value, row.last_outcome) for row in contacts(sessions, seeded.campaign_id)]
    assert outcomes == [("skipped", "do-not-call"), ("skipped", "opted-out"), ("done", "sent"), ("done", "sent")]
    assert sorted(m.to_address for m in outbox(sessions, seeded.account_id)) == [phones[2], phones[3]]


def test_an_sms_opt_out_is_set_aside_at_fan_out_and_a_voice_opt_out_is_not(engine: Engine) -> None:
    sessions = session_factory(engine)
    phones = numbers(2, 250)
    seeded = seed_messaging(sessions, phones, name="sms-fan-out")
    with sessions.begin() as db:
        db.get(Contact, seeded.contact_ids[0]).channels = ["voice"]  # type: ignore[union-attr]
        db.get(Contact, seeded.contact_ids[1]).channels = ["sms"]  # type: ignore[union-attr]
    report = fan_out(sessions, seeded.campaign_id, utcnow())
    assert (report.added, report.skipped_opted_out) == (1, 1)


def test_a_contact_outside_its_sending_window_waits(engine: Engine) -> None:
    sessions = session_factory(engine)
    now = utcnow()
    closed_day = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[(now.weekday() + 2) % 7]
    seeded = seed_messaging(sessions, numbers(1, 300), name="sms-window",
                            settings={"window": {"start": "09:00", "end": "20:00", "days": [closed_day]}})
    fan_out(sessions, seeded.campaign_id, now)
    with sessions.begin() as db:  # due now despite the window: the send-time check defers it
        for row in contacts(sessions, seeded.campaign_id):
            db.merge(row).next_attempt_at = now
    with sessions.begin() as db:
        campaign = db.get(Campaign, seeded.campaign_id)
        assert campaign is not None
        due = next_to_message(db, campaign, CampaignSettings.model_validate(campaign.settings), now=now)
    assert due.entry is None and due.deferred == 1
    (row,) = contacts(sessions, seeded.campaign_id)
    assert row.status == CampaignContactStatus.PENDING and row.next_attempt_at > now and row.attempts == 0
    assert sessions_of(sessions, [row.id]) == [] and outbox(sessions, seeded.account_id) == []


def test_pacing_spaces_the_sessions(engine: Engine) -> None:
    sessions = session_factory(engine)
    seeded = seed_messaging(sessions, numbers(10, 400), name="sms-pace", settings={"calls_per_second": 5})
    MessagingWorld(sessions).completed(seeded.campaign_id)
    starts = sorted(attempt.sent_at for attempt in attempts(sessions, seeded.campaign_id))
    assert len(starts) == 10
    # 5/s (0.2 s apart) never bursts: after a delay the schedule catches up at most one interval,
    # so two starts may be close but never three within one interval; the exact rate is not a
    # unit test's business
    assert all((c - a).total_seconds() >= 0.2 * 0.9 for a, c in zip(starts, starts[2:]))
    assert (starts[-1] - starts[0]).total_seconds() >= 9 / 5 * 0.9


def test_the_per_second_cap_holds_below_the_pacing(engine: Engine) -> None:
    sessions = session_factory(engine)
    seeded = seed_messaging(sessions, numbers(6, 450), name="sms-cap",
                            settings={"calls_per_second": 100, "max_sessions_per_second": 2})
    MessagingWorld(sessions).completed(seeded.campaign_id)
    starts = sorted(attempt.sent_at for attempt in attempts(sessions, seeded.campaign_id))
    # any three consecutive sessions span more than a second: never 3 in one second
    assert all((c - a).total_seconds() > 1.0 for a, c in zip(starts, starts[2:]))


def test_undelivered_is_retried_once_after_the_delay_then_final(engine: Engine) -> None:
    sessions = session_factory(engine)
    seeded = seed_messaging(sessions, numbers(2, 500), name="sms-undelivered",
                            settings={"retries": {"undelivered": {"retries": 1, "minutes": 60}}})
    world = MessagingWorld(sessions)
    world.completed(seeded.campaign_id)
    first = attempts(sessions, seeded.campaign_id)
    with sessions.begin() as db:
        reported_at = utcnow()
        settled = settle_message_outcome(db, first[0].session_id or "", "undelivered", reported_at)
        delivered = settle_message_outcome(db, first[1].session_id or "", "delivered")
    assert settled.applied and settled.final is False and delivered.final is True
    assert settled.next_attempt_at == reported_at + timedelta(minutes=60)
    with sessions.begin() as db:  # a second report of the same attempt changes nothing
        assert not settle_message_outcome(db, first[0].session_id or "", "undelivered").applied
    with sessions() as db:
        campaign = db.get(Campaign, seeded.campaign_id)
        assert campaign is not None and campaign.status == CampaignStatus.RUNNING  # reopened for the retry
        assert campaign.status_reason == "retry_after_delivery_report"
    world.clock.offset = timedelta(minutes=30)  # not yet due: nothing is sent
    world.run_for(1.0)
    assert len(attempts(sessions, seeded.campaign_id)) == 2
    world.clock.offset = timedelta(minutes=61)
    world.completed(seeded.campaign_id)
    retried = attempts(sessions, seeded.campaign_id)
    assert len(retried) == 3 and retried[2].campaign_contact_id == first[0].campaign_contact_id
    assert retried[2].attempt == 2 and retried[2].sent_at >= reported_at + timedelta(minutes=60)
    with sessions.begin() as db:
        last = settle_message_outcome(db, retried[2].session_id or "", "undelivered")
    assert last.applied and last.final is True  # no retry left
    rows = {row.id: row for row in contacts(sessions, seeded.campaign_id)}
    row = rows[first[0].campaign_contact_id]
    assert (row.status, row.attempts, row.last_outcome) == (CampaignContactStatus.DONE, 2, "undelivered")
    assert rows[first[1].campaign_contact_id].last_outcome == "delivered"
    with sessions() as db:
        assert db.get(Campaign, seeded.campaign_id).status == CampaignStatus.COMPLETED  # type: ignore[union-attr]
    assert len(sessions_of(sessions, [row.id])) == 2  # one session per attempt
    with sessions.begin() as db:  # a report for a message of no campaign
        assert not settle_message_outcome(db, "no-such-session", "undelivered").applied


def test_stats_count_messages_and_parts_and_the_account_pays_per_part(engine: Engine) -> None:
    sessions = session_factory(engine)
    phones = numbers(3, 600)
    texts = {phones[0]: GSM_200, phones[1]: ARABIC_80, phones[2]: "Short one"}
    assert len(GSM_200) == 200 and len(ARABIC_80) == 80
    seeded = seed_messaging(sessions, phones, name="sms-parts", texts=texts, balance="10")
    world = MessagingWorld(sessions)
    world.completed(seeded.campaign_id)
    by_contact = {a.campaign_contact_id: a.parts for a in attempts(sessions, seeded.campaign_id)}
    assert sorted(by_contact.values()) == [1, 2, 2]  # 200 GSM-7 characters: 2 parts; 80 Arabic: 2 parts
    with sessions() as db:
        campaign = db.get(Campaign, seeded.campaign_id)
        assert campaign is not None
        stats = progress(db, campaign, utcnow())
        balance = db.get(Account, seeded.account_id).balance  # type: ignore[union-attr]
    assert stats["channel"] == "sms" and stats["messages"] == 3 and stats["parts"] == 5
    assert stats["attempts"] == 3 and stats["attempts_by_outcome"] == {"sent": 3}
    assert stats["calls"] == 0 and stats["outcomes"] == {"sent": 3}
    assert balance == Decimal("10") - 5 * world.context.rates.sms_per_part


def test_an_attempt_whose_session_cannot_start_is_failed_and_retried_by_its_rule(engine: Engine) -> None:
    sessions = session_factory(engine)
    phones = numbers(2, 650)
    seeded = seed_messaging(sessions, phones, name="sms-not-started")
    world = MessagingWorld(sessions)
    start_in = world.messaging.runner.start_in

    def refuse_the_first(db, **options):  # type: ignore[no-untyped-def]  # a driver that refuses one address
        if options["address"] == phones[0]:
            raise ChannelUnavailableError("the bridge refused the submission")
        return start_in(db, **options)

    world.messaging.runner.start_in = refuse_the_first  # type: ignore[method-assign]
    world.run_until(seeded.campaign_id, lambda _c: len(attempts(sessions, seeded.campaign_id)) == 2)
    failed, sent = sorted(attempts(sessions, seeded.campaign_id), key=lambda a: a.outcome)
    assert (failed.outcome, failed.session_id, failed.error, failed.messages) == (
        "failed", None, "the bridge refused the submission", 0)
    assert sent.outcome == "sent"
    rows = {row.id: row for row in contacts(sessions, seeded.campaign_id)}
    retried = rows[failed.campaign_contact_id]
    assert (retried.status, retried.attempts, retried.last_outcome) == (CampaignContactStatus.PENDING, 1, "failed")
    assert retried.next_attempt_at is not None and retried.next_attempt_at > failed.sent_at + timedelta(minutes=29)
    assert sessions_of(sessions, [retried.id]) == []  # nothing of the refused session was kept
    assert [m.to_address for m in outbox(sessions, seeded.account_id)] == [phones[1]]


def test_two_reports_of_one_attempt_at_once_are_applied_once(engine: Engine) -> None:
    sessions = session_factory(engine)
    seeded = seed_messaging(sessions, numbers(1, 680), name="sms-two-reports",
                            settings={"retries": {"undelivered": {"retries": 3, "minutes": 60}}})
    MessagingWorld(sessions).completed(seeded.campaign_id)
    (attempt,) = attempts(sessions, seeded.campaign_id)

    def report(outcome: str) -> bool:
        with sessions.begin() as db:
            return settle_message_outcome(db, attempt.session_id or "", outcome).applied

    reports = [gevent.spawn(report, outcome) for outcome in ("undelivered", "delivered", "undelivered")]
    gevent.joinall(reports, raise_error=True)
    assert sum(greenlet.value for greenlet in reports) == 1
    (row,) = contacts(sessions, seeded.campaign_id)
    (after,) = attempts(sessions, seeded.campaign_id)
    assert row.last_outcome == after.outcome and row.attempts == 1
    assert (row.status == CampaignContactStatus.PENDING) == (after.outcome == "undelivered")


MENU = """spec_version: 1
name: notice
channels: [whatsapp, sms]
start: ask
nodes:
  - id: ask
    type: gather
    text: "Confirm your visit?"
    choices:
      - {key: "1", label: "Yes"}
      - {key: "2", label: "No"}
    next: done
  - id: done
    type: say
    text: "Thanks"
"""


def test_a_whatsapp_campaign_carried_by_the_dev_channel_is_rendered_for_whatsapp(engine: Engine) -> None:
    sessions = session_factory(engine)
    phones = numbers(2, 950)
    seeded = seed_messaging(sessions, phones, name="wa-dev", channel="whatsapp", definition=MENU)
    MessagingWorld(sessions).completed(seeded.campaign_id)
    sent = outbox(sessions, seeded.account_id)
    assert sorted(m.to_address for m in sent) == sorted(phones)
    assert {m.rendered_as for m in sent} == {"whatsapp"}
    # WhatsApp quick-reply buttons, not the SMS "Reply 1 or 2" text menu
    assert all([b["title"] for b in m.payload["buttons"]] == ["Yes", "No"] for m in sent)
    started = sessions_of(sessions, [row.id for row in contacts(sessions, seeded.campaign_id)])
    assert {s.state["channel"] for s in started} == {"whatsapp"} and {s.channel for s in started} == {"dev"}
