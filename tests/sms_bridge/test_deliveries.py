"""Messages and receipts from the SMSC, stored and answered, on SQLite and PostgreSQL, with a
recording stand-in for the bind: a reply resumes the waiting sms session and its next question
is queued for SMPP; STOP opts the contact out first and queues the confirmation; a three-part
message (parts out of order) is routed once, whole; one whose last part never comes is routed
incomplete after the timeout; a malformed message or receipt is answered with a permanent error;
every deliver_sm is answered, and only after its commit."""

from __future__ import annotations

from collections.abc import Iterator
from typing import cast

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from tests.api.conftest import Tenants, app, client, tenants  # noqa: F401  (fixtures)
from tests.sms_bridge.world import SmsWorld
from voiceplatform.models import Contact, FlowSession, SessionEvent, UnsolicitedMessage

from sms_bridge.counters import Counters
from sms_bridge.deliveries import Deliveries, Received
from sms_bridge.driver import SmsChannel
from sms_bridge.esme import ESME_ROK, ESME_RX_P_APPN, Deliver, Esme
from sms_bridge.gsm7 import encode_gsm7
from sms_bridge.receipts import is_receipt
from sms_bridge.submit_encoding import encode_message
from sms_bridge.udh import UDHI

THREE_PARTS = " ".join(f"Part of a long reply, sentence {n:02d} of twenty." for n in range(1, 11))[:400]


class RecordingBind:
    """Stands in for an Esme: remembers each answer, and what was committed when it was given."""

    name = "recording"

    def __init__(self, world: SmsWorld) -> None:
        self.world = world
        self.answers: dict[int, int] = {}
        self.sessions_when_answered: dict[int, int] = {}

    def respond(self, sequence: int, status: int = ESME_ROK) -> None:
        self.answers[sequence] = status
        with self.world.sessions() as db:
            self.sessions_when_answered[sequence] = len(db.scalars(select(SessionEvent.id)).all())


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


_sequence = iter(range(1, 10**6))


def mo(source: str, destination: str, text: str) -> list[Deliver]:
    """The deliver_sm PDUs a handset's message arrives as (UDH parts when long)."""
    encoded = encode_message(text, 42)
    if len(encoded.parts) == 1 and encoded.data_coding == 0:
        return [Deliver(next(_sequence), source.lstrip("+"), 1, destination.lstrip("+"), 1, 0, 0, encode_gsm7(text))]
    return [Deliver(next(_sequence), source.lstrip("+"), 1, destination.lstrip("+"), 1, part.esm_class,
                    encoded.data_coding, part.short_message) for part in encoded.parts]


@pytest.fixture
def world(app: Flask, client: FlaskClient, tenants: Tenants) -> SmsWorld:  # noqa: F811
    return SmsWorld(app, client, tenants)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def deliveries(world: SmsWorld, clock: Clock) -> Iterator[Deliveries]:
    driver = world.messaging.channels.get("sms")
    assert isinstance(driver, SmsChannel)
    yield Deliveries(world.sessions, world.messaging.router, driver, Counters(), reassembly_timeout=30, clock=clock)


def store(deliveries: Deliveries, bind: RecordingBind, pdus: list[Deliver]) -> None:
    """What the two storing greenlets do with these PDUs, here and now."""
    received = [Received(cast(Esme, bind), pdu) for pdu in pdus]
    deliveries.store_messages([r for r in received if not is_receipt(r.deliver.esm_class)])
    deliveries.store_receipts([r for r in received if is_receipt(r.deliver.esm_class)])


def test_a_reply_resumes_the_waiting_session_and_is_answered_after_its_commit(
        world: SmsWorld, deliveries: Deliveries) -> None:
    ours, contact = world.number(), "+12025553001"
    session_id = world.start(contact, ours, world.publish())
    [question] = world.messages(session_id=session_id)
    assert (question.text, question.sender, question.destination, question.send_state) == (
        "First answer?", ours, contact, "queued")
    bind = RecordingBind(world)
    [pdu] = mo(contact, ours, "red")
    store(deliveries, bind, [pdu])
    assert bind.answers == {pdu.sequence: ESME_ROK}
    with world.sessions() as db:
        row = db.get(FlowSession, session_id)
        assert row is not None and row.state["results"]["first"]["value"] == "red"
        events_now = len(db.scalars(select(SessionEvent.id)).all())
    assert bind.sessions_when_answered[pdu.sequence] == events_now  # answered once the resume was committed
    assert [m.text for m in world.messages(session_id=session_id)] == ["First answer?", "Second answer?"]


