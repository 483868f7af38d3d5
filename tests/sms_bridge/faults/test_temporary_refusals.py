"""A temporary refusal is not a rejection (on SQLite and PostgreSQL, a scripted submitter): the
SMSC answered ESME_RSUBMITFAIL or ESME_RSYSERR, so it did not take the part, and the part is
tried again on the next passes (the retry delay doubling) until ``temporary_refusals`` passes have
been refused; the bind pauses as for throttling. Found by the RabbitMQ fault: Jasmin answers
ESME_RSUBMITFAIL while its broker is away, and 127 of 1,000 contacts were rejected for good.
Also: the claim lease is a setting (``VOICEPLATFORM_SMS_CLAIM_LEASE``)."""

from __future__ import annotations

from datetime import datetime

import pytest
import smpplib.consts
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from tests.sms_bridge.scripted import ScriptedSubmitter, account, queue
from tests.sms_bridge.test_outbox import one, parts
from voiceplatform.db import session_factory
from voiceplatform.models.base import utcnow

from sms_bridge import outbox
from sms_bridge.config import CLAIM_LEASE_ENV, BridgeSettings, SmppRoute
from sms_bridge.counters import Counters
from sms_bridge.esme import Esme, SubmitAnswer
from sms_bridge.sender import submit_message

RSUBMITFAIL = smpplib.consts.SMPP_ESME_RSUBMITFAIL
RSYSERR = smpplib.consts.SMPP_ESME_RSYSERR


def send_pass(sessions: sessionmaker[Session], submitter: ScriptedSubmitter, now: datetime,
              settings: BridgeSettings, counters: Counters) -> None:
    with sessions.begin() as db:
        claimed = outbox.claim(db, "w1", now, 100, settings.claim_lease)
    results = [submit_message(submitter, message, counters, settings.temporary_refusals) for message in claimed]
    with sessions.begin() as db:
        outbox.record(db, results, "w1", now, settings)


def test_a_temporary_refusal_is_tried_again_and_then_accepted(engine: Engine) -> None:
    sessions = session_factory(engine)
    queue(sessions, account(sessions, "refused-for-now"), {"+12025551401": "the broker was away"})
    submitter = ScriptedSubmitter({"+12025551401": [SubmitAnswer(RSUBMITFAIL, None), SubmitAnswer(RSYSERR, None)]})
    settings, counters, now, delays = BridgeSettings(retry_delay=1.0), Counters(), utcnow(), []
    for _ in range(2):
        send_pass(sessions, submitter, now, settings, counters)
        message = one(sessions, "+12025551401")
        assert (message.send_state, message.status) == ("queued", None) and message.next_attempt_at is not None
        delays.append(round((message.next_attempt_at - now).total_seconds()))
        now = message.next_attempt_at
    assert delays == [1, 2]
    send_pass(sessions, submitter, now, settings, counters)
    message = one(sessions, "+12025551401")
    assert (message.send_state, message.status, message.attempts) == ("submitted", "accepted", 3)
    assert [status for _seq, _id, status in parts(sessions, message.id)] == ["accepted"]
    assert len(submitter.requests) == 3 and (counters.parts_deferred, counters.parts_refused) == (2, 0)


def test_a_temporary_refusal_that_lasts_is_rejected_after_its_passes(engine: Engine) -> None:
    sessions = session_factory(engine)
    queue(sessions, account(sessions, "refused-for-good"), {"+12025551402": "the broker never came back"})
    submitter = ScriptedSubmitter({"+12025551402": [SubmitAnswer(RSUBMITFAIL, None)] * 4})
    settings, counters, now = BridgeSettings(retry_delay=1.0, temporary_refusals=3), Counters(), utcnow()
    for _ in range(4):
        send_pass(sessions, submitter, now, settings, counters)
        message = one(sessions, "+12025551402")
        if message.next_attempt_at is not None:
            now = message.next_attempt_at
    assert (message.send_state, message.status, message.attempts) == ("submitted", "rejected", 4)
    assert message.error == "part 1: ESME_RSUBMITFAIL"
    assert (counters.parts_deferred, counters.parts_refused) == (3, 1)


def _paced(status: int) -> Esme:
    esme = Esme(SmppRoute("127.0.0.1", 1, "platform", "x"), BridgeSettings(throttle_pause=5.0), lambda _e, _d: None)
    esme._pace(SubmitAnswer(status, None))
    return esme


def test_a_temporary_refusal_pauses_the_bind_and_a_permanent_one_does_not() -> None:
    assert _paced(RSUBMITFAIL).paused and _paced(RSYSERR).paused
    assert _paced(smpplib.consts.SMPP_ESME_RX_T_APPN).paused
    assert not _paced(smpplib.consts.SMPP_ESME_RINVDSTADR).paused


def test_the_claim_lease_is_a_setting() -> None:
    assert BridgeSettings.from_env({}).claim_lease == 120.0
    assert BridgeSettings.from_env({CLAIM_LEASE_ENV: "6"}).claim_lease == 6.0
    for hostile in ("0", "-1", "nan", "inf", "soon"):
        with pytest.raises(ValueError, match=CLAIM_LEASE_ENV):
            BridgeSettings.from_env({CLAIM_LEASE_ENV: hostile})
