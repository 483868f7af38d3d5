"""The sender's side of the messages table, on SQLite and PostgreSQL, with a scripted submitter
(no SMSC): the driver queues only in a committed transaction; claims never overlap; each answer
is recorded as the outbox says (accepted, refused, slowed down and retried with only the missing
parts, unanswered under both policies); a claim that ran out is recovered; the sender loop
drains the queue and stops cleanly."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import gevent
import pytest
import smpplib.consts
from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from tests.sms_bridge.scripted import ScriptedSubmitter, account, queue
from voiceplatform.channels.contract import Delivery
from voiceplatform.db import session_factory
from voiceplatform.flow.outputs import Say, Send
from voiceplatform.lab.polling import poll
from voiceplatform.models.base import utcnow
from voiceplatform.models.sms import SmsMessage, SmsPart

from sms_bridge import outbox
from sms_bridge.config import BridgeSettings
from sms_bridge.counters import Counters
from sms_bridge.driver import SmsChannel
from sms_bridge.esme import ESME_RMSGQFUL, ESME_RTHROTTLED, SubmitAnswer, SubmitNotSent, SubmitUnanswered
from sms_bridge.sender import Sender, submit_message

SETTINGS = BridgeSettings(retry_delay=1.0)
ESME_RINVDSTADR = smpplib.consts.SMPP_ESME_RINVDSTADR
LONG = "A long notice, sentence after sentence, until it needs three parts. " * 6  # 414 GSM-7 characters


@pytest.fixture(autouse=True)
def nothing_left_queued(engine: Engine) -> None:
    """Every test starts with no message waiting for the sender (the database is the module's)."""
    with session_factory(engine).begin() as db:
        db.execute(update(SmsMessage).where(SmsMessage.send_state.in_(("queued", "submitting")))
                   .values(send_state="failed", error="left by an earlier test"))


def send_pass(sessions: sessionmaker[Session], submitter: ScriptedSubmitter, now: datetime,
              settings: BridgeSettings = SETTINGS, worker: str = "w1") -> outbox.Recorded:
    with sessions.begin() as db:
        claimed = outbox.claim(db, worker, now, 100, settings.claim_lease)
    results = [submit_message(submitter, message, Counters()) for message in claimed]
    with sessions.begin() as db:
        return outbox.record(db, results, worker, now, settings)


def one(sessions: sessionmaker[Session], destination: str) -> SmsMessage:
    with sessions() as db:
        return db.scalars(select(SmsMessage).where(SmsMessage.destination == destination)).one()


def parts(sessions: sessionmaker[Session], message_id: int) -> list[tuple[int, str | None, str | None]]:
    with sessions() as db:
        return [(p.seq, p.submit_id, p.status) for p in db.scalars(
            select(SmsPart).where(SmsPart.message_id == message_id).order_by(SmsPart.seq))]


def test_the_driver_queues_only_what_its_transaction_commits(engine: Engine) -> None:
    sessions = session_factory(engine)
    owner = account(sessions, "queues")
    driver = SmsChannel(BridgeSettings())
    with pytest.raises(RuntimeError):
        with sessions.begin() as db:
            driver.deliver(db, Delivery(None, owner, "+12025551001", "+12025559000", "sms",
                                        (Send("sms", "rolled back"),)))
            raise RuntimeError("the step failed")
    assert one_or_none(sessions, "+12025551001") is None
    with sessions.begin() as db:
        count = driver.deliver(db, Delivery(None, owner, "+12025551001", "ACME", "sms",
                                            (Say("not a message"), Send("sms", "مرحبا بكم في خدمتنا"),
                                             Send("sms", LONG, to="+12025551002"))))
    assert count == 2
    arabic, long = one(sessions, "+12025551001"), one(sessions, "+12025551002")
    assert (arabic.encoding, arabic.parts, arabic.source_ton, arabic.source_npi) == ("ucs2", 1, 5, 0)
    assert (long.encoding, long.parts, long.send_state, long.status) == ("gsm7", 3, "queued", None)
    assert long.cost == Decimal("0.0225")  # 3 parts at the default 0.0075


def one_or_none(sessions: sessionmaker[Session], destination: str) -> SmsMessage | None:
    with sessions() as db:
        return db.scalars(select(SmsMessage).where(SmsMessage.destination == destination)).first()


def test_messages_that_cannot_go_out_are_recorded_failed_without_a_submit(engine: Engine) -> None:
    sessions = session_factory(engine)
    owner = account(sessions, "failures")
    queue(sessions, owner, {"+12025551011": "no sender"}, sender=None)
    queue(sessions, owner, {"answer-press-1": "no phone number"})
    queue(sessions, owner, {"+12025551013": "bad sender"}, sender="Sender With Spaces Too Long")
    submitter = ScriptedSubmitter()
    recorded = send_pass(sessions, submitter, utcnow())
    assert recorded.failed == 3 and submitter.requests == []
    errors = {m.destination: (m.send_state, m.error) for m in session_messages(sessions, owner)}
    assert errors["+12025551011"][0] == "failed" and "no sender address" in (errors["+12025551011"][1] or "")
    assert "E.164" in (errors["answer-press-1"][1] or "") and "sender ID" in (errors["+12025551013"][1] or "")


def session_messages(sessions: sessionmaker[Session], owner: int) -> list[SmsMessage]:
    with sessions() as db:
        return list(db.scalars(select(SmsMessage).where(SmsMessage.account_id == owner).order_by(SmsMessage.id)))


def test_two_senders_never_claim_the_same_message(engine: Engine) -> None:
    sessions = session_factory(engine)
    owner = account(sessions, "claims")
    queue(sessions, owner, {f"+120255520{n:02d}": f"message {n}" for n in range(40)})
    now = utcnow()

    def take(worker: str) -> list[int]:
        taken: list[int] = []
        while True:
            with sessions.begin() as db:
                claimed = outbox.claim(db, worker, now, 7, 60)
            if not claimed:
                return taken
            taken += [message.id for message in claimed]
            gevent.sleep(0)

    first, second = gevent.spawn(take, "w1"), gevent.spawn(take, "w2")
    gevent.joinall([first, second], raise_error=True)
    assert not set(first.value) & set(second.value)
    assert len(first.value) + len(second.value) == 40
    with sessions() as db:
        assert db.scalar(select(func.count()).select_from(SmsMessage).where(
            SmsMessage.account_id == owner, SmsMessage.send_state == "submitting")) == 40


def test_each_answer_is_recorded_as_the_outbox_says(engine: Engine) -> None:
    sessions = session_factory(engine)
    owner = account(sessions, "answers")
    queue(sessions, owner, {"+12025551101": "accepted", "+12025551102": LONG, "+12025551103": LONG,
                            "+12025551104": "queue full once"})
    submitter = ScriptedSubmitter({
        "+12025551102": [submitter_accept("p1"), SubmitAnswer(ESME_RTHROTTLED, None)],  # part 2 throttled
        "+12025551103": [submitter_accept("q1"), SubmitAnswer(ESME_RINVDSTADR, None)],  # part 2 refused
        "+12025551104": [SubmitAnswer(ESME_RMSGQFUL, None)],
    })
    now = utcnow()
    recorded = send_pass(sessions, submitter, now)
    assert (recorded.submitted, recorded.requeued) == (2, 2)
    accepted = one(sessions, "+12025551101")
    assert (accepted.send_state, accepted.status, accepted.attempts) == ("submitted", "accepted", 1)
    throttled = one(sessions, "+12025551102")
    assert (throttled.send_state, throttled.status, throttled.attempts) == ("queued", "accepted", 1)
    assert throttled.next_attempt_at is not None and abs((throttled.next_attempt_at - now).total_seconds() - 1.0) < 0.01
    assert parts(sessions, throttled.id) == [(1, "p1", "accepted")]
    refused = one(sessions, "+12025551103")
    assert (refused.send_state, refused.status) == ("submitted", "rejected")
    assert refused.error == "part 2: ESME_RINVDSTADR" and len(submitter.by_destination["+12025551103"]) == 2  # not 3
    assert one(sessions, "+12025551104").send_state == "queued"

    assert send_pass(sessions, submitter, now).submitted == 0  # not due yet: nothing claimed
    second = send_pass(sessions, submitter, now + timedelta(seconds=1))
    assert (second.submitted, second.requeued) == (2, 0)
    resent = submitter.by_destination["+12025551102"]
    assert [r.short_message[5] for r in resent] == [1, 2, 2, 3]  # UDH part numbers: part 1 never again
    throttled = one(sessions, "+12025551102")
    assert (throttled.send_state, throttled.status, throttled.attempts) == ("submitted", "accepted", 2)
    assert [seq for seq, _, _ in parts(sessions, throttled.id)] == [1, 2, 3]
    assert one(sessions, "+12025551104").status == "accepted"


def submitter_accept(message_id: str) -> SubmitAnswer:
    return SubmitAnswer(0, message_id)


def test_throttling_slows_a_message_down_but_never_fails_it(engine: Engine) -> None:
    sessions = session_factory(engine)
    owner = account(sessions, "always-throttled")
    queue(sessions, owner, {"+12025551201": "always throttled"})
    submitter = ScriptedSubmitter({"+12025551201": [SubmitAnswer(ESME_RTHROTTLED, None)] * 6})
    now, delays = utcnow(), []
    for _ in range(6):
        send_pass(sessions, submitter, now)
        message = one(sessions, "+12025551201")
        assert message.send_state == "queued" and message.status is None and message.next_attempt_at is not None
        delays.append(round((message.next_attempt_at - now).total_seconds()))
        now = message.next_attempt_at
    assert delays == [1, 2, 4, 8, 16, 32]  # doubling, never failed
    send_pass(sessions, submitter, now)
    assert one(sessions, "+12025551201").status == "accepted"


@pytest.mark.parametrize("policy", ["unknown", "resend"])
def test_a_submit_with_no_answer_follows_the_policy_and_is_counted(engine: Engine, policy: str) -> None:
    sessions = session_factory(engine)
    owner = account(sessions, f"no-answer-{policy}")
    destination = "+12025551301" if policy == "unknown" else "+12025551302"
    queue(sessions, owner, {destination: "no answer"})
    settings = BridgeSettings(no_response=policy)
    submitter = ScriptedSubmitter({destination: [SubmitUnanswered("no submit_sm_resp within 10 s")]})
    now = utcnow()
    recorded = send_pass(sessions, submitter, now, settings)
    assert recorded.unconfirmed == 1
    message = one(sessions, destination)
    assert message.unconfirmed == 1 and "no submit_sm_resp" in (message.error or "")
    if policy == "unknown":
        assert (message.send_state, message.status) == ("submitted", "unknown")
        assert parts(sessions, message.id) == [(1, None, "unknown")]
        send_pass(sessions, submitter, now + timedelta(hours=1), settings)
        assert len(submitter.by_destination[destination]) == 1  # never sent again
    else:
        assert (message.send_state, message.status) == ("queued", None)
        send_pass(sessions, submitter, now + timedelta(seconds=1), settings)
        assert len(submitter.by_destination[destination]) == 2
        assert one(sessions, destination).status == "accepted"


def test_a_message_whose_bind_went_away_goes_back_to_the_queue(engine: Engine) -> None:
    sessions = session_factory(engine)
    owner = account(sessions, "not-sent")
    queue(sessions, owner, {"+12025551401": "no bind"})
    submitter = ScriptedSubmitter({"+12025551401": [SubmitNotSent("no bind is up")]})
    now = utcnow()
    send_pass(sessions, submitter, now)
    assert (one(sessions, "+12025551401").send_state, one(sessions, "+12025551401").unconfirmed) == ("queued", 0)
    send_pass(sessions, submitter, now + timedelta(seconds=1))
    assert one(sessions, "+12025551401").status == "accepted"


@pytest.mark.parametrize("policy", ["unknown", "resend"])
def test_a_claim_that_ran_out_is_recovered_by_the_policy(engine: Engine, policy: str) -> None:
    sessions = session_factory(engine)
    owner = account(sessions, f"recovery-{policy}")
    destination = "+12025551501" if policy == "unknown" else "+12025551502"
    queue(sessions, owner, {destination: LONG})
    settings = BridgeSettings(no_response=policy, claim_lease=30)
    now = utcnow()
    with sessions.begin() as db:
        [claimed] = [m for m in outbox.claim(db, "dead", now, 100, 30) if m.destination == destination]
    with sessions.begin() as db:  # part 1's answer was stored, then the sender died
        outbox.record(db, [outbox.SendResult(claimed.id, (outbox.PartResult(1, outbox.Outcome.ACCEPTED, "r1"),
                                                          outbox.PartResult(2, outbox.Outcome.NOT_SENT)))],
                      "dead", now, settings)
        db.get(SmsMessage, claimed.id).send_state = "submitting"  # type: ignore[union-attr]  # as if mid-pass again
        db.get(SmsMessage, claimed.id).claimed_until = now + timedelta(seconds=30)  # type: ignore[union-attr]
    with sessions.begin() as db:
        assert outbox.recover(db, now, settings) == 0  # not run out yet
    with sessions.begin() as db:
        assert outbox.recover(db, now + timedelta(seconds=31), settings) == 1
    message = one(sessions, destination)
    if policy == "unknown":
        assert (message.send_state, message.unconfirmed) == ("submitted", 2)
        assert parts(sessions, message.id) == [(1, "r1", "accepted"), (2, None, "unknown"), (3, None, "unknown")]
        assert message.status == "enroute"  # part 1 may still be delivered; unknown once it is final
    else:
        assert (message.send_state, message.claimed_by) == ("queued", None)


def test_the_sender_loop_drains_the_queue_and_stops_cleanly(engine: Engine) -> None:
    sessions = session_factory(engine)
    owner = account(sessions, "loop")
    destinations = {f"+120255530{n:02d}": f"loop {n}" for n in range(60)}
    queue(sessions, owner, destinations)
    submitter = ScriptedSubmitter()
    sender = Sender(sessions, submitter, BridgeSettings(claim_batch=16, max_in_flight=20, poll_every=0.01), "loop",
                    Counters()).start()
    try:
        done = poll(lambda: True if all(m.send_state == "submitted" for m in session_messages(sessions, owner))
                    else None, 20)
        assert done, [m.send_state for m in session_messages(sessions, owner)]
    finally:
        sender.stop(5)
    assert sorted("+" + r.destination.address for r in submitter.requests) == sorted(destinations)
    assert not sender.in_flight



def test_a_submit_that_fails_midway_leaves_no_answer_waiting_to_be_written(engine: Engine) -> None:
    """Part 1 accepted (its answer read by the bind: ``answered``), then the submit of part 2
    raises something unexpected: the message is left to recovery, and receipts for part 1 no
    longer wait for a write that will never come (they used to wait WAIT_WRITTEN each, forever)."""
    sessions = session_factory(engine)
    owner = account(sessions, "midway")
    destination = "+12025553190"
    queue(sessions, owner, {destination: "x" * 200})  # two parts
    holder: list[Sender] = []

    class AnsweredThenBroken(ScriptedSubmitter):
        def submit(self, request: Any) -> SubmitAnswer:
            if self.requests:
                raise RuntimeError("a library's surprise")
            answer = super().submit(request)
            holder[0].answered(answer.message_id)  # as the bind does when it reads the answer
            return answer

    submitter = AnsweredThenBroken()
    sender = Sender(sessions, submitter, BridgeSettings(claim_batch=4, max_in_flight=4, poll_every=0.01), "midway",
                    Counters())
    holder.append(sender)
    sender.start()
    try:
        assert poll(lambda: True if len(submitter.requests) == 1 and not sender.in_flight else None, 20)
    finally:
        sender.stop(5)
    assert sender.pending({"smsc-000001"}) == set()
    assert one(sessions, destination).send_state == "submitting"  # its claim runs out: recovery settles it
