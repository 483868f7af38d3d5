"""The SMS bridge against the real gateway (``voiceplatform smsc``: Jasmin 0.11.1 and the handset
network behind it; the session's ``smsc`` fixture), on SQLite and PostgreSQL:

- a two-way journey: a session started on ``sms`` asks, the handset answers "1" twice, the
  session resumes and completes, every message delivered;
- delivery receipts of the delivered, undelivered, expired and rejected numbers reach the
  messages table, statuses moving forward only;
- a three-part Arabic message goes as three UCS-2 parts and its status rolls up;
- a three-part reply is reassembled before it reaches the session; an Arabic reply is read;
- STOP opts the contact out, ends the session and is confirmed by SMS;
- an SMS campaign's attempts are settled by the receipts.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from tests.api.conftest import Tenants, app, client, tenants  # noqa: F401  (fixtures)
from tests.campaigns.messaging_world import MessagingWorld, attempts, seed_messaging
from tests.sms_bridge.test_bridge_handsets import send
from tests.sms_bridge.world import NOTICE, SmsWorld, our_number, wait_for
from voiceplatform.models import Contact, FlowSession, Number, NumberChannel
from voiceplatform.models.sms import SmsMessage
from voiceplatform.smsc.handset_network.numbers import ARABIC_REPLY, HANDSET_NUMBERS, THREE_PART_REPLY, numbers_like
from voiceplatform.testing.smsc_fixture import RunningSmsc

from sms_bridge.bridge import SmsBridge
from sms_bridge.config import BridgeSettings, SmppRoute

pytestmark = pytest.mark.integration

ORDER = {None: 0, "accepted": 1, "enroute": 2}  # then a final status: 3
ARABIC_180 = ("عميلنا العزيز، نذكركم بموعدكم غداً في العيادة. للتأكيد أرسلوا ١ وللإلغاء أرسلوا ٢. " * 3)[:180]


@pytest.fixture
def world(app: Flask, client: FlaskClient, tenants: Tenants, smsc: RunningSmsc) -> SmsWorld:  # noqa: F811
    host, port = smsc.smpp_address
    route = SmppRoute(host, port, *smsc.esme_credentials, binds=1, window=50)
    return SmsWorld(app, client, tenants, BridgeSettings(route=route, poll_every=0.02, held_receipts_every=0.2))


@pytest.fixture
def bridge(world: SmsWorld) -> Iterator[SmsBridge]:
    running = SmsBridge(world.sessions, world.settings, messaging=world.messaging, worker="jasmin-tests").start()
    assert running.binds.wait_bound(timeout=15), "no bind to Jasmin"
    yield running
    running.stop(10)


def session_texts(world: SmsWorld, session_id: str) -> list[str]:
    return [m.text for m in world.messages(session_id=session_id)]


def session_row(world: SmsWorld, session_id: str) -> FlowSession:
    with world.sessions() as db:
        row = db.get(FlowSession, session_id)
        assert row is not None
        return row


def delivered(world: SmsWorld, message_id: int) -> SmsMessage | None:
    with world.sessions() as db:
        row = db.get(SmsMessage, message_id)
    return row if row is not None and row.status == "delivered" else None


def all_delivered(world: SmsWorld, **equal: object) -> bool | None:
    statuses = {m.status for m in world.messages(**equal)}
    return True if statuses == {"delivered"} else None


def test_a_two_way_journey_through_jasmin(world: SmsWorld, bridge: SmsBridge, smsc: RunningSmsc) -> None:
    ours = world.number()
    session_id = world.start(HANDSET_NUMBERS["reply-1"], ours, world.publish())
    wait_for(lambda: True if session_row(world, session_id).status == "completed" else None, 30, "the journey's end")
    row = session_row(world, session_id)
    assert (row.state["results"]["first"]["value"], row.state["results"]["second"]["value"]) == ("1", "1")
    assert session_texts(world, session_id) == ["First answer?", "Second answer?", "Thanks 1 1"]
    wait_for(lambda: all_delivered(world, session_id=session_id), 30, "every receipt")
    for message in world.messages(session_id=session_id):
        [submitted] = smsc.handsets.messages("submit_sm", text=message.text, source=ours.lstrip("+"))
        assert (submitted["destination"], submitted["status"]) == (HANDSET_NUMBERS["reply-1"].lstrip("+"), "ESME_ROK")


@pytest.mark.parametrize("script, status", [("delivered", "delivered"), ("undelivered", "undelivered"),
                                            ("expired", "expired"), ("rejected", "rejected")])
def test_each_receipt_reaches_the_messages_table_forward_only(world: SmsWorld, bridge: SmsBridge, script: str,
                                                              status: str) -> None:
    message_id = send(world, HANDSET_NUMBERS[script], f"{script} via jasmin {world.app.config['DATABASE_URL'][-12:]}")
    seen: list[str | None] = []

    def final() -> SmsMessage | None:
        with world.sessions() as db:
            row = db.get(SmsMessage, message_id)
        assert row is not None
        if not seen or seen[-1] != row.status:
            seen.append(row.status)
        return row if row.status not in ORDER else None

    row = wait_for(final, 30, f"the {script} receipt")
    assert row.status == status
    assert [ORDER.get(s, 3) for s in seen] == sorted(ORDER.get(s, 3) for s in seen)  # never backwards
    [part] = world.parts(message_id)
    assert part.status == status and part.submit_id and len(part.submit_id) >= 32  # Jasmin's own id


def test_a_three_part_arabic_message_goes_as_three_parts_and_rolls_up(world: SmsWorld, bridge: SmsBridge,
                                                                       smsc: RunningSmsc) -> None:
    destination = numbers_like("delivered", 1, offset=500 + len(world.app.config["DATABASE_URL"]) % 400)[0]
    message_id = send(world, destination, ARABIC_180)
    row = wait_for(lambda: delivered(world, message_id), 30, "the roll-up")
    assert (row.encoding, row.parts) == ("ucs2", 3)
    parts = world.parts(message_id)
    assert [(p.seq, p.status) for p in parts] == [(1, "delivered"), (2, "delivered"), (3, "delivered")]
    assert len({p.submit_id for p in parts}) == 3
    submitted = [r for r in smsc.handsets.messages("submit_sm", destination=destination.lstrip("+"))
                 if r["reference"] == message_id & 0xFF]
    assert sorted((r["index"], r["total"], r["data_coding"]) for r in submitted) == [(1, 3, 8), (2, 3, 8), (3, 3, 8)]
    assert "".join(r["text"] for r in sorted(submitted, key=lambda r: r["index"])) == ARABIC_180


@pytest.mark.parametrize("script, answer", [("reply-three-parts", THREE_PART_REPLY), ("reply-arabic", ARABIC_REPLY)])
def test_long_and_arabic_replies_reach_the_session_whole(world: SmsWorld, bridge: SmsBridge, script: str,
                                                         answer: str) -> None:
    session_id = world.start(HANDSET_NUMBERS[script], world.number(), world.publish())
    results = wait_for(lambda: session_row(world, session_id).state.get("results", {}).get("first"), 30, "the reply")
    assert results["value"] == answer
    assert bridge.counters.mo_incomplete == 0


def test_stop_opts_the_contact_out_and_is_confirmed(world: SmsWorld, bridge: SmsBridge) -> None:
    contact = HANDSET_NUMBERS["reply-stop"]
    ours = world.number()
    session_id = world.start(contact, ours, world.publish())
    wait_for(lambda: True if session_row(world, session_id).end_reason == "opted_out" else None, 30, "the opt-out")
    with world.sessions() as db:
        person = db.scalars(select(Contact).where(Contact.account_id == world.tenants.ids["acme"],
                                                  Contact.phone == contact)).one()
        assert "sms" not in person.channels
    confirmation = wait_for(lambda: next((m for m in world.messages(destination=contact, sender=ours)
                                          if m.session_id is None and m.status == "delivered"), None),
                            30, "the confirmation's delivery")
    assert confirmation.text


def test_an_sms_campaign_is_settled_by_jasmins_receipts(world: SmsWorld, bridge: SmsBridge,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOICEPLATFORM_CHANNELS", "sms_bridge.driver:register")
    phones = numbers_like("delivered", 4, offset=(len(world.app.config["DATABASE_URL"]) % 50) * 4) + [
        HANDSET_NUMBERS["undelivered"]]
    seeded = seed_messaging(world.sessions, phones, name="sms-via-jasmin", definition=NOTICE)
    with world.sessions.begin() as db:  # the campaign speaks from an SMS number of its account's
        number = Number(account_id=seeded.account_id, number=our_number())
        number.channels = [NumberChannel(channel="sms")]
        db.add(number)
    # until every contact had its attempt (the undelivered one's receipt may reopen the campaign meanwhile)
    MessagingWorld(world.sessions).run_until(
        seeded.campaign_id, lambda _campaign: len(attempts(world.sessions, seeded.campaign_id)) == len(phones))

    def settled() -> list[str] | None:
        found = sorted(a.outcome for a in attempts(world.sessions, seeded.campaign_id))
        return found if len(found) == len(phones) and "sent" not in found else None

    assert wait_for(settled, 45, "every attempt settled") == ["delivered"] * 4 + ["undelivered"]
