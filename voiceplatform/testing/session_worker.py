"""A stored-sessions worker in a process of its own, for the tests that kill workers and for
bench/sessions.py: the real runtime (voiceplatform.sessions: the dev channel, the shared runner,
the inbound router, the sweeper) fed over a pipe instead of HTTP.

``python -m voiceplatform.testing.session_worker DATABASE_URL [--sweep] [--sweep-batch N]``

One JSON object a line on stdin, answers on stdout:

* ``{"cmd": "msg", "i": ..., "from": ..., "to": ..., "text": ..., "message_id"?: ...}`` is an
  inbound dev-channel message; its answer ``{"i", "outcome", "session_id", "error"}`` is written
  after the commit that applied it. The messages waiting on stdin are applied together
  (MessageRouter.receive_many), as a worker applies what is waiting: no waiting to fill a batch;
* with ``--sweep``, one sweep batch (sweeper.sweep_once) runs after each round of messages, and
  while none come; each batch that resumed sessions is reported as ``{"swept": n}``;
* ``{"cmd": "sweep"}`` sweeps until nothing is due (``{"swept_all": n}``); ``{"cmd": "barrier"}``
  answers ``{"barrier": true}`` and waits for a ``{"cmd": "go"}`` line before reading on (two
  workers released at once); ``{"cmd": "quit"}`` ends the process.

:class:`WorkerProcess` runs one from a test (or the benchmark's load); :func:`seed` and
:func:`seed_waiting` make an account with a dev number and many waiting sessions quickly.
"""

from __future__ import annotations

import argparse
import json
import os
import select
import signal
import subprocess
import sys
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import IO, Any, Callable, Mapping, Sequence

from sqlalchemy import insert
from sqlalchemy.orm import Session, sessionmaker

IDLE_SECONDS = 0.05  # with --sweep and nothing to do: how long to wait for a line before sweeping again
MAX_BUFFER = 1 << 20  # bytes read ahead before the waiting lines are applied

Command = Callable[..., dict[str, Any]]


# ---- seeding -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Seeded:
    account_id: int
    version_id: int
    number_id: int
    our_address: str


def seed(sessions: sessionmaker[Session], flow_yaml: str, our_address: str, account: str = "sessions") -> Seeded:
    """An account with the flow published (version 1) and ``our_address`` as its dev number."""
    from voiceplatform.models import Account, FlowVersion, Number, NumberChannel
    from voiceplatform.models.base import utcnow
    from voiceplatform.models.flows import FlowStatus

    with sessions.begin() as db:
        owner = Account(name=account)
        db.add(owner)
        db.flush()
        name = _flow_name(flow_yaml)
        version = FlowVersion(account_id=owner.id, name=name, version=1, status=FlowStatus.PUBLISHED,
                              definition=flow_yaml, checksum=FlowVersion.checksum_of(flow_yaml), published_at=utcnow())
        number = Number(account_id=owner.id, number=our_address, kind="phone")
        db.add_all([version, number])
        db.flush()
        db.add(NumberChannel(number_id=number.id, channel="dev"))
        return Seeded(owner.id, version.id, number.id, our_address)


def seed_contacts(sessions: sessionmaker[Session], account_id: int, phones: Sequence[str]) -> dict[str, int]:
    """Contacts of the account at ``phones`` (inserted in bulk); gives their ids by phone."""
    from voiceplatform.models import Contact

    ids: dict[str, int] = {}
    with sessions.begin() as db:
        for first in range(0, len(phones), 5000):
            rows = [{"account_id": account_id, "phone": phone, "attributes": {}} for phone in phones[first:first + 5000]]
            ids.update((phone, id_) for id_, phone in db.execute(insert(Contact).returning(Contact.id, Contact.phone), rows))
    return ids


