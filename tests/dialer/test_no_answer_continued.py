"""The campaign's retry rules and a journey that continued by SMS, on SQLite and PostgreSQL (a
scripted switch, the dev channel): an unanswered call whose ``on.no_answer`` switched to SMS
reached the contact that way, so the contact is final (``continued``), with one call and one
session; it is not called again, which would start a second session. A flow with no
``on.no_answer`` is still retried as the rules say."""

from __future__ import annotations

from sqlalchemy import Engine, select

from tests.dialer.test_dispatcher import World, numbers
from voiceplatform.models import (Campaign, CampaignContactStatus, CampaignStatus, FlowVersion, WebhookDelivery,
                                  WebhookSubscription)
from voiceplatform.models.sessions import DevMessage, FlowSession
from voiceplatform.sessions import runtime as messaging
from voiceplatform.sessions.calls import CallSessions
from voiceplatform.testing.campaign_seed import seed_campaign

RETRY_NO_ANSWER = {"retries": {"no-answer": {"retries": 2, "minutes": 0}}}
CONTACT = {"first_name": "Amira", "amount": "$120.50", "due_date": "1 December", "account_id": "AC-1042"}


def _world(engine: Engine) -> World:
    """The dispatcher test's world, its sink continuing each call's session (as start_dialer's)."""
    world = World(engine, lambda _to: "no-answer")
    world.sink.call_sessions = CallSessions(world.sessions, messaging.build(world.sessions).runner)
    return world


PLAIN_CALL = """spec_version: 1
name: plain_call
channels: [voice]
start: hello
nodes:
  - id: hello
    type: say
    text: "Hello, this is Acme Bank."
"""


def _without_no_answer_handler(world: World, campaign_id: int) -> None:
    with world.sessions.begin() as db:
        campaign = db.get(Campaign, campaign_id)
        assert campaign is not None
        version = db.get(FlowVersion, campaign.flow_version_id)
        assert version is not None
        version.name, version.definition = "plain_call", PLAIN_CALL
        version.checksum = FlowVersion.checksum_of(PLAIN_CALL)


def test_a_no_answer_that_continued_by_sms_is_final_not_retried(engine: Engine) -> None:
    world = _world(engine)
    seeded = seed_campaign(world.sessions, numbers(1, 700), name="continued", settings=RETRY_NO_ANSWER,
                           attributes=CONTACT)
    with world.sessions.begin() as db:
        db.add(WebhookSubscription(account_id=seeded.account_id, url="http://127.0.0.1:9/hook", secret="s" * 20,
                                   events=["call.ended"]))
    world.run_until(seeded.campaign_id, {CampaignStatus.COMPLETED})
    (row,) = world.contacts(seeded.campaign_id)
    assert (row.status, row.attempts, row.last_outcome) == (CampaignContactStatus.DONE, 1, "continued")
    (call,) = world.calls(seeded.campaign_id)
    assert call.outcome == "no-answer" and call.session_id == call.id
    with world.sessions() as db:
        journeys = db.scalars(select(FlowSession).where(FlowSession.campaign_contact_id == row.id)).all()
        assert [(s.id, s.channel, s.status) for s in journeys] == [(call.id, "dev", "waiting")]
        texts = db.scalars(select(DevMessage.text).where(DevMessage.session_id == call.id)).all()
        assert texts and texts[0].startswith("Acme Bank: we tried to call you, Amira.")
        (event,) = db.scalars(select(WebhookDelivery.payload).join(WebhookSubscription).where(
            WebhookSubscription.account_id == seeded.account_id, WebhookDelivery.event == "call.ended")).all()
    assert event["outcome"] == "no-answer" and event["contact_final"] is True and event["continued_on"] == "sms"


def test_a_no_answer_with_no_continuation_is_still_retried(engine: Engine) -> None:
    world = _world(engine)
    seeded = seed_campaign(world.sessions, numbers(1, 710), name="not-continued", settings=RETRY_NO_ANSWER,
                           attributes=CONTACT)
    _without_no_answer_handler(world, seeded.campaign_id)
    world.run_until(seeded.campaign_id, {CampaignStatus.COMPLETED})
    (row,) = world.contacts(seeded.campaign_id)
    assert (row.status, row.attempts, row.last_outcome) == (CampaignContactStatus.DONE, 3, "no-answer")
    calls = world.calls(seeded.campaign_id)
    assert len(calls) == 3 and all(call.outcome == "no-answer" for call in calls)
    with world.sessions() as db:
        assert not db.scalars(select(DevMessage).where(DevMessage.session_id.in_([c.id for c in calls]))).all()
        ended = db.scalars(select(FlowSession.end_reason).where(FlowSession.campaign_contact_id == row.id)).all()
    assert ended == ["no_answer"] * 3  # each call's session ended at once: nothing went on by message
