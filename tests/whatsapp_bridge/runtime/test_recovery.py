"""A sender that stopped (SQLite and PostgreSQL): a claim that ran out before its message was
marked started was never sent, and is queued again and sent once; one marked started may have
gone, and is ``unknown``, never resent; a status naming a wamid the store never got is matched
by the ``biz_opaque_callback_data`` every request carries, so an ``unknown`` message (or one
still claimed by the dead sender) learns its wamid and is delivered, its campaign attempt
settled ``delivered`` and charged; a live sender's answer after such a status stores nothing
twice; callback data of a message that cannot have gone, or from another number or contact,
matches nothing (the status is held); a claim taken back before its mark is not sent (``lost``)
and its answer records nothing."""

from __future__ import annotations

import itertools
from datetime import timedelta
from decimal import Decimal
from typing import Any, Mapping

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from tests.api.conftest import Tenants, app, client, tenants  # noqa: F401  (fixtures)
from tests.campaigns.messaging_world import seed_messaging
from tests.whatsapp_bridge.runtime.world import BUTTONS, ScriptedGraph, World, envelope, status
from voiceplatform.campaigns.fanout import fan_out
from voiceplatform.campaigns.pricing import Rates
from voiceplatform.campaigns.settings import CampaignSettings
from voiceplatform.channels.contract import Delivery
from voiceplatform.dialer.messaging import MessageSender
from voiceplatform.flow.outputs import Send
from voiceplatform.models import Account, Campaign, CampaignMessage, Number, NumberChannel
from voiceplatform.models.base import utcnow
from voiceplatform.models.whatsapp import QUEUED, SENT, UNKNOWN, WhatsAppHeldStatus, WhatsAppMessage, WhatsAppWamid

from whatsapp_bridge import outbox
from whatsapp_bridge.callback_data import FIELD, encode
from whatsapp_bridge.driver import WhatsAppChannel
from whatsapp_bridge.errors import SendUnconfirmed
from whatsapp_bridge.graph_client import SendResult
from whatsapp_bridge.pairs import PairPacer
from whatsapp_bridge.sender import Sender, Sending, send_message
from whatsapp_bridge.status_updates import apply_statuses
from whatsapp_bridge.throughput import LocalThroughput
from whatsapp_bridge.webhook_payloads import parse

RATES = Rates.from_mapping({"whatsapp_per_category": {"marketing": "0.25", "utility": "0.02"}})
MARKETING = {"billable": True, "pricing_model": "PMP", "type": "regular", "category": "marketing"}
LEASE = 1.0
_phones = itertools.count(1)


@pytest.fixture
def world(app: Flask, client: FlaskClient, tenants: Tenants) -> World:  # noqa: F811
    made = World(app, client, tenants, numbers=2)
    made.register(made.ours[0])  # the second is the campaign's account's
    return made


def phone() -> str:
    return f"+1555088{next(_phones):04d}"


def sender(world: World, graph: ScriptedGraph, worker: str = "live-worker") -> Sender:
    sending = Sending(graph, world.settings, LocalThroughput(), PairPacer(), sleep=lambda seconds: None)
    return Sender(world.sessions, sending, worker)


def queue(world: World, contact: str, text: str = "hello") -> WhatsAppMessage:
    world.open_window(world.ours[0], contact, utcnow())
    with world.sessions.begin() as db:
        WhatsAppChannel(world.settings).deliver(db, Delivery(None, world.tenants.ids["acme"], contact,
                                                             world.ours[0].number, "whatsapp",
                                                             (Send("whatsapp", text),)))
    [message] = world.messages(recipient=contact)
    return message


def claim_dead(world: World, contact: str, *, started: bool) -> WhatsAppMessage:
    """The message to ``contact`` claimed by a sender that then died (marked started or not)."""
    with world.sessions.begin() as db:
        claimed = outbox.claim(db, "dead-worker", utcnow(), 100, LEASE)
        [mine] = [message for message in claimed if message.recipient == contact]
        if started:
            assert outbox.mark_started(db, "dead-worker", [mine.id], utcnow()) == {mine.id}
    [message] = world.messages(recipient=contact)
    return message


def recover(world: World) -> outbox.Recovered:
    with world.sessions.begin() as db:
        return outbox.recover(db, utcnow() + timedelta(seconds=LEASE + 1))


