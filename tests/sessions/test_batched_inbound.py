"""The batched runtime (SQLite and PostgreSQL): MessageRouter.receive_many applies the waiting
messages in one transaction, in order, each once, and falls back to one by one when the batch
fails; the store's batched writes refuse a stale row version; the sweeper's batches (plain rows,
store.claim_many: the same outcome, history, messages and opt-out checks as a resume of the ORM row;
a stale row version refused; two lanes, each expiry once, a failed lane losing nothing); the cached opt-out words and numbers apply a change within their
bound; session ids in the order they were made."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from tests.sessions.conftest import FLOW
from voiceplatform.channels.contract import InboundMessage
from voiceplatform.contacts.opt_out import apply_opt_outs
from voiceplatform.db import session_factory
from voiceplatform.flow import short_links
from voiceplatform.exceptions import SessionConflictError
from voiceplatform.flow import Input, Step
from voiceplatform.models import Contact, FlowSession, SessionEvent
from voiceplatform.models.base import utcnow
from voiceplatform.models.sessions import DevMessage, EventKind, InboundReceipt, OptOutSettings, SessionStatus
from voiceplatform.sessions import runtime, store, sweeper
from voiceplatform.sessions.runtime import MessagingRuntime
from voiceplatform.sessions.rows import ClaimedRow
from voiceplatform.testing.session_worker import Seeded, seed, seed_contacts, seed_waiting

_numbers = itertools.count(1)


@pytest.fixture(scope="module")
def sessions(engine: Engine) -> sessionmaker[Session]:
    return session_factory(engine)


@pytest.fixture
def seeded(sessions: sessionmaker[Session]) -> Seeded:
    n = next(_numbers)
    return seed(sessions, FLOW, f"+1202555{n:04d}", account=f"batched-{n}")


@pytest.fixture
def messaging(sessions: sessionmaker[Session]) -> Iterator[MessagingRuntime]:
    yield runtime.build(sessions)


def _senders(seeded: Seeded, n: int) -> list[str]:
    return [f"+1303{seeded.account_id:03d}{i:04d}" for i in range(n)]


def _waiting(sessions: sessionmaker[Session], seeded: Seeded, addresses: list[str], minutes: float = 60) -> list[str]:
    return seed_waiting(sessions, seeded, addresses, expires_at=utcnow() + timedelta(minutes=minutes))


def _message(seeded: Seeded, sender: str, text: str, message_id: str | None = None) -> InboundMessage:
    return InboundMessage("dev", sender, seeded.our_address, Input.text(text), message_id)


def _inputs(sessions: sessionmaker[Session], session_id: str) -> list[dict[str, Any]]:
    with sessions() as db:
        return [event.payload for event in store.history(db, session_id) if event.kind == "input"]


def _row(sessions: sessionmaker[Session], session_id: str) -> FlowSession:
    with sessions() as db:
        row = db.get(FlowSession, session_id)
        assert row is not None
        return row


def test_a_batch_applies_every_message_in_order_in_one_go(sessions: sessionmaker[Session], seeded: Seeded,
                                                          messaging: MessagingRuntime) -> None:
    senders = _senders(seeded, 3)
    ids = _waiting(sessions, seeded, senders)
    # two replies to the first session in the same batch, one to each of the others
    batch = [_message(seeded, senders[0], "red"), _message(seeded, senders[1], "green"),
             _message(seeded, senders[0], "blue"), _message(seeded, senders[2], "pink", "m-pink")]
    routed = messaging.router.receive_many(batch)
    assert [r.outcome for r in routed] == ["resumed"] * 4
    assert [r.session_id for r in routed] == [ids[0], ids[1], ids[0], ids[2]]
    first = _row(sessions, ids[0])
    assert first.status == "completed" and first.row_version == 2  # one UPDATE for both replies
    assert first.state["results"]["first"]["value"] == "red" and first.state["results"]["second"]["value"] == "blue"
    assert [p["value"] for p in _inputs(sessions, ids[0])] == ["red", "blue"]
    with sessions() as db:
        seqs = [e.seq for e in store.history(db, ids[0])]
        assert seqs == list(range(1, len(seqs) + 1))
        outbox = [m.text for m in db.scalars(select(DevMessage).where(DevMessage.session_id == ids[0])
                                             .order_by(DevMessage.id))]
        assert outbox == ["Second answer?", "Thanks red blue"]
        assert db.get(InboundReceipt, ("dev", "m-pink")) is not None
        # every sender is a contact now, found or created in one statement
        phones = set(db.scalars(select(Contact.phone).where(Contact.account_id == seeded.account_id)))
        assert phones == set(senders)
    assert _row(sessions, ids[1]).status == "waiting"


def test_message_ids_are_applied_once_within_a_batch_and_across_batches(
        sessions: sessionmaker[Session], seeded: Seeded, messaging: MessagingRuntime) -> None:
    sender = _senders(seeded, 1)[0]
    (session_id,) = _waiting(sessions, seeded, [sender])
    first = messaging.router.receive_many([_message(seeded, sender, "one", "p-1"), _message(seeded, sender, "one", "p-1")])
    assert [r.outcome for r in first] == ["resumed", "duplicate"]
    again = messaging.router.receive_many([_message(seeded, sender, "one", "p-1"), _message(seeded, sender, "two", "p-2")])
    assert [r.outcome for r in again] == ["duplicate", "resumed"]
    assert [p["value"] for p in _inputs(sessions, session_id)] == ["one", "two"]


def test_a_failing_message_costs_the_others_nothing(sessions: sessionmaker[Session], seeded: Seeded,
                                                    messaging: MessagingRuntime,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    senders = _senders(seeded, 3)
    ids = _waiting(sessions, seeded, senders)
    resume_in = messaging.runner.resume_in
    attempts: list[str] = []

    def fragile(db: Session, row: FlowSession, given: Input) -> Any:
        attempts.append(str(given.value))
        if given.value == "boom":
            raise RuntimeError("this message's resume fails")
        return resume_in(db, row, given)

    monkeypatch.setattr(messaging.runner, "resume_in", fragile)
    routed = messaging.router.receive_many([_message(seeded, senders[0], "a"), _message(seeded, senders[1], "boom"),
                                            _message(seeded, senders[2], "c", "m-c")])
    assert [r.outcome for r in routed] == ["resumed", "failed", "resumed"]
    assert routed[1].error is not None and "fails" in routed[1].error
    assert attempts[:2] == ["a", "boom"] and attempts[2:] == ["a", "boom", "c"]  # the batch, then one by one
    assert [p["value"] for p in _inputs(sessions, ids[0])] == ["a"]  # applied once, not twice
    assert _inputs(sessions, ids[1]) == [] and _row(sessions, ids[1]).row_version == 1  # nothing of it kept
    assert [p["value"] for p in _inputs(sessions, ids[2])] == ["c"]
    with sessions() as db:
        assert db.get(InboundReceipt, ("dev", "m-c")) is not None


def test_a_batch_routes_opt_outs_unsolicited_and_a_started_flow_in_order(
        sessions: sessionmaker[Session], seeded: Seeded, messaging: MessagingRuntime) -> None:
    stop, stray = _senders(seeded, 2)
    (stopping,) = _waiting(sessions, seeded, [stop])
    routed = messaging.router.receive_many([_message(seeded, stop, "STOP"), _message(seeded, stop, "hello?"),
                                            _message(seeded, stray, "hi"),
                                            InboundMessage("dev", stray, "+19999999999", Input.text("x"))])
    assert [r.outcome for r in routed] == ["opted_out", "unsolicited", "unsolicited", "unknown_number"]
    row = _row(sessions, stopping)
    assert row.status == "completed" and row.end_reason == "opted_out"
    with sessions() as db:
        contact = db.scalars(select(Contact).where(Contact.account_id == seeded.account_id, Contact.phone == stop)).one()
        assert "sms" not in contact.channels


def test_a_message_that_starts_a_flow_and_the_next_one_resume_the_same_session_in_one_batch(
        sessions: sessionmaker[Session], seeded: Seeded, messaging: MessagingRuntime) -> None:
    from voiceplatform.models import Number

    with sessions.begin() as db:
        number = db.get(Number, seeded.number_id)
        assert number is not None
        number.flow_name = "two_questions"
    messaging.router.numbers.clear()  # the number's flow changed just now (the cache's bound: tested below)
    sender = _senders(seeded, 1)[0]
    routed = messaging.router.receive_many([_message(seeded, sender, "start me"), _message(seeded, sender, "red")])
    assert [r.outcome for r in routed] == ["started", "resumed"]
    assert routed[0].session_id == routed[1].session_id
    assert [p.get("value") for p in _inputs(sessions, str(routed[0].session_id))] == ["start me", "red"]


def test_a_stale_row_version_is_refused_by_the_batched_write(sessions: sessionmaker[Session], seeded: Seeded) -> None:
    (session_id,) = _waiting(sessions, seeded, _senders(seeded, 1))
    with sessions() as db:
        row = db.get(FlowSession, session_id)  # read without the lock
        assert row is not None
        with sessions.begin() as other:  # another writer gets there first
            theirs = other.get(FlowSession, session_id)
            assert theirs is not None
            theirs.end_reason = "theirs"
        with pytest.raises(SessionConflictError), store.batched(db):
            store.end(db, row, SessionStatus.EXPIRED, "mine")
        db.rollback()
    assert _row(sessions, session_id).end_reason == "theirs"


def test_outside_a_batch_each_write_is_immediate_and_the_orm_row_stays_consistent(
        sessions: sessionmaker[Session], seeded: Seeded) -> None:
    (session_id,) = _waiting(sessions, seeded, _senders(seeded, 1))
    with sessions.begin() as db:
        row = store.lock(db, session_id)
        store.append(db, row, [(EventKind.RUNTIME, "note", {"n": 1})])
        assert db.scalar(select(func.count()).select_from(SessionEvent).where(SessionEvent.session_id == session_id)) == 1
        store.save(db, row, Step((), (), {**row.state, "status": "completed", "end_reason": "done"}))
        row.end_reason = "changed through the ORM afterwards"  # flushed by the ORM at commit, version compared
    row = _row(sessions, session_id)
    assert row.status == "completed" and row.end_reason == "changed through the ORM afterwards"
    assert row.row_version == 4 and row.last_seq == 1


def test_the_sweeper_works_in_batches_each_expiry_once(sessions: sessionmaker[Session], seeded: Seeded,
                                                       messaging: MessagingRuntime) -> None:
    ids = _waiting(sessions, seeded, _senders(seeded, 5), minutes=-5)
    later = utcnow() + timedelta(seconds=1)
    rounds = []
    while (done := sweeper.sweep_once(messaging.runner, now=later, batch=2)):
        rounds.append(done)
    assert rounds[:3] == [2, 2, 1]
    for session_id in ids:
        assert [p["kind"] for p in _inputs(sessions, session_id)] == ["timeout"]
        assert _row(sessions, session_id).status == "completed"


def test_a_changed_opt_out_word_list_applies_within_the_cache_bound(sessions: sessionmaker[Session], seeded: Seeded,
                                                                    messaging: MessagingRuntime) -> None:
    clock = [1000.0]
    cache = messaging.router.opt_out_words
    cache.clock = lambda: clock[0]
    first, second = _senders(seeded, 2)
    _waiting(sessions, seeded, [first, second])
    assert messaging.router.receive(_message(seeded, first, "basta")).outcome == "resumed"  # read and kept
    with sessions.begin() as db:
        db.add(OptOutSettings(account_id=seeded.account_id, words=["basta"], confirmation={}))
    clock[0] += cache.seconds - 0.5
    assert messaging.router.receive(_message(seeded, first, "basta")).outcome != "opted_out"  # the kept list
    clock[0] += 1.0
    assert messaging.router.receive(_message(seeded, second, "basta")).outcome == "opted_out"  # read again


def test_a_message_id_applied_by_another_worker_meanwhile_is_a_duplicate(
        sessions: sessionmaker[Session], seeded: Seeded, messaging: MessagingRuntime,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The other worker's receipt commits after this batch read the receipts: the INSERT of the
    same id fails (an IntegrityError, as SQLAlchemy reports it), nothing of the batch is kept,
    and the messages applied again find the receipt."""
    first, second = _senders(seeded, 2)
    ids = _waiting(sessions, seeded, [first, second])
    with sessions.begin() as db:
        db.add(InboundReceipt(channel="dev", message_id="seen-elsewhere", account_id=seeded.account_id,
                              session_id=ids[0], outcome="resumed", received_at=utcnow()))
    applied = type(messaging.router)._applied
    reads: list[int] = []

    def stale(db: Session, messages: list[InboundMessage]) -> set[tuple[str, str]]:
        reads.append(len(messages))
        return set() if len(reads) == 1 else applied(db, messages)  # the first read misses it

    monkeypatch.setattr(type(messaging.router), "_applied", staticmethod(stale))
    routed = messaging.router.receive_many([_message(seeded, first, "red", "seen-elsewhere"),
                                            _message(seeded, second, "green", "fresh")])
    assert [r.outcome for r in routed] == ["duplicate", "resumed"]
    assert _inputs(sessions, ids[0]) == [] and [p["value"] for p in _inputs(sessions, ids[1])] == ["green"]
    reads.clear()  # one message alone: its own retry (receive) reads the receipts again
    single = messaging.router.receive(_message(seeded, first, "red", "seen-elsewhere"))
    assert single.outcome == "duplicate" and reads == [1, 1]
    assert _inputs(sessions, ids[0]) == []


