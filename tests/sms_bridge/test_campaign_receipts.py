"""An SMS campaign sent through the ``sms`` driver (registered by configuration, as a worker
would), on SQLite and PostgreSQL: its sessions run on ``sms`` and queue SMPP messages instead of
the dev outbox; a message's receipt settles the campaign attempt (delivered stays final,
undelivered is tried again by the campaign's rule, rejected is final), once; a message that
cannot go out settles the attempt as failed."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, update

from tests.campaigns.messaging_world import MessagingWorld, attempts, contacts, outbox, seed_messaging, sessions_of
from tests.sms_bridge.scripted import ScriptedSubmitter
from tests.sms_bridge.test_delivery_reports import apply, receipt
from tests.sms_bridge.test_outbox import send_pass
from voiceplatform.db import session_factory
from voiceplatform.models import CampaignContactStatus
from voiceplatform.models.base import utcnow
from voiceplatform.models.sms import SmsMessage

from sms_bridge.esme import SubmitAnswer


@pytest.fixture(autouse=True)
def sms_by_smpp(monkeypatch: pytest.MonkeyPatch, engine: Engine) -> None:
    monkeypatch.setenv("VOICEPLATFORM_CHANNELS", "sms_bridge.driver:register")
    monkeypatch.setenv("VOICEPLATFORM_SMS_SENDER", "ACME")
    with session_factory(engine).begin() as db:
        db.execute(update(SmsMessage).where(SmsMessage.send_state.in_(("queued", "submitting")))
                   .values(send_state="failed", error="left by an earlier test"))


def test_receipts_settle_the_campaign_attempts_once(engine: Engine) -> None:
    sessions = session_factory(engine)
    phones = ["+12025552801", "+12025552802", "+12025552803"]
    seeded = seed_messaging(sessions, phones, name="sms-receipts")
    world = MessagingWorld(sessions)
    world.completed(seeded.campaign_id)
    rows = contacts(sessions, seeded.campaign_id)
    started = sessions_of(sessions, [row.id for row in rows])
    assert {s.channel for s in started} == {"sms"} and outbox(sessions, seeded.account_id) == []
    ids = {phone: [f"camp-{n}"] for n, phone in enumerate(phones)}
    send_pass(sessions, ScriptedSubmitter({p: [SubmitAnswer(0, i[0])] for p, i in ids.items()}), utcnow())
    apply(sessions, receipt("camp-0", "DELIVRD"), receipt("camp-1", "UNDELIV"), receipt("camp-2", "REJECTD"))
    by_phone = {s.address: s.id for s in started}
    outcomes = {a.session_id: a.outcome for a in attempts(sessions, seeded.campaign_id)}
    assert [outcomes[by_phone[p]] for p in phones] == ["delivered", "undelivered", "rejected"]
    states = {row.contact_id: (row.status, row.last_outcome) for row in contacts(sessions, seeded.campaign_id)}
    assert [states[c] for c in seeded.contact_ids] == [
        (CampaignContactStatus.DONE, "delivered"), (CampaignContactStatus.PENDING, "undelivered"),
        (CampaignContactStatus.DONE, "rejected")]
    apply(sessions, receipt("camp-0", "UNDELIV"), receipt("camp-1", "DELIVRD"))  # late and contradicting
    assert {a.session_id: a.outcome for a in attempts(sessions, seeded.campaign_id)} == outcomes


def test_a_message_that_cannot_go_out_fails_its_attempt(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VOICEPLATFORM_SMS_SENDER")  # and the campaign has no number: no sender at all
    sessions = session_factory(engine)
    seeded = seed_messaging(sessions, ["+12025552901"], name="sms-no-sender")
    MessagingWorld(sessions).completed(seeded.campaign_id)
    submitter = ScriptedSubmitter()
    assert send_pass(sessions, submitter, utcnow()).failed == 1 and submitter.requests == []
    [attempt] = attempts(sessions, seeded.campaign_id)
    assert attempt.outcome == "failed"
