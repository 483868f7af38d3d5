"""Delivery receipts on the messages table, on SQLite and PostgreSQL: statuses only move forward;
correlation on receipted_message_id, else the text's id; a receipt that comes before its
submit_sm_resp was stored is held and applied when the answer is written (or by the sweep, when
another process stored it); a three-part message rolls up into one status; a definite final
status settles the campaign attempt, once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from tests.sms_bridge.scripted import ScriptedSubmitter, account, queue
from tests.sms_bridge.test_outbox import LONG, one, send_pass
from voiceplatform.db import session_factory
from voiceplatform.models.base import utcnow
from voiceplatform.models.sms import SmsHeldReceipt, SmsMessage, SmsPart

from sms_bridge.config import BridgeSettings
from sms_bridge.esme import SubmitAnswer
from sms_bridge.delivery_reports import apply_held, apply_receipts, drop_expired
from sms_bridge.receipts import DeliveryReceipt, parse_receipt


@pytest.fixture(autouse=True)
def nothing_left_queued(engine: Engine) -> None:
    with session_factory(engine).begin() as db:
        db.execute(update(SmsMessage).where(SmsMessage.send_state.in_(("queued", "submitting")))
                   .values(send_state="failed", error="left by an earlier test"))


def receipt(submit_id: str, stat: str, *, tlv: bool = True, text_id: str | None = None) -> DeliveryReceipt:
    text = f"id:{text_id or submit_id} sub:001 dlvrd:000 submit date:2601011200 done date:2601011201 stat:{stat} err:000"
    return parse_receipt(text, submit_id if tlv else None)


def apply(sessions: sessionmaker[Session], *receipts: DeliveryReceipt) -> None:
    with sessions.begin() as db:
        apply_receipts(db, list(receipts), utcnow())


def held(sessions: sessionmaker[Session]) -> list[str]:
    with sessions() as db:
        return list(db.scalars(select(SmsHeldReceipt.submit_id).order_by(SmsHeldReceipt.id)))


def sent(sessions: sessionmaker[Session], owner: int, texts: dict[str, str], ids: dict[str, list[str]]) -> None:
    """Queue and submit ``texts``, the SMSC answering each destination with ``ids``."""
    queue(sessions, owner, texts)
    submitter = ScriptedSubmitter({destination: [outbox_accept(i) for i in answer] for destination, answer in ids.items()})
    send_pass(sessions, submitter, utcnow())


def outbox_accept(message_id: str) -> SubmitAnswer:
    return SubmitAnswer(0, message_id)


def test_statuses_only_move_forward(engine: Engine) -> None:
    sessions = session_factory(engine)
    owner = account(sessions, "forward")
    sent(sessions, owner, {"+12025552001": "one"}, {"+12025552001": ["f-1"]})
    assert one(sessions, "+12025552001").status == "accepted"
    apply(sessions, receipt("f-1", "ENROUTE"))
    assert one(sessions, "+12025552001").status == "enroute"
    apply(sessions, receipt("f-1", "DELIVRD"))
    delivered = one(sessions, "+12025552001")
    assert delivered.status == "delivered" and delivered.status_at is not None
    apply(sessions, receipt("f-1", "ENROUTE"), receipt("f-1", "UNDELIV"))  # late, and a contradiction
    assert one(sessions, "+12025552001").status == "delivered"
    assert held(sessions) == []


def test_correlation_on_the_tlv_else_the_text_id(engine: Engine) -> None:
    sessions = session_factory(engine)
    owner = account(sessions, "correlation")
    sent(sessions, owner, {"+12025552101": "tlv", "+12025552102": "text", "+12025552103": "differ"},
         {"+12025552101": ["c-1"], "+12025552102": ["c-2"], "+12025552103": ["c-3"]})
    apply(sessions, receipt("c-1", "DELIVRD"), receipt("c-2", "EXPIRED", tlv=False),
          receipt("tlv-nobody-knows", "REJECTD", text_id="c-3"))  # the TLV unknown, the text's id ours
    assert [one(sessions, d).status for d in ("+12025552101", "+12025552102", "+12025552103")] == [
        "delivered", "expired", "rejected"]
    with sessions() as db:
        part = db.scalars(select(SmsPart).where(SmsPart.submit_id == "c-2")).one()
        assert part.status == "expired" and part.error == "EXPIRED err:000"


def test_a_receipt_before_its_resp_is_held_then_applied(engine: Engine) -> None:
    sessions = session_factory(engine)
    owner = account(sessions, "early")
    apply(sessions, receipt("early-1", "DELIVRD"))  # the SMSC answered and reported before we wrote the answer
    assert held(sessions) == ["early-1"]
    sent(sessions, owner, {"+12025552201": "early"}, {"+12025552201": ["early-1"]})
    assert one(sessions, "+12025552201").status == "delivered"
    assert held(sessions) == []


def test_the_sweep_applies_a_receipt_held_while_another_process_stored_the_answer(engine: Engine) -> None:
    sessions = session_factory(engine)
    owner = account(sessions, "sweep")
    sent(sessions, owner, {"+12025552301": "sweep"}, {"+12025552301": ["s-1"]})
    with sessions.begin() as db:  # as if held concurrently with the answer's commit
        db.add(SmsHeldReceipt(submit_id="s-1", status="undelivered", state="UNDELIV", error="001", payload={}))
        db.add(SmsHeldReceipt(submit_id="nobody", status="delivered", state="DELIVRD", payload={},
                              received_at=utcnow() - timedelta(days=2)))
    with sessions.begin() as db:
        assert apply_held(db, utcnow()).applied == 1
    assert one(sessions, "+12025552301").status == "undelivered"
    assert held(sessions) == ["nobody"]
    with sessions.begin() as db:
        assert drop_expired(db, utcnow() - timedelta(days=1)) == 1
    assert held(sessions) == []


def test_three_parts_roll_up_into_one_status(engine: Engine) -> None:
    sessions = session_factory(engine)
    owner = account(sessions, "roll-up")
    sent(sessions, owner, {"+12025552401": LONG, "+12025552402": LONG},
         {"+12025552401": ["r-1", "r-2", "r-3"], "+12025552402": ["u-1", "u-2", "u-3"]})
    apply(sessions, receipt("r-1", "DELIVRD"), receipt("r-2", "DELIVRD"))
    assert one(sessions, "+12025552401").status == "enroute"  # a part still on its way
    apply(sessions, receipt("r-3", "DELIVRD"))
    assert one(sessions, "+12025552401").status == "delivered"
    apply(sessions, receipt("u-2", "UNDELIV"))
    assert one(sessions, "+12025552402").status == "undelivered"  # it cannot arrive whole any more
    apply(sessions, receipt("u-1", "DELIVRD"), receipt("u-3", "DELIVRD"))
    message = one(sessions, "+12025552402")
    assert message.status == "undelivered"
    with sessions() as db:
        assert [p.status for p in db.scalars(select(SmsPart).where(SmsPart.message_id == message.id)
                                             .order_by(SmsPart.seq))] == ["delivered", "undelivered", "delivered"]


def test_an_unknown_part_leaves_the_message_unknown_until_a_definite_status(engine: Engine) -> None:
    sessions = session_factory(engine)
    owner = account(sessions, "unknown")
    queue(sessions, owner, {"+12025552501": "unknown"})
    send_pass(sessions, ScriptedSubmitter({"+12025552501": [outbox_accept("k-1")]}), utcnow())
    apply(sessions, receipt("k-1", "UNKNOWN"))
    assert one(sessions, "+12025552501").status == "unknown"
    apply(sessions, receipt("k-1", "DELIVRD"))  # an SMSC that did not know learnt
    assert one(sessions, "+12025552501").status == "delivered"


def test_many_receipts_in_one_batch_each_once(engine: Engine) -> None:
    sessions = session_factory(engine)
    owner = account(sessions, "batch")
    destinations = {f"+120255526{n:02d}": f"batch {n}" for n in range(50)}
    sent(sessions, owner, destinations, {d: [f"b-{n}"] for n, d in enumerate(destinations)})
    batch = [receipt(f"b-{n}", "DELIVRD" if n % 2 else "UNDELIV") for n in range(50)] + [receipt("b-0", "DELIVRD")]
    with sessions.begin() as db:
        applied = apply_receipts(db, batch, utcnow())
    assert (applied.applied, applied.held, applied.messages_changed) == (51, 0, 50)
    with sessions() as db:
        counts = dict(db.execute(select(SmsMessage.status, func.count()).where(SmsMessage.account_id == owner)
                                 .group_by(SmsMessage.status)).all())
    assert counts == {"delivered": 25, "undelivered": 25}  # b-0's second receipt changed nothing


def test_early_receipts_of_a_long_message_wait_for_its_last_part(engine: Engine) -> None:
    sessions = session_factory(engine)
    owner = account(sessions, "held-long")
    apply(sessions, receipt("h-2", "DELIVRD"), receipt("h-1", "DELIVRD"))  # parts 1-2 reported early
    queue(sessions, owner, {"+12025552701": LONG})
    submitter = ScriptedSubmitter({"+12025552701": [outbox_accept("h-1"), outbox_accept("h-2"),
                                                    outbox_accept("h-3")]})
    send_pass(sessions, submitter, utcnow(), BridgeSettings())
    assert one(sessions, "+12025552701").status == "enroute"
    apply(sessions, receipt("h-3", "DELIVRD"))
    assert one(sessions, "+12025552701").status == "delivered" and held(sessions) == []
