"""What the SMS bridge reports beyond definite final statuses, on SQLite and PostgreSQL, with a
scripted submitter (no SMSC):

- an SMS campaign attempt whose submit got no answer ends ``unknown`` (final, not counted as
  sent, not retried by default); a retry rule for ``unknown`` tries it again; a definite receipt
  after an SMSC's ``UNKNOWN`` replaces it (and cancels the retry it scheduled);
- a message of the messages API hears every move, forward only, each a ``message.status``
  webhook: ``sent`` when the SMSC takes the submit, ``enroute``, then ``delivered``; ``unknown``
  for a submit with no answer; the moves of a batch are found with one query.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, event, select, update

from tests.api.conftest import Tenants, app, client, tenants  # noqa: F401  (fixtures)
from tests.campaigns.messaging_world import MessagingWorld, attempts, contacts, seed_messaging
from tests.sms_bridge.scripted import ScriptedSubmitter
from tests.sms_bridge.test_delivery_reports import apply, receipt
from tests.sms_bridge.test_outbox import send_pass
from tests.sms_bridge.world import SmsWorld
from voiceplatform.campaigns.message_outcomes import report_progress, settle_message_outcome
from voiceplatform.db import session_factory
from voiceplatform.models import Account, CampaignContactStatus, WebhookDelivery, WebhookSubscription
from voiceplatform.models.base import utcnow
from voiceplatform.models.messages import ApiMessage
from voiceplatform.models.sms import SmsMessage
from voiceplatform.testing.campaign_seed import Seeded

from sms_bridge.esme import SubmitAnswer, SubmitUnanswered


def _nothing_left_queued(engine: Engine) -> None:
    with session_factory(engine).begin() as db:
        db.execute(update(SmsMessage).where(SmsMessage.send_state.in_(("queued", "submitting")))
                   .values(send_state="failed", error="left by an earlier test"))


# ---- campaigns ---------------------------------------------------------------------------------

@pytest.fixture
def sms_by_smpp(monkeypatch: pytest.MonkeyPatch, engine: Engine) -> None:
    monkeypatch.setenv("VOICEPLATFORM_CHANNELS", "sms_bridge.driver:register")
    monkeypatch.setenv("VOICEPLATFORM_SMS_SENDER", "ACME")
    _nothing_left_queued(engine)


def _campaign(engine: Engine, phones: list[str], name: str, **settings: Any) -> Seeded:
    """A completed SMS campaign on the sms driver: its messages queued, none submitted yet."""
    sessions = session_factory(engine)
    seeded = seed_messaging(sessions, phones, name=name, settings=settings or None)
    MessagingWorld(sessions).completed(seeded.campaign_id)
    return seeded


def _states(engine: Engine, seeded: Seeded) -> list[tuple[CampaignContactStatus, str | None]]:
    rows = {row.contact_id: row for row in contacts(session_factory(engine), seeded.campaign_id)}
    return [(rows[c].status, rows[c].last_outcome) for c in seeded.contact_ids]


def test_a_submit_with_no_answer_ends_the_attempt_unknown_and_not_retried(engine: Engine, sms_by_smpp: None) -> None:
    sessions = session_factory(engine)
    phones = ["+12025553601", "+12025553602"]
    seeded = _campaign(engine, phones, "sms-unknown")
    submitter = ScriptedSubmitter({phones[0]: [SubmitUnanswered("no submit_sm_resp within 10 s")],
                                   phones[1]: [SubmitAnswer(0, "u-2")]})
    assert send_pass(sessions, submitter, utcnow()).unconfirmed == 1
    outcomes = sorted(a.outcome for a in attempts(sessions, seeded.campaign_id))
    assert outcomes == ["sent", "unknown"]  # the answered one is on its way; the other is not counted as sent
    assert _states(engine, seeded) == [(CampaignContactStatus.DONE, "unknown"), (CampaignContactStatus.DONE, "sent")]
    send_pass(sessions, submitter, utcnow())
    assert len(submitter.by_destination[phones[0]]) == 1  # never resent


def test_a_definite_receipt_after_unknown_replaces_it_and_cancels_its_retry(engine: Engine, sms_by_smpp: None) -> None:
    sessions = session_factory(engine)
    phones = ["+12025553701", "+12025553702"]
    seeded = _campaign(engine, phones, "sms-unknown-rule", retries={"unknown": {"retries": 1, "minutes": 30}})
    send_pass(sessions, ScriptedSubmitter({phones[0]: [SubmitAnswer(0, "k-1")], phones[1]: [SubmitAnswer(0, "k-2")]}),
              utcnow())
    apply(sessions, receipt("k-1", "UNKNOWN"), receipt("k-2", "UNKNOWN"))
    assert _states(engine, seeded) == [(CampaignContactStatus.PENDING, "unknown")] * 2  # the rule: once more
    apply(sessions, receipt("k-1", "DELIVRD"), receipt("k-2", "UNDELIV"))
    by_session = {a.session_id: a.outcome for a in attempts(sessions, seeded.campaign_id)}
    assert sorted(by_session.values()) == ["delivered", "undelivered"]
    states = _states(engine, seeded)
    assert states[0] == (CampaignContactStatus.DONE, "delivered")  # it arrived after all: no second message
    assert states[1] == (CampaignContactStatus.PENDING, "undelivered")  # decided again: the undelivered rule
    apply(sessions, receipt("k-1", "UNKNOWN"))  # a late unknown changes nothing
    assert {a.session_id: a.outcome for a in attempts(sessions, seeded.campaign_id)} == by_session


def test_unknown_is_final_and_a_later_definite_report_decides_again(engine: Engine) -> None:
    sessions = session_factory(engine)
    seeded = seed_messaging(sessions, ["+12025553801"], name="dev-unknown")
    MessagingWorld(sessions).completed(seeded.campaign_id)
    [attempt] = attempts(sessions, seeded.campaign_id)
    with sessions.begin() as db:
        first = settle_message_outcome(db, attempt.session_id or "", "unknown")
        progress = settle_message_outcome(db, attempt.session_id or "", "enroute")
        learned = settle_message_outcome(db, attempt.session_id or "", "delivered")
        late = settle_message_outcome(db, attempt.session_id or "", "undelivered")
    assert (first.applied, first.final, first.outcome) == (True, True, "unknown")
    assert not progress.applied
    assert (learned.applied, learned.reason, learned.final) == (True, "unknown, then delivered", True)
    assert (late.applied, late.outcome) == (False, "delivered")
    assert _states(engine, seeded) == [(CampaignContactStatus.DONE, "delivered")]


# ---- the messages API ----------------------------------------------------------------------------

@pytest.fixture
def world(app: Flask, client: FlaskClient, tenants: Tenants) -> Iterator[SmsWorld]:  # noqa: F811
    """The API's SMS goes through the sms driver (as with VOICEPLATFORM_CHANNELS set)."""
    made = SmsWorld(app, client, tenants)
    _nothing_left_queued(made.sessions.kw["bind"])
    previous = app.extensions.get("vp_messaging")
    app.extensions["vp_messaging"] = made.messaging
    with made.sessions.begin() as db:
        account = db.get(Account, tenants.ids["acme"])
        assert account is not None
        account.balance = Decimal("100")
        db.add(WebhookSubscription(account_id=account.id, url="https://hooks.example.com/status", secret="s" * 20,
                                   events=["message.status"]))
    yield made
    app.extensions["vp_messaging"] = previous
    with made.sessions.begin() as db:
        db.execute(update(WebhookSubscription).where(WebhookSubscription.account_id == tenants.ids["acme"])
                   .values(active=False))