def seed_waiting(sessions: sessionmaker[Session], seeded: Seeded, addresses: Sequence[str], *,
                 expires_at: datetime, every: timedelta = timedelta(0),
                 contact_ids: Mapping[str, int] | None = None) -> list[str]:
    """One session per address waiting on the flow's first question, inserted in bulk: the
    flow's real started state, each with its own id, the i-th one's wait expiring at
    ``expires_at + i * every`` (sessions started one after the other, ``every`` apart). Gives
    the session ids in the order of ``addresses``."""
    from voiceplatform.flow import start
    from voiceplatform.models.base import utcnow
    from voiceplatform.models.sessions import FlowSession
    from voiceplatform.sessions import store
    from voiceplatform.sessions.flows import FlowCache

    with sessions() as db:
        flow = FlowCache().get(db, seeded.version_id)
    now = utcnow()
    template = start(flow, {"phone": addresses[0] if addresses else ""}, "sms", session_id="x", now=now)
    state = {**template.state, "wait": {**template.state["wait"], "expires_at": expires_at.isoformat()}}
    ids = [store.new_id() for _ in addresses]
    for first in range(0, len(addresses), 5000):
        rows = [{"id": session_id, "account_id": seeded.account_id, "channel": "dev", "address": address,
                 "our_address": seeded.our_address, "number_id": seeded.number_id,
                 "contact_id": (contact_ids or {}).get(address), "flow_version_id": seeded.version_id,
                 "status": "waiting", "wait_kind": template.state["wait"]["kind"],
                 "wait_expires_at": expires_at + (first + i) * every,
                 "state": {**state, "session": session_id, "contact": {"phone": address}}, "row_version": 1,
                 "last_seq": 0, "started_at": now, "updated_at": now}
                for i, (session_id, address) in enumerate(zip(ids[first:first + 5000], addresses[first:first + 5000]))]
        with sessions.begin() as db:
            db.execute(insert(FlowSession), rows)
    return ids


def _flow_name(flow_yaml: str) -> str:
    import yaml

    return str(yaml.safe_load(flow_yaml)["name"])


# ---- the worker ----------------------------------------------------------------------------------

