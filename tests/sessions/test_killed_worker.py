"""A worker SIGKILLed while 1,000 sessions wait: another worker expires or resumes them all, each
exactly once (SQLite and PostgreSQL, real processes: voiceplatform.testing.session_worker runs
the real router and sweeper).

500 sessions have an expired wait (the sweepers' work) and 500 get two replies each, every reply
with a provider message id. Worker A is given the first 600 replies and sweeps as it goes; it is
killed with SIGKILL once it has answered 200 of them and swept at least one batch, so it dies
with work in hand (messages and sweep batches committed, others not). As a provider would, the
test then delivers every reply again, to worker B, answered or not: one A applied is a
``duplicate``, one it did not is applied now. B sweeps what is left.
"""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import timedelta
from typing import Any

import gevent
from sqlalchemy import Engine, func, select

from tests.sessions.conftest import FLOW
from voiceplatform.db import session_factory
from voiceplatform.models import FlowSession, SessionEvent
from voiceplatform.models.base import utcnow
from voiceplatform.models.sessions import InboundReceipt
from voiceplatform.testing.session_worker import WorkerProcess, seed, seed_contacts, seed_waiting

EXPIRED, REPLIED = 500, 500
GIVEN_TO_A, KILL_AFTER = 600, 200
_accounts = itertools.count(1)


def _replies(our_address: str, senders: list[str]) -> list[dict[str, Any]]:
    """Two replies per session, the second right behind the first (often in the same batch)."""
    replies = []
    for n, sender in enumerate(senders):
        for k, text in enumerate(("one", "two")):
            replies.append({"cmd": "msg", "i": 2 * n + k, "from": sender, "to": our_address, "text": text,
                            "message_id": f"reply-{n}-{text}"})
    return replies


def _feed(worker: WorkerProcess, commands: list[dict[str, Any]]) -> None:
    try:
        for command in commands:
            worker.write(command)
    except (BrokenPipeError, ValueError, OSError):
        return  # the worker was killed


def test_a_killed_worker_loses_nothing_and_another_applies_everything_once(engine: Engine, database_url: str) -> None:
    sessions = session_factory(engine)
    n = next(_accounts)
    seeded = seed(sessions, FLOW, f"+1202666{n:04d}", account=f"killed-{n}")
    expired_senders = [f"+1404{n:03d}{i:04d}" for i in range(EXPIRED)]
    reply_senders = [f"+1505{n:03d}{i:04d}" for i in range(REPLIED)]
    expired = seed_waiting(sessions, seeded, expired_senders, expires_at=utcnow() - timedelta(minutes=5))
    replied = seed_waiting(sessions, seeded, reply_senders, expires_at=utcnow() + timedelta(hours=1),
                           contact_ids=seed_contacts(sessions, seeded.account_id, reply_senders))
    replies = _replies(seeded.our_address, reply_senders)

    first = WorkerProcess(database_url, "--sweep", "--sweep-batch", "5")
    feeding = gevent.spawn(_feed, first, replies[:GIVEN_TO_A])
    answered: dict[int, str] = {}
    swept_by_first = 0
    try:
        while len(answered) < KILL_AFTER or not swept_by_first:
            line = first.read()
            if "swept" in line:
                swept_by_first += line["swept"]
            else:
                answered[line["i"]] = line["outcome"]
    finally:
        first.kill()
        feeding.join(timeout=30)
    assert set(answered.values()) == {"resumed"}

    second = WorkerProcess(database_url, "--sweep", "--sweep-batch", "50")
    try:
        feeding = gevent.spawn(_feed, second, replies)  # the provider delivers everything again
        again: dict[int, str] = {}
        swept_by_second = 0
        while len(again) < len(replies):
            line = second.read()
            if "swept" in line:
                swept_by_second += line["swept"]
            else:
                again[line["i"]] = line["outcome"]
        feeding.join(timeout=30)
        second.write({"cmd": "sweep"})
        while "swept_all" not in (line := second.read()):
            swept_by_second += line.get("swept", 0)
        swept_by_second += line["swept_all"]
    finally:
        second.close()

    outcomes = Counter(again.values())
    assert set(outcomes) <= {"resumed", "duplicate"}, outcomes
    assert all(again[i] == "duplicate" for i in answered)  # what A answered, A had committed
    assert outcomes["resumed"] >= len(replies) - GIVEN_TO_A  # B applied what A never had
    assert outcomes["duplicate"] >= KILL_AFTER
    assert swept_by_first > 0 and swept_by_second > 0  # A died with part of the sweep done
    assert swept_by_first + swept_by_second <= EXPIRED  # a batch A did not commit was swept by B, once

    with sessions() as db:
        receipts = db.scalar(select(func.count()).select_from(InboundReceipt).where(
            InboundReceipt.account_id == seeded.account_id))
        assert receipts == len(replies)
        rows = {row.id: row for row in db.scalars(select(FlowSession).where(FlowSession.account_id == seeded.account_id))}
        inputs: dict[str, list[dict[str, Any]]] = {}
        seqs: dict[str, list[int]] = {}
        for event in db.scalars(select(SessionEvent).join(FlowSession).where(FlowSession.account_id == seeded.account_id)
                                .order_by(SessionEvent.session_id, SessionEvent.seq)):
            seqs.setdefault(event.session_id, []).append(event.seq)
            if event.kind == "input":
                inputs.setdefault(event.session_id, []).append(event.payload)
    for session_id in expired:
        assert [p["kind"] for p in inputs[session_id]] == ["timeout"], session_id  # expired exactly once
        assert rows[session_id].status == "completed" and rows[session_id].wait_expires_at is None
    for session_id in replied:
        assert [p["value"] for p in inputs[session_id]] == ["one", "two"], session_id  # each reply once, in order
        row = rows[session_id]
        assert row.status == "completed"
        assert row.state["results"]["first"]["value"] == "one" and row.state["results"]["second"]["value"] == "two"
    for session_id, numbers in seqs.items():
        assert numbers == list(range(1, len(numbers) + 1)), session_id
