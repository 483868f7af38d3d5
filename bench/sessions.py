"""Benchmark: stored sessions on the dev channel, SQLite and PostgreSQL.

``python bench/sessions.py [--database sqlite|postgresql|both] [--quick] [--out FILE]``

One **worker** process (this file with ``--worker URL``) runs the real runtime
(voiceplatform.sessions: the dev channel, the shared runner, the inbound router, the sweeper)
on a database; the **load** comes from this, separate, process over the worker's stdin/stdout
(one JSON line per inbound message, one line back once its outputs are committed). The flow is
bench/flows/bench_sessions.yaml (two questions, then thanks). Measured, per database:

* inbound messages resumed per second by one worker (every message a reply to a waiting
  session: lock, resume, history rows, the next question queued in the outbox, commit), the
  load pipelined so the worker is never idle (target >= 2,000/s);
* inbound-to-outputs latency (message sent by the load process -> the worker's answer, sent
  after the commit that queued the outputs), one message at a time, p50 / p99 (target < 20 ms);
* 100,000 expired waits swept (rows inserted in bulk with a passed ``wait_expires_at``, then
  one ``sweeper.sweep``) (target < 10 s);
* the worker's memory per waiting session: its RSS before and after starting N sessions that
  wait in the database (target: none; what remains is allocator noise);
* the baseline: a bare ``UPDATE`` of a session row, one per transaction, from the same worker.

Not a timed test: figures for the closing note (tests/bench/test_sessions_bench.py only runs
``--quick``).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Iterator

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
FLOW = (ROOT / "bench" / "flows" / "bench_sessions.yaml").read_text()
OURS = "+12025559900"
TARGETS = {"resumed_per_s": ">= 2000", "latency_p99_ms": "< 20", "sweep_100k_s": "< 10", "bytes_per_waiting_session": "0"}
FULL = {"sessions": 5_000, "latency_messages": 1_000, "expired": 100_000, "baseline": 10_000}
QUICK = {"sessions": 200, "latency_messages": 50, "expired": 1_000, "baseline": 200}


def rss_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))] if ordered else 0.0


def contact(i: int) -> str:
    return f"+1303{i:07d}"


# ---- the worker process ------------------------------------------------------------------------

class Worker:
    def __init__(self, url: str) -> None:
        from voiceplatform.db import make_engine, session_factory, upgrade
        from voiceplatform.sessions import runtime

        upgrade(url)
        self.engine = make_engine(url)
        self.sessions = session_factory(self.engine)
        self.messaging = runtime.build(self.sessions)
        self.account_id, self.version_id, self.number_id = self._seed()

    def _seed(self) -> tuple[int, int, int]:
        from voiceplatform.models import Account, FlowVersion, Number, NumberChannel
        from voiceplatform.models.base import utcnow
        from voiceplatform.models.flows import FlowStatus

        with self.sessions.begin() as db:
            account = Account(name="bench")
            db.add(account)
            db.flush()
            version = FlowVersion(account_id=account.id, name="bench_sessions", version=1, status=FlowStatus.PUBLISHED,
                                  definition=FLOW, checksum=FlowVersion.checksum_of(FLOW), published_at=utcnow())
            number = Number(account_id=account.id, number=OURS, kind="phone")
            db.add_all([version, number])
            db.flush()
            db.add(NumberChannel(number_id=number.id, channel="dev"))
            return account.id, version.id, number.id

    def start(self, first: int, n: int) -> dict[str, Any]:
        gc.collect()
        before = rss_bytes()
        began = time.perf_counter()
        for i in range(first, first + n):
            self.messaging.runner.start(account_id=self.account_id, flow_version_id=self.version_id, channel="dev",
                                        address=contact(i), our_address=OURS, number_id=self.number_id)
        seconds = time.perf_counter() - began
        gc.collect()
        return {"started": n, "seconds": seconds, "rss_before": before, "rss_after": rss_bytes()}

    def message(self, sender: str, text: str) -> str:
        from voiceplatform.channels.contract import InboundMessage
        from voiceplatform.flow import Input

        return self.messaging.router.receive(InboundMessage("dev", sender, OURS, Input.text(text))).outcome

    def baseline(self, n: int) -> dict[str, Any]:
        from sqlalchemy import select, update

        from voiceplatform.models.base import utcnow
        from voiceplatform.models.sessions import FlowSession

        with self.sessions() as db:
            ids = list(db.scalars(select(FlowSession.id).limit(n)))
        began = time.perf_counter()
        for session_id in ids:
            with self.sessions.begin() as db:
                db.execute(update(FlowSession).where(FlowSession.id == session_id).values(updated_at=utcnow())
                           .execution_options(synchronize_session=False))
        seconds = time.perf_counter() - began
        return {"updates": len(ids), "seconds": seconds, "per_s": len(ids) / seconds if seconds else 0.0}

    def seed_expired(self, n: int) -> dict[str, Any]:
        """n sessions waiting on the first question, expired an hour ago (bulk insert of a real
        started state, each with its own id)."""
        from datetime import timedelta

        from sqlalchemy import insert

        from voiceplatform.flow import start
        from voiceplatform.models.base import utcnow
        from voiceplatform.models.sessions import FlowSession
        from voiceplatform.sessions import store

        with self.sessions() as db:
            flow = self.messaging.runner.flows.get(db, self.version_id)
        now = utcnow()
        template = start(flow, {"phone": contact(0)}, "sms", session_id="x", now=now).state
        began = time.perf_counter()
        for chunk in range(0, n, 5000):
            rows = []
            for i in range(chunk, min(n, chunk + 5000)):
                session_id = store.new_id()
                rows.append({"id": session_id, "account_id": self.account_id, "channel": "dev",
                             "address": f"+1404{i:07d}", "our_address": OURS, "number_id": self.number_id,
                             "flow_version_id": self.version_id, "status": "waiting", "wait_kind": "text",
                             "wait_expires_at": now - timedelta(hours=1), "state": {**template, "session": session_id},
                             "row_version": 1, "last_seq": 0, "started_at": now, "updated_at": now})
            with self.sessions.begin() as db:
                db.execute(insert(FlowSession), rows)
        return {"seeded": n, "seconds": time.perf_counter() - began}

    def sweep(self) -> dict[str, Any]:
        from voiceplatform.sessions import sweeper

        began = time.perf_counter()
        swept = sweeper.sweep(self.messaging.runner)
        return {"swept": swept, "seconds": time.perf_counter() - began}


def worker_main(url: str) -> None:
    worker = Worker(url)
    out = sys.stdout
    out.write(json.dumps({"ready": True}) + "\n")
    out.flush()
    for line in sys.stdin:
        command = json.loads(line)
        kind = command.pop("cmd")
        if kind == "quit":
            break
        if kind == "msg":
            answer: dict[str, Any] = {"i": command["i"], "outcome": worker.message(command["from"], command["text"])}
        else:
            answer = getattr(worker, kind)(**command)
        out.write(json.dumps(answer) + "\n")
        out.flush()
    worker.engine.dispose()


# ---- the load process ----------------------------------------------------------------------------

class Load:
    def __init__(self, url: str) -> None:
        self.process = subprocess.Popen([sys.executable, __file__, "--worker", url], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, text=True, bufsize=1)
        assert self.read()["ready"]

    def read(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError("the worker exited")
        return json.loads(line)

    def write(self, command: dict[str, Any]) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()

    def ask(self, **command: Any) -> dict[str, Any]:
        self.write(command)
        return self.read()

    def throughput(self, first: int, n: int, text: str) -> dict[str, Any]:
        """n replies, pipelined (a writer thread keeps the worker's stdin full)."""
        def send() -> None:
            for i in range(first, first + n):
                self.write({"cmd": "msg", "i": i, "from": contact(i), "text": text})

        began = time.perf_counter()
        writer = threading.Thread(target=send)
        writer.start()
        outcomes: dict[str, int] = {}
        for _ in range(n):
            outcome = self.read()["outcome"]
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
        seconds = time.perf_counter() - began
        writer.join()
        return {"messages": n, "seconds": seconds, "per_s": n / seconds, "outcomes": outcomes}

    def latency(self, first: int, n: int, text: str) -> dict[str, Any]:
        samples: list[float] = []
        outcomes: dict[str, int] = {}
        for i in range(first, first + n):
            began = time.perf_counter()
            outcome = self.ask(cmd="msg", i=i, **{"from": contact(i)}, text=text)["outcome"]
            samples.append((time.perf_counter() - began) * 1000)
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
        return {"messages": n, "p50_ms": percentile(samples, 0.5), "p99_ms": percentile(samples, 0.99),
                "max_ms": max(samples), "outcomes": outcomes}

    def close(self) -> None:
        self.write({"cmd": "quit"})
        self.process.wait(timeout=60)


@contextlib.contextmanager
def database(kind: str) -> Iterator[str]:
    if kind == "postgresql":
        from voiceplatform.testing.postgres import fresh_database

        with fresh_database() as url:
            yield url
        return
    with tempfile.TemporaryDirectory() as folder:
        yield f"sqlite:///{Path(folder) / 'bench.db'}"


def run(kind: str, sizes: dict[str, int]) -> dict[str, Any]:
    with database(kind) as url:
        load = Load(url)
        try:
            n, lat = sizes["sessions"], sizes["latency_messages"]
            load.ask(cmd="start", first=10_000_000, n=20)  # warm-up: imports, caches, connections
            started = load.ask(cmd="start", first=0, n=n + lat)
            resumed = load.throughput(0, n, "one")
            latency = load.latency(n, lat, "one")
            baseline = load.ask(cmd="baseline", n=sizes["baseline"])
            seeded = load.ask(cmd="seed_expired", n=sizes["expired"])
            swept = load.ask(cmd="sweep")
        finally:
            load.close()
    grown = started["rss_after"] - started["rss_before"]
    return {
        "database": kind,
        "resume": {**resumed, "target": TARGETS["resumed_per_s"]},
        "latency": {**latency, "target": TARGETS["latency_p99_ms"] + " ms"},
        "sweep": {**swept, "seeded": seeded["seeded"], "target": TARGETS["sweep_100k_s"] + " s for 100,000"},
        "memory": {"waiting_sessions": n + lat, "rss_before": started["rss_before"], "rss_after": started["rss_after"],
                   "bytes_per_waiting_session": grown / (n + lat), "start_per_s": (n + lat) / started["seconds"],
                   "target": TARGETS["bytes_per_waiting_session"]},
        "baseline_update": baseline,
        "resume_to_baseline": resumed["per_s"] / baseline["per_s"] if baseline["per_s"] else None,
    }


def table(reports: list[dict[str, Any]]) -> str:
    rows = [("measure", "target", *(r["database"] for r in reports))]
    rows.append(("inbound messages resumed/s (one worker)", ">= 2,000", *(f"{r['resume']['per_s']:,.0f}" for r in reports)))
    rows.append(("inbound-to-outputs latency p50", "", *(f"{r['latency']['p50_ms']:.2f} ms" for r in reports)))
    rows.append(("inbound-to-outputs latency p99", "< 20 ms", *(f"{r['latency']['p99_ms']:.2f} ms" for r in reports)))
    rows.append(("expired waits swept", "", *(f"{r['sweep']['swept']:,}" for r in reports)))
    rows.append(("sweep time", "< 10 s (100,000)", *(f"{r['sweep']['seconds']:.2f} s" for r in reports)))
    rows.append(("worker RSS per waiting session", "none",
                 *(f"{r['memory']['bytes_per_waiting_session']:.1f} B" for r in reports)))
    rows.append(("sessions started/s", "", *(f"{r['memory']['start_per_s']:,.0f}" for r in reports)))
    rows.append(("baseline: bare UPDATE of the row/s", "", *(f"{r['baseline_update']['per_s']:,.0f}" for r in reports)))
    rows.append(("resume / baseline", "", *(f"{r['resume_to_baseline']:.2f}" for r in reports)))
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)) for row in rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--quick", action="store_true", help="small sizes, for the smoke test")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "sessions.json")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker_main(args.worker)
        return
    sizes = QUICK if args.quick else FULL
    kinds = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
    reports = [run(kind, sizes) for kind in kinds]
    print(table(reports))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"quick": args.quick, "sizes": sizes, "worker": "separate process",
                                    "cpus": os.cpu_count(), "runs": reports}, indent=2) + "\n")


if __name__ == "__main__":
    main()