def post(world: World, *statuses: Mapping[str, Any], ours: int = 0) -> None:
    batch = parse(envelope(world.ours[ours], statuses=[dict(s) for s in statuses]))
    with world.sessions.begin() as db:
        apply_statuses(db, batch.statuses, utcnow(), world.settings.rates)


def with_callback(body: dict[str, Any], data: str, contact: str) -> dict[str, Any]:
    return {**body, FIELD: data, "recipient_id": contact.lstrip("+")}


def held(world: World, wamid: str) -> int:
    with world.sessions() as db:
        return int(db.scalar(select(func.count()).select_from(WhatsAppHeldStatus)
                             .where(WhatsAppHeldStatus.wamid == wamid)) or 0)


def test_a_claim_that_ran_out_before_its_request_started_is_queued_again_and_sent_once(world: World) -> None:
    contact = phone()
    queue(world, contact)
    claimed = claim_dead(world, contact, started=False)
    assert claimed.send_started_at is None
    assert recover(world).requeued >= 1
    [message] = world.messages(recipient=contact)
    assert (message.send_state, message.status, message.claimed_by, message.attempts) == (QUEUED, None, None, 0)
    graph = ScriptedGraph()
    sender(world, graph).send_round()
    sender(world, graph).send_round()
    assert [payload["to"] for _, payload in graph.sent] == [contact.lstrip("+")]  # once
    [message] = world.messages(recipient=contact)
    assert message.send_state == SENT and message.wamid == graph.wamids[0]
    assert message.send_started_at is not None


def test_a_claim_that_ran_out_after_its_request_started_is_unknown_never_resent(world: World) -> None:
    contact = phone()
    queue(world, contact)
    claim_dead(world, contact, started=True)
    assert recover(world).unknown >= 1
    [message] = world.messages(recipient=contact)
    assert (message.send_state, message.status, message.unconfirmed) == (SENT, UNKNOWN, 1)
    graph = ScriptedGraph()
    sender(world, graph).send_round()
    assert graph.sent == []


def test_every_request_carries_the_message_id_and_part_as_callback_data(world: World) -> None:
    contact = phone()
    message = queue(world, contact, "x" * 5000)  # over 4,096 characters: two parts
    graph = ScriptedGraph()
    sender(world, graph).send_round()
    assert [payload[FIELD] for _, payload in graph.sent] == [encode(message.id, 1, 2), encode(message.id, 2, 2)]


def test_a_status_of_a_started_claim_whose_sender_died_delivers_it_by_its_callback_data(world: World) -> None:
    contact = phone()
    queue(world, contact)
    message = claim_dead(world, contact, started=True)
    wamid = "wamid.NEVER-STORED-1"
    post(world, with_callback(status(wamid, "sent"), encode(message.id, 1, 1), contact),
         with_callback(status(wamid, "delivered"), encode(message.id, 1, 1), contact))
    [found] = world.messages(recipient=contact)
    assert (found.wamid, found.status) == (wamid, "delivered")
    assert held(world, wamid) == 0
    recover(world)  # its claim runs out afterwards: what Meta said stays
    [found] = world.messages(recipient=contact)
    assert (found.send_state, found.status, found.error) == (SENT, "delivered", None)


def test_callback_data_of_a_message_that_cannot_have_gone_or_of_another_contact_matches_nothing(
        world: World) -> None:
    contact, other = phone(), phone()
    queue(world, contact)
    never = claim_dead(world, contact, started=False)
    post(world, with_callback(status("wamid.NOT-OURS-1", "delivered"), encode(never.id, 1, 1), contact))
    queue(world, other)
    started = claim_dead(world, other, started=True)
    post(world, with_callback(status("wamid.NOT-OURS-2", "delivered"), encode(started.id, 1, 1), contact))
    post(world, with_callback(status("wamid.NOT-OURS-3", "delivered"), "vp:not-a-number", other))
    for wamid in ("wamid.NOT-OURS-1", "wamid.NOT-OURS-2", "wamid.NOT-OURS-3"):
        assert held(world, wamid) == 1
    assert [m.status for m in world.messages(recipient=contact)] == [None]
    assert [m.status for m in world.messages(recipient=other)] == [None]