def _at_the_second_question(sessions: sessionmaker[Session], seeded: Seeded, messaging: MessagingRuntime,
                            n: int, opted_out: bool = False) -> list[str]:
    """n sessions of contacts waiting on the second question (its timeout says "Too late.")."""
    senders = _senders(seeded, n)
    contacts = seed_contacts(sessions, seeded.account_id, senders)
    ids = seed_waiting(sessions, seeded, senders, expires_at=utcnow() + timedelta(hours=1), contact_ids=contacts)
    routed = messaging.router.receive_many([_message(seeded, sender, "red") for sender in senders])
    assert [r.outcome for r in routed] == ["resumed"] * n
    if opted_out:
        with sessions.begin() as db:
            for contact_id in contacts.values():
                apply_opt_outs(db, contact_id, ["sms"], utcnow())
    return ids


def _history(sessions: sessionmaker[Session], session_id: str) -> list[tuple[str, str, str, dict[str, Any]]]:
    with sessions() as db:
        return [(event.kind, event.type, event.channel, event.payload) for event in store.history(db, session_id)]


def _outbox(sessions: sessionmaker[Session], session_id: str) -> list[str]:
    with sessions() as db:
        return list(db.scalars(select(DevMessage.text).where(DevMessage.session_id == session_id)
                               .order_by(DevMessage.id)))


