"""Two replies that arrive together, at two different workers (real processes), are applied one
after the other: both, in the order the session's lock gave them, neither twice (SQLite and
PostgreSQL). Each worker holds its reply behind a barrier until both are ready; the test
releases them together."""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import timedelta

from sqlalchemy import Engine

from tests.sessions.conftest import FLOW
from voiceplatform.db import session_factory
from voiceplatform.models import FlowSession
from voiceplatform.models.base import utcnow
from voiceplatform.sessions import store
from voiceplatform.testing.session_worker import WorkerProcess, seed, seed_waiting

ROUNDS = 12
_accounts = itertools.count(1)


def test_two_replies_reaching_two_workers_at_once_are_applied_in_turn_once_each(engine: Engine,
                                                                                 database_url: str) -> None:
    sessions = session_factory(engine)
    n = next(_accounts)
    seeded = seed(sessions, FLOW, f"+1202777{n:04d}", account=f"across-{n}")
    senders = [f"+1606{n:03d}{i:04d}" for i in range(ROUNDS)]
    ids = seed_waiting(sessions, seeded, senders, expires_at=utcnow() + timedelta(hours=1))
    workers = {"a": WorkerProcess(database_url), "b": WorkerProcess(database_url)}
    try:
        for round_, sender in enumerate(senders):
            for name, worker in workers.items():
                worker.write({"cmd": "barrier"})
                worker.write({"cmd": "msg", "i": round_, "from": sender, "to": seeded.our_address,
                              "text": f"from-{name}", "message_id": f"{name}-{round_}"})
            assert all(worker.read() == {"barrier": True} for worker in workers.values())
            for worker in workers.values():  # both are waiting: release them together
                worker.write({"cmd": "go"})
            answers = [worker.read() for worker in workers.values()]
            assert [a["outcome"] for a in answers] == ["resumed", "resumed"], answers
            assert {a["session_id"] for a in answers} == {ids[round_]}
    finally:
        for worker in workers.values():
            worker.close()

    first_applied: Counter[str] = Counter()
    with sessions() as db:
        for session_id in ids:
            row = db.get(FlowSession, session_id)
            assert row is not None and row.status == "completed"
            texts = [e.payload["value"] for e in store.history(db, session_id) if e.kind == "input"]
            assert sorted(texts) == ["from-a", "from-b"], texts  # both, each once
            # one after the other: the second reply answered the second question
            assert [row.state["results"]["first"]["value"], row.state["results"]["second"]["value"]] == texts
            first_applied[texts[0]] += 1
    assert sum(first_applied.values()) == ROUNDS