class EarlyStatusGraph(ScriptedGraph):
    """Meta posting the status (its callback data echoed) before the send's answer is stored."""

    world: World | None = None

    def send(self, phone_number_id: str, payload: Mapping[str, Any]) -> SendResult:
        answer = super().send(phone_number_id, payload)
        assert self.world is not None
        post(self.world, with_callback(status(answer.wamid, "delivered"), payload[FIELD], "+" + payload["to"]))
        return answer


def test_a_live_senders_answer_after_a_matched_status_stores_nothing_twice(world: World) -> None:
    contact = phone()
    queue(world, contact)
    graph = EarlyStatusGraph()
    graph.world = world
    assert sender(world, graph).send_round().sent == 1
    [message] = world.messages(recipient=contact)
    assert (message.send_state, message.status, message.wamid, message.parts_sent) == (
        SENT, "delivered", graph.wamids[0], 1)
    with world.sessions() as db:
        assert db.scalars(select(WhatsAppWamid.wamid).where(WhatsAppWamid.message_id == message.id)).all() == [
            graph.wamids[0]]


def test_an_unknown_campaign_message_is_delivered_and_charged_by_a_late_status(world: World) -> None:
    contact = phone()
    number = world.ours[1]
    seeded = seed_messaging(world.sessions, [contact], channel="whatsapp", name=f"recovery {number.number}",
                            definition=BUTTONS.format(name="recovery"), balance="10")
    with world.sessions.begin() as db:
        row = Number(account_id=seeded.account_id, number=number.number)
        row.channels = [NumberChannel(channel="whatsapp")]
        db.add(row)
    fan_out(world.sessions, seeded.campaign_id, utcnow())
    with world.sessions() as db:
        campaign = db.get(Campaign, seeded.campaign_id)
        assert campaign is not None
        settings = CampaignSettings.model_validate(campaign.settings or {})
    assert MessageSender(world.sessions, world.messaging.runner, RATES).send_batch(
        seeded.campaign_id, settings, 1).placed == 1
    graph = ScriptedGraph([SendUnconfirmed("the connection dropped after the write")])
    assert sender(world, graph).send_round().unconfirmed == 1
    [message] = world.messages(recipient=contact)
    assert (message.status, message.wamid) == (UNKNOWN, None)

    def attempt() -> CampaignMessage:
        with world.sessions() as db:
            return db.scalars(select(CampaignMessage).where(CampaignMessage.session_id == message.session_id)).one()

    assert attempt().outcome == UNKNOWN
    [(_, sent)] = graph.sent
    wamid = "wamid.ANSWER-NEVER-CAME"
    post(world, with_callback(status(wamid, "delivered", pricing=MARKETING), sent[FIELD], contact), ours=1)
    [found] = world.messages(recipient=contact)
    assert (found.wamid, found.status, found.cost) == (wamid, "delivered", Decimal("0.25"))
    assert attempt().outcome == "delivered" and attempt().cost == Decimal("0.25")
    with world.sessions() as db:
        account = db.get(Account, seeded.account_id)
        assert account is not None and Decimal(account.balance) == Decimal("9.75")
    assert graph.sent == [graph.sent[0]]  # never sent again


def test_a_claim_taken_back_before_its_mark_is_not_sent_and_records_nothing(world: World) -> None:
    contact = phone()
    queue(world, contact)
    slow = claim_dead(world, contact, started=False)  # a sender stalled past its lease
    recover(world)
    with world.sessions.begin() as db:
        assert outbox.mark_started(db, "dead-worker", [slow.id], utcnow()) == set()  # not its claim now
        [claimed] = [m for m in outbox.claim(db, "slow-worker", utcnow(), 100, 60.0) if m.recipient == contact]
    graph = ScriptedGraph()
    stalled = sender(world, graph, "slow-worker")
    result = send_message(stalled.sending, claimed, lambda message_id: False)  # recovered meanwhile
    assert (result.outcome, graph.sent) == (outbox.Outcome.LOST, [])
    with world.sessions.begin() as db:
        assert outbox.record(db, [result], "slow-worker", utcnow(), world.settings).requeued == 0
    [message] = world.messages(recipient=contact)
    assert (message.send_state, message.claimed_by) == ("sending", "slow-worker")  # left to its claim