def _comparable(state: dict[str, Any]) -> dict[str, Any]:
    """A state without what differs between two sessions (id, contact, times)."""
    ignored = {"session", "contact", "started_at", "updated_at"}
    return {key: value for key, value in state.items() if key not in ignored} | {
        "results": {name: {k: v for k, v in result.items() if k != "at"} for name, result in state["results"].items()}}


@pytest.mark.parametrize("opted_out", [False, True], ids=["contact", "opted-out contact"])
def test_a_swept_session_ends_as_a_resume_of_its_orm_row_would(sessions: sessionmaker[Session], seeded: Seeded,
                                                               messaging: MessagingRuntime, opted_out: bool) -> None:
    swept, resumed = _at_the_second_question(sessions, seeded, messaging, 2, opted_out)
    messaging.runner.resume(resumed, Input.timeout())  # the ORM row, under store.lock
    later = utcnow() + timedelta(hours=2)
    assert sweeper.sweep(messaging.runner, now=later) >= 1  # plain rows, claimed by store.claim_many
    assert _history(sessions, swept) == _history(sessions, resumed)
    assert _outbox(sessions, swept) == _outbox(sessions, resumed) == (
        ["Second answer?"] + ([] if opted_out else ["Too late."]))  # (seeded waiting: no first question sent)
    kinds = [(kind, type_) for kind, type_, _, _ in _history(sessions, swept)]
    assert (("runtime", "suppressed") in kinds) is opted_out
    rows = _row(sessions, swept), _row(sessions, resumed)
    for row in rows:
        assert (row.status, row.wait_kind, row.wait_expires_at, row.row_version) == ("completed", None, None, 3)
        assert row.ended_at is not None and row.last_seq == len(_history(sessions, row.id))
    assert rows[0].end_reason == rows[1].end_reason
    assert _comparable(rows[0].state) == _comparable(rows[1].state)


