"""The whole bridge (binds, sender, deliveries, upkeep) straight to the handset network in this
process, on SQLite and PostgreSQL: what only a direct bind can show, since Jasmin absorbs it
(Jasmin retries throttled submits itself and answers every submit at once):

- a throttled or queue-full part is retried and delivered, never failed; an always-throttled
  number stays queued, slowed down more each pass;
- a submit whose answer never comes is ``unknown``, counted, and never sent again;
- a receipt that comes before its submit_sm_resp is stored is held, then applied.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from tests.api.conftest import Tenants, app, client, tenants  # noqa: F401  (fixtures)
from tests.sms_bridge.world import SmsWorld, wait_for
from voiceplatform.channels.contract import Delivery
from voiceplatform.flow.outputs import Send
from voiceplatform.models import FlowSession
from voiceplatform.models.base import utcnow
from voiceplatform.models.sms import SmsHeldReceipt, SmsMessage
from voiceplatform.smsc.handset_network.numbers import HANDSET_NUMBERS
from voiceplatform.smsc.handset_network.records import Recorder
from voiceplatform.smsc.handset_network.server import HandsetNetwork

from sms_bridge import outbox
from sms_bridge.bridge import SmsBridge
from sms_bridge.config import BridgeSettings, SmppRoute
from sms_bridge.counters import Counters
from sms_bridge.sender import submit_message


@pytest.fixture(scope="module")
def network(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HandsetNetwork]:
    server = HandsetNetwork("127.0.0.1", 0, Recorder(tmp_path_factory.mktemp("handsets") / "records.jsonl"),
                            receipt_seconds=0)
    server.start()
    yield server
    server.stop()
    server.recorder.close()


def settings_for(network: HandsetNetwork, **overrides: object) -> BridgeSettings:
    route = SmppRoute(*network.address, system_id="platform", password="secret", binds=2, window=20)
    defaults: dict[str, object] = dict(route=route, response_timeout=1.0, retry_delay=0.2, retry_delay_max=0.4,
                                       throttle_pause=0.05, poll_every=0.02, held_receipts_every=0.1)
    return BridgeSettings(**{**defaults, **overrides})  # type: ignore[arg-type]


@pytest.fixture
def world(app: Flask, client: FlaskClient, tenants: Tenants, network: HandsetNetwork) -> SmsWorld:  # noqa: F811
    return SmsWorld(app, client, tenants, settings_for(network))


@pytest.fixture
def bridge(world: SmsWorld) -> Iterator[SmsBridge]:
    running = SmsBridge(world.sessions, world.settings, messaging=world.messaging, worker="test-bridge").start()
    assert running.binds.wait_bound(timeout=10)
    yield running
    running.stop(5)


def send(world: SmsWorld, destination: str, text: str) -> int:
    """Queue one message to ``destination`` from a number of ours, outside any session."""
    driver = world.messaging.channels.get("sms")
    with world.sessions.begin() as db:
        before = db.scalar(select(SmsMessage.id).order_by(SmsMessage.id.desc()).limit(1)) or 0
        driver.deliver(db, Delivery(None, world.tenants.ids["acme"], destination, "+12025559200", "sms",
                                    (Send("sms", text),)))
    [message] = [m for m in world.messages(destination=destination) if m.id > before]
    return message.id


def message(world: SmsWorld, message_id: int) -> SmsMessage:
    with world.sessions() as db:
        found = db.get(SmsMessage, message_id)
        assert found is not None
        return found


def submits(network: HandsetNetwork, text: str) -> list[str]:
    return [r["status"] for r in network.recorder.records if r["kind"] == "submit_sm" and r["text"] == text]


@pytest.mark.parametrize("script, refusal", [("throttled-once", "ESME_RTHROTTLED"),
                                             ("queue-full-once", "ESME_RMSGQFUL")])
def test_a_throttled_part_is_retried_and_delivered(world: SmsWorld, bridge: SmsBridge, network: HandsetNetwork,
                                                   script: str, refusal: str) -> None:
    text = f"{script} {world.app.config['DATABASE_URL'][:10]}"
    message_id = send(world, HANDSET_NUMBERS[script], text)
    delivered = wait_for(lambda: message(world, message_id) if message(world, message_id).status == "delivered"
                         else None, what="the delivery")
    assert (delivered.attempts, delivered.send_state, delivered.unconfirmed) == (2, "submitted", 0)
    assert submits(network, text) == [refusal, "ESME_ROK"]
    assert bridge.counters.parts_slowed >= 1


def test_an_always_throttled_number_stays_queued_and_slows_down(world: SmsWorld, bridge: SmsBridge,
                                                               network: HandsetNetwork) -> None:
    text = f"always throttled {world.app.config['DATABASE_URL'][:10]}"
    message_id = send(world, HANDSET_NUMBERS["always-throttled"], text)
    wait_for(lambda: True if len(submits(network, text)) >= 4 else None, what="four attempts")
    row = message(world, message_id)
    assert row.send_state in ("queued", "submitting") and row.status is None and row.attempts >= 3
    assert set(submits(network, text)) == {"ESME_RTHROTTLED"}
    retire(world, bridge, message_id)


def retire(world: SmsWorld, bridge: SmsBridge, message_id: int) -> None:
    """Stop the bridge and fail the message still queued: the module's database outlives this
    test, and every later test's bridge would otherwise go on sending it, each refusal pausing a
    bind for longer (up to throttle_pause_max), which held up a later test's receipts beyond its
    wait (CI: test_a_two_way_journey_straight_to_the_handsets)."""
    bridge.stop(5)
    with world.sessions.begin() as db:
        row = db.get(SmsMessage, message_id)
        assert row is not None and row.send_state in ("queued", "submitting")
        row.send_state, row.error = "failed", "retired by the test"


def test_a_submit_with_no_answer_is_unknown_and_never_sent_again(world: SmsWorld, bridge: SmsBridge,
                                                                network: HandsetNetwork) -> None:
    text = f"no response {world.app.config['DATABASE_URL'][:10]}"
    message_id = send(world, HANDSET_NUMBERS["no-response"], text)
    unknown = wait_for(lambda: message(world, message_id) if message(world, message_id).status else None,
                       what="the status")
    assert (unknown.status, unknown.send_state, unknown.unconfirmed) == ("unknown", "submitted", 1)
    later = send(world, HANDSET_NUMBERS["delivered"], text + " (a later message)")
    wait_for(lambda: True if message(world, later).status == "delivered" else None, what="the later delivery")
    assert len(submits(network, text)) == 1  # not resent, several passes later
    assert bridge.counters.parts_unanswered == 1


def test_a_receipt_that_comes_before_its_answer_is_stored_is_applied(world: SmsWorld, network: HandsetNetwork,
                                                                      bridge: SmsBridge) -> None:
    bridge.sender.stop(5)  # this test plays the sender of another process, to hold its write back
    bridge.binds.on_answer, bridge.deliveries.answers = None, None
    text = f"receipt first {world.app.config['DATABASE_URL'][:10]}"
    message_id = send(world, HANDSET_NUMBERS["delivered"], text)
    with world.sessions.begin() as db:
        [claimed] = [m for m in outbox.claim(db, "slow-writer", utcnow(), 100, 60) if m.id == message_id]
    result = submit_message(bridge.binds, claimed, Counters())
    [part] = result.parts
    assert part.submit_id
    held = wait_for(lambda: _held(world, part.submit_id or ""), what="the receipt, held")
    assert held.status == "delivered" and message(world, message_id).status is None
    with world.sessions.begin() as db:
        outbox.record(db, [result], "slow-writer", utcnow(), world.settings)
    row = message(world, message_id)
    assert (row.status, row.send_state) == ("delivered", "submitted")
    assert _held(world, part.submit_id or "") is None


def _held(world: SmsWorld, submit_id: str) -> SmsHeldReceipt | None:
    with world.sessions() as db:
        return db.scalars(select(SmsHeldReceipt).where(SmsHeldReceipt.submit_id == submit_id)).first()


def test_a_two_way_journey_straight_to_the_handsets(world: SmsWorld, bridge: SmsBridge) -> None:
    ours = world.number()
    session_id = world.start(HANDSET_NUMBERS["reply-1"], ours, world.publish())
    texts = wait_for(lambda: _texts(world, session_id) if len(_texts(world, session_id)) == 3 else None,
                     what="the three messages")
    assert texts == ["First answer?", "Second answer?", "Thanks 1 1"]
    with world.sessions() as db:
        row = db.get(FlowSession, session_id)
        assert row is not None and row.status == "completed"
    wait_for(lambda: True if {m.status for m in world.messages(session_id=session_id)} == {"delivered"} else None,
             what="every receipt")


def _texts(world: SmsWorld, session_id: str) -> list[str]:
    return [m.text for m in world.messages(session_id=session_id)]


def test_receipts_that_overtake_their_answers_wait_for_them_in_this_process(world: SmsWorld, bridge: SmsBridge) -> None:
    # the handset network reports at once: every receipt comes before its answer is written
    suffix = world.app.config["DATABASE_URL"][:10]
    ids = [send(world, HANDSET_NUMBERS["delivered"], f"overtaken {n} {suffix}") for n in range(30)]
    # a bound on liveness, not a speed: CI on a slower machine, beside the other shard, took over 15 s
    wait_for(lambda: True if all(message(world, i).status == "delivered" for i in ids) else None, timeout=60,
             what="the receipts")
    assert bridge.counters.receipts >= 30
    assert bridge.counters.receipts_held == 0  # applied after the write, not through the held table