def test_stop_opts_out_first_and_queues_the_confirmation(world: SmsWorld, deliveries: Deliveries) -> None:
    ours, contact = world.number(), "+12025553002"
    session_id = world.start(contact, ours, world.publish())
    store(deliveries, RecordingBind(world), mo(contact, ours, "STOP"))
    with world.sessions() as db:
        row = db.get(FlowSession, session_id)
        assert row is not None and (row.status, row.end_reason) == ("completed", "opted_out")
        person = db.scalars(select(Contact).where(Contact.phone == contact)).one()
        assert "sms" not in person.channels
    [confirmation] = [m for m in world.messages(destination=contact) if m.session_id is None]
    assert confirmation.sender == ours and confirmation.send_state == "queued"


def test_a_three_part_message_is_routed_once_whole(world: SmsWorld, deliveries: Deliveries) -> None:
    ours, contact = world.number(), "+12025553003"
    session_id = world.start(contact, ours, world.publish())
    bind = RecordingBind(world)
    first, second, third = mo(contact, ours, THREE_PARTS)
    store(deliveries, bind, [third, first])
    assert bind.answers == {third.sequence: ESME_ROK, first.sequence: ESME_ROK}  # kept: answered at once
    store(deliveries, bind, [second, second])  # the SMSC sent one part twice
    with world.sessions() as db:
        row = db.get(FlowSession, session_id)
        assert row is not None and row.state["results"]["first"]["value"] == THREE_PARTS
        inputs = [e.payload for e in db.scalars(select(SessionEvent).where(
            SessionEvent.session_id == session_id, SessionEvent.kind == "input"))]
    assert inputs == [{"kind": "text", "value": THREE_PARTS, "data": {"parts": 3}}]
    assert set(bind.answers) == {first.sequence, second.sequence, third.sequence}


def test_a_long_message_missing_a_part_is_routed_incomplete_after_the_timeout(
        world: SmsWorld, deliveries: Deliveries, clock: Clock) -> None:
    ours, contact = world.number(), "+12025553004"
    session_id = world.start(contact, ours, world.publish())
    first, second, _never = mo(contact, ours, THREE_PARTS)
    store(deliveries, RecordingBind(world), [first, second])
    assert deliveries.expire_once() == 0
    clock.now += 31
    assert deliveries.expire_once() == 1
    with world.sessions() as db:
        [given] = [e.payload for e in db.scalars(select(SessionEvent).where(
            SessionEvent.session_id == session_id, SessionEvent.kind == "input"))]
    assert given["data"] == {"parts": 3, "incomplete": True, "missing_parts": [3]}
    assert given["value"] == THREE_PARTS[:306]


def test_malformed_deliveries_get_a_permanent_error(world: SmsWorld, deliveries: Deliveries) -> None:
    ours = world.number()
    bind = RecordingBind(world)
    overrun = Deliver(next(_sequence), "12025553005", 1, ours.lstrip("+"), 1, UDHI, 0, b"\x09\x00\x03")
    no_id = Deliver(next(_sequence), "12025553005", 1, ours.lstrip("+"), 1, 0x04, 0, b"stat:DELIVRD")
    not_ours = mo("+12025553005", "+12025559999", "to a number of nobody's")[0]
    store(deliveries, bind, [overrun, no_id, not_ours])
    assert bind.answers == {overrun.sequence: ESME_RX_P_APPN, no_id.sequence: ESME_RX_P_APPN,
                            not_ours.sequence: ESME_ROK}
    assert deliveries.counters.mo_malformed == 1 and deliveries.counters.receipts_malformed == 1


def test_a_message_to_a_number_with_no_session_is_kept(world: SmsWorld, deliveries: Deliveries) -> None:
    ours = world.number()
    store(deliveries, RecordingBind(world), mo("+12025553006", ours, "hello?"))
    with world.sessions() as db:
        kept = db.scalars(select(UnsolicitedMessage).where(UnsolicitedMessage.our_address == ours)).one()
        assert (kept.channel, kept.address, kept.input["value"]) == ("sms", "+12025553006", "hello?")