def test_a_claimed_row_written_by_someone_else_meanwhile_is_refused(sessions: sessionmaker[Session],
                                                                     seeded: Seeded) -> None:
    (session_id,) = _waiting(sessions, seeded, _senders(seeded, 1), minutes=-5)
    with sessions() as db:
        (row,) = store.claim_many(db, FlowSession.id == session_id)
        assert isinstance(row, ClaimedRow) and row.row_version == 1 and row.status == "waiting"
        assert row.state["node"] == "q1" and row.wait_kind == "gather" and row.wait_expires_at is not None
        # another writer's UPDATE (a stand-in in the same transaction: the lock keeps real ones out)
        db.execute(text("UPDATE sessions SET row_version = row_version + 1, end_reason = 'theirs' WHERE id = :id"),
                   {"id": session_id})
        with pytest.raises(SessionConflictError), store.batched(db):
            store.append(db, row, [(EventKind.RUNTIME, "note", {})])
            store.end(db, row, SessionStatus.EXPIRED, "mine")
        db.rollback()
    found = _row(sessions, session_id)
    assert (found.status, found.end_reason, found.row_version) == ("waiting", None, 1)
    assert _history(sessions, session_id) == []


def test_a_claimed_row_is_written_as_its_step_left_it(sessions: sessionmaker[Session], seeded: Seeded) -> None:
    (session_id,) = _waiting(sessions, seeded, _senders(seeded, 1), minutes=-5)
    with sessions.begin() as db, store.batched(db):
        (row,) = store.claim_many(db, FlowSession.id == session_id)
        store.append(db, row, [(EventKind.RUNTIME, "note", {"n": 1}), ("runtime", "other", {"text": "عربي"})])
        row.channel = "sms"  # a switch_channel sets it on the row, as on an ORM row
        store.end(db, row, SessionStatus.EXPIRED, "mine")
    found = _row(sessions, session_id)
    assert (found.status, found.end_reason, found.channel, found.row_version, found.last_seq) == (
        "expired", "mine", "sms", 2, 2)
    assert row.row_version == 2  # the plain row moved on with the one it wrote
    assert _history(sessions, session_id) == [("runtime", "note", "dev", {"n": 1}),
                                              ("runtime", "other", "dev", {"text": "عربي"})]