def _send(world: SmsWorld, to: str, ours: str) -> dict[str, Any]:
    sent = world.client.post("/messages", json={"to": to, "text": f"Your code for {to}", "from": ours},
                             headers=world.tenants.auth("acme", "operator"))
    assert sent.status_code == 202, sent.get_json()
    body: dict[str, Any] = sent.get_json()
    assert body["transport"] == "sms" and body["status"] == "accepted"
    return body


def _webhooks(world: SmsWorld, message_id: int) -> list[tuple[str | None, str]]:
    with world.sessions() as db:
        rows = db.scalars(select(WebhookDelivery).where(WebhookDelivery.event == "message.status")
                          .order_by(WebhookDelivery.id))
        return [(row.payload["previous_status"], row.payload["status"]) for row in rows
                if row.payload["message_id"] == message_id]


def _status(world: SmsWorld, message_id: int) -> str:
    with world.sessions() as db:
        row = db.get(ApiMessage, message_id)
        assert row is not None
        return row.status


def test_an_api_message_hears_every_move_of_the_bridge_forward_only(world: SmsWorld) -> None:
    ours = world.number()
    delivered, silent = _send(world, "+12025553901", ours), _send(world, "+12025553902", ours)
    submitter = ScriptedSubmitter({"+12025553901": [SubmitAnswer(0, "api-1")],
                                   "+12025553902": [SubmitUnanswered("no submit_sm_resp within 10 s")]})
    send_pass(world.sessions, submitter, utcnow())
    assert (_status(world, delivered["id"]), _status(world, silent["id"])) == ("sent", "unknown")
    apply(world.sessions, receipt("api-1", "ENROUTE"))
    assert _status(world, delivered["id"]) == "enroute"
    apply(world.sessions, receipt("api-1", "DELIVRD"))
    apply(world.sessions, receipt("api-1", "ENROUTE"))  # late: nothing moves back
    assert _webhooks(world, delivered["id"]) == [("accepted", "sent"), ("sent", "enroute"), ("enroute", "delivered")]
    assert _webhooks(world, silent["id"]) == [("accepted", "unknown")]
    shown = world.client.get(f"/messages/{delivered['id']}", headers=world.tenants.auth("acme", "operator")).get_json()
    assert shown["status"] == "delivered"


def test_a_batch_of_moves_on_the_way_is_found_with_one_query(world: SmsWorld) -> None:
    ours = world.number()
    messages = [_send(world, f"+1202555{n:04d}", ours) for n in range(3910, 3913)]
    campaign_like = {f"not-an-api-message-{n}": "sent" for n in range(50)}  # a campaign's sessions: not found
    selects: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "api_messages" in statement:
            selects.append(statement)

    engine = world.sessions.kw["bind"]
    event.listen(engine, "before_cursor_execute", count)
    try:
        with world.sessions.begin() as db:
            moved = report_progress(db, {**campaign_like, **{m["session_id"]: "sent" for m in messages}})
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert moved == 3
    assert len(selects) == 1 + len(messages)  # one to find them, then each message locked and read
    assert {_status(world, m["id"]) for m in messages} == {"sent"}
    with pytest.raises(ValueError, match="progress reports"):
        with world.sessions.begin() as db:
            report_progress(db, {messages[0]["session_id"]: "delivered"})