class LineReader:
    """Complete lines from a file descriptor: all that are waiting now, without blocking once
    one has come."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.buffer = b""
        self.closed = False

    def lines(self, timeout: float | None) -> list[str]:
        """The lines waiting; waits up to ``timeout`` seconds (None: as long as it takes) for
        the first one."""
        wait = timeout
        while not self.closed and len(self.buffer) < MAX_BUFFER:
            if b"\n" in self.buffer:
                wait = 0
            ready, _, _ = select.select([self.fd], [], [], wait)
            if not ready:
                break
            chunk = os.read(self.fd, 1 << 16)
            if not chunk:
                self.closed = True
                break
            self.buffer += chunk
        *complete, self.buffer = self.buffer.split(b"\n")
        return [line.decode() for line in complete if line.strip()]


class PipeWorker:
    def __init__(self, messaging: Any, *, sweep: bool = False, sweep_batch: int | None = None,
                 commands: Mapping[str, Command] | None = None, read_fd: int = 0, out: IO[str] | None = None) -> None:
        from voiceplatform.sessions import sweeper

        self.messaging = messaging
        self.sweep = sweep
        self.sweep_batch = sweep_batch or sweeper.BATCH
        self.commands = dict(commands or {})
        self.reader = LineReader(read_fd)
        self.out = out or sys.stdout
        self.pending: deque[dict[str, Any]] = deque()
        self.running = True

    def run(self) -> None:
        from voiceplatform.sessions import sweeper

        self.say({"ready": True})
        swept = 0
        while self.running:
            if not self.pending:
                if self.reader.closed:
                    break
                timeout = None if not self.sweep else (0 if swept else IDLE_SECONDS)
                self.pending.extend(json.loads(line) for line in self.reader.lines(timeout))
            while self.pending and self.running:
                self._next()
            if self.sweep and self.running:
                swept = sweeper.sweep_once(self.messaging.runner, batch=self.sweep_batch)
                if swept:
                    self.say({"swept": swept})

    def say(self, answer: dict[str, Any]) -> None:
        self.out.write(json.dumps(answer) + "\n")
        self.out.flush()

    def _next(self) -> None:
        if self.pending[0].get("cmd") == "msg":
            batch = []
            while self.pending and self.pending[0].get("cmd") == "msg":
                batch.append(self.pending.popleft())
            self._messages(batch)
            return
        command = dict(self.pending.popleft())
        kind = command.pop("cmd")
        if kind == "quit":
            self.running = False
        elif kind == "barrier":
            self.say({"barrier": True})
            self._wait_for_go()
        elif kind == "sweep":
            from voiceplatform.sessions import sweeper

            self.say({"swept_all": sweeper.sweep(self.messaging.runner, batch=self.sweep_batch)})
        else:
            self.say(self.commands[kind](**command))

    def _messages(self, batch: list[dict[str, Any]]) -> None:
        from voiceplatform.channels.contract import InboundMessage
        from voiceplatform.flow import Input

        messages = [InboundMessage("dev", item["from"], item["to"], Input.text(item["text"]), item.get("message_id"))
                    for item in batch]
        for item, routed in zip(batch, self.messaging.router.receive_many(messages)):
            self.say({"i": item.get("i"), "outcome": routed.outcome, "session_id": routed.session_id,
                      "error": routed.error})

    def _wait_for_go(self) -> None:
        while not any(item.get("cmd") == "go" for item in self.pending) and not self.reader.closed:
            self.pending.extend(json.loads(line) for line in self.reader.lines(None))
        for item in list(self.pending):
            if item.get("cmd") == "go":
                self.pending.remove(item)
                return


def build_runtime(url: str) -> Any:
    """The messaging runtime on ``url`` (migrated first), in a process set up as a worker's is
    (garbage collection tuned: voiceplatform.processes.runtime)."""
    from voiceplatform.db import make_engine, session_factory, upgrade
    from voiceplatform.processes.runtime import tune_gc
    from voiceplatform.sessions import runtime

    tune_gc()
    upgrade(url)
    return runtime.build(session_factory(make_engine(url)))


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="a stored-sessions worker fed over a pipe")
    parser.add_argument("database_url")
    parser.add_argument("--sweep", action="store_true", help="sweep expired waits between rounds of messages")
    parser.add_argument("--sweep-batch", type=int, default=None)
    args = parser.parse_args(argv)
    messaging = build_runtime(args.database_url)
    PipeWorker(messaging, sweep=args.sweep, sweep_batch=args.sweep_batch).run()
    messaging.runner.sessions.kw["bind"].dispose()


# ---- the other side of the pipe ------------------------------------------------------------------

class WorkerProcess:
    """A worker child process (``argv`` after the interpreter; default: this module on
    ``database_url``); ``ask``/``write``/``read`` JSON lines; ``kill()`` sends SIGKILL."""

    def __init__(self, database_url: str, *options: str, argv: Sequence[str] | None = None) -> None:
        command = list(argv) if argv is not None else ["-m", "voiceplatform.testing.session_worker", database_url, *options]
        self.process = subprocess.Popen([sys.executable, *command], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        text=True, bufsize=1)
        self.pid = self.process.pid
        ready = self.read()
        if not ready.get("ready"):
            raise RuntimeError(f"the worker said {ready} instead of ready")

    def read(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"worker {self.pid} exited (code {self.process.poll()})")
        return dict(json.loads(line))

    def write(self, command: dict[str, Any]) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()

    def ask(self, **command: Any) -> dict[str, Any]:
        self.write(command)
        return self.read()

    def kill(self) -> None:
        os.kill(self.pid, signal.SIGKILL)
        self.process.wait(timeout=30)
        for stream in (self.process.stdin, self.process.stdout):
            try:
                if stream is not None:
                    stream.close()
            except BrokenPipeError:
                pass

    def close(self, timeout: float = 60) -> None:
        if self.process.poll() is None:
            try:
                self.write({"cmd": "quit"})
                self.process.wait(timeout=timeout)
            except (BrokenPipeError, subprocess.TimeoutExpired):
                self.kill()
                return
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                stream.close()


if __name__ == "__main__":
    main()