def test_session_ids_are_32_hex_digits_in_the_order_they_were_made(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1_767_000_000_000_000_000]  # nanoseconds
    monkeypatch.setattr(store.time, "time_ns", lambda: now[0])
    same_moment = {store.new_id() for _ in range(1000)}
    now[0] += 1_000_000  # a millisecond later
    later = store.new_id()
    assert len(same_moment) == 1000  # 80 random bits after the time
    assert all(len(i) == 32 and int(i, 16) >= 0 and i < later for i in same_moment)
    assert {i[:12] for i in same_moment} == {f"{now[0] // 1_000_000 - 1:012x}"}
    assert short_links.parse_token(short_links.token(later)) == (later, None)  # still a click-tracked link's id


def test_a_sweep_on_two_lanes_applies_each_expiry_once(sessions: sessionmaker[Session], seeded: Seeded,
                                                       messaging: MessagingRuntime,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    ids = _waiting(sessions, seeded, _senders(seeded, 23), minutes=-5)
    later = utcnow() + timedelta(seconds=1)
    lanes_seen: set[str] = set()
    resume_in = messaging.runner.resume_in

    def noting(*args: Any, **kwargs: Any) -> Any:
        lanes_seen.add(threading.current_thread().name)
        return resume_in(*args, **kwargs)

    monkeypatch.setattr(messaging.runner, "resume_in", noting)
    assert sweeper.sweep(messaging.runner, now=later, batch=4, lanes=2) >= 23
    assert len(lanes_seen) == 2  # the calling thread and the second lane both resumed sessions
    for session_id in ids:
        assert [p["kind"] for p in _inputs(sessions, session_id)] == ["timeout"]
        assert _row(sessions, session_id).status == "completed"
    assert sweeper.sweep(messaging.runner, now=later, batch=4, lanes=2) == 0


def test_a_lane_that_fails_loses_nothing_and_the_sweep_says_so(sessions: sessionmaker[Session], seeded: Seeded,
                                                               messaging: MessagingRuntime,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    ids = _waiting(sessions, seeded, _senders(seeded, 12), minutes=-5)
    later = utcnow() + timedelta(seconds=1)
    resume_in, sweep_once = messaging.runner.resume_in, sweeper.sweep_once
    second_lane_claimed = threading.Event()
    first_lane_batches = itertools.count(1)

    def failing_in_the_second_lane(*args: Any, **kwargs: Any) -> Any:
        if threading.current_thread().name == "sweep lane 1":
            second_lane_claimed.set()
            raise RuntimeError("the second lane's worker thread died")
        return resume_in(*args, **kwargs)

    def first_lane_after_the_second(*args: Any, **kwargs: Any) -> Any:
        # past the sweep's first batch, the calling thread's batches wait until the second lane has
        # claimed one: on a loaded machine the calling thread used to sweep everything before the
        # second lane's thread had started, and nothing failed
        if threading.current_thread() is threading.main_thread() and next(first_lane_batches) > 1:
            second_lane_claimed.wait(10)
        return sweep_once(*args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(messaging.runner, "resume_in", failing_in_the_second_lane)
        patch.setattr(sweeper, "sweep_once", first_lane_after_the_second)
        with pytest.raises(RuntimeError, match="second lane"):
            sweeper.sweep(messaging.runner, now=later, batch=4, lanes=2)
    swept_before = [session_id for session_id in ids if _inputs(sessions, session_id)]
    assert 4 <= len(swept_before) < len(ids)  # the first batch and maybe more, not the failed lane's batch
    assert sweeper.sweep(messaging.runner, now=later, batch=4) >= len(ids) - len(swept_before)
    for session_id in ids:
        assert [p["kind"] for p in _inputs(sessions, session_id)] == ["timeout"]


def test_history_rows_keep_every_character_through_the_batched_insert(sessions: sessionmaker[Session],
                                                                       seeded: Seeded) -> None:
    (session_id,) = _waiting(sessions, seeded, _senders(seeded, 1))
    awkward = ["tab\there", "new\nline\r\n", "back\\slash \\N \\t", "مرحبا \U0001f44d", "", "\\", "quote \" and '"]
    with sessions.begin() as db, store.batched(db):
        row = store.lock(db, session_id)
        store.append(db, row, [(EventKind.RUNTIME, text, {"text": text, "list": [text, None, 1.5, 2**40]})
                               for text in awkward], channel="dev\tx")
    assert _history(sessions, session_id) == [("runtime", text, "dev\tx", {"text": text, "list": [text, None, 1.5, 2**40]})
                                              for text in awkward]
