"""Benchmark: stored sessions on the dev channel, SQLite and PostgreSQL.

``python bench/sessions.py [--database sqlite|postgresql|both] [--quick] [--out FILE]``

One **worker** process (this file with ``--worker URL``) runs the real runtime
(voiceplatform.sessions: the dev channel, the shared runner, the inbound router, the sweeper)
on a database, through voiceplatform.testing.session_worker.PipeWorker; the **load** comes from
this, separate, process over the worker's stdin/stdout (one JSON line per inbound message, one
line back once its outputs are committed). The worker applies the messages waiting on its stdin
together (MessageRouter.receive_many: one transaction, one commit), never waiting for more. The
flow is bench/flows/bench_sessions.yaml (two questions, then thanks). Measured, per database:

* inbound messages resumed per second by one worker (every message a reply to a waiting
  session of a known contact: lock, resume, history rows, the next question queued in the
  outbox, commit), the load pipelined so the worker is never idle (target >= 2,000/s);
* inbound-to-outputs latency (message sent by the load process -> the worker's answer, sent
  after the commit that queued the outputs), one message at a time, p50 / p99 (target < 20 ms);
* 100,000 expired waits swept (rows inserted in bulk with a passed ``wait_expires_at``, then
  one ``sweeper.sweep``: batches of sweeper.BATCH, one commit each, on PostgreSQL two lanes of
  batches at once) (target < 10 s), with the worker's CPU time per expiry (the machine is shared:
  wall time over CPU time says how much of a core the worker had) and the sweep's rate over the
  batched baseline's; then as many again swept by two worker processes at once (PostgreSQL's
  SKIP LOCKED splits them);
* the worker's memory per waiting session: its RSS half-way through and after starting N
  sessions that wait in the database, per session of the second half (target: none; the first
  half also fills bounded caches, reported apart);
* the baseline: a bare ``UPDATE`` of a session row, one per transaction, from the same worker;
  and the same UPDATEs 100 to a transaction (what batching alone buys).

Not a timed test: figures for the closing note (tests/bench/test_sessions_bench.py only runs
``--quick``).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
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
BASELINE_BATCH = 100  # the second baseline's rows a commit: what a batch of pipelined replies commits at once


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
    """The benchmark's own commands, beside the messages the PipeWorker applies in batches."""

    def __init__(self, url: str) -> None:
        from voiceplatform.testing.session_worker import build_runtime, seed

        self.messaging = build_runtime(url)
        self.sessions = self.messaging.runner.sessions
        self.seeded = seed(self.sessions, FLOW, OURS, account="bench")

    def commands(self) -> dict[str, Any]:
        return {"start": self.start, "baseline": self.baseline, "seed_expired": self.seed_expired, "sweep_all": self.sweep}

    def start(self, first: int, n: int) -> dict[str, Any]:
        """n sessions started through the runner, each for a contact (as a campaign starts them),
        the first question queued; the worker's RSS before, half-way and after. The second half's
        growth is what a waiting session costs the worker: the first half also fills bounded
        caches (SQLite's page cache, compiled statements)."""
        from voiceplatform.testing.session_worker import seed_contacts

        phones = [contact(i) for i in range(first, first + n)]
        ids = seed_contacts(self.sessions, self.seeded.account_id, phones)
        gc.collect()
        before = rss_bytes()
        began = time.perf_counter()
        middle = before
        for k, phone in enumerate(phones):
            if k == n // 2:
                gc.collect()
                middle = rss_bytes()
            self.messaging.runner.start(account_id=self.seeded.account_id, flow_version_id=self.seeded.version_id,
                                        channel="dev", address=phone, our_address=OURS, number_id=self.seeded.number_id,
                                        contact_id=ids[phone], contact={"phone": phone})
        seconds = time.perf_counter() - began
        gc.collect()
        after = rss_bytes()
        self._analyze()
        return {"started": n, "seconds": seconds, "rss_before": before, "rss_middle": middle, "rss_after": after}

    def _analyze(self) -> None:
        """Planner statistics for tables that grew from empty in seconds (what autovacuum does
        in a database that lives longer than a benchmark)."""
        from sqlalchemy import text

        with self.sessions.begin() as db:
            db.execute(text("ANALYZE"))

    def baseline(self, n: int, per_commit: int = 1) -> dict[str, Any]:
        """A bare UPDATE of a session row, ``per_commit`` rows a transaction (one executemany)."""
        from sqlalchemy import bindparam, select, update

        from voiceplatform.models.base import utcnow
        from voiceplatform.models.sessions import FlowSession
        from voiceplatform.sessions.writes import table_of

        with self.sessions() as db:
            ids = list(db.scalars(select(FlowSession.id).limit(n)))
        table = table_of(FlowSession)
        statement = update(table).where(table.c.id == bindparam("b_id"))
        began = time.perf_counter()
        for first in range(0, len(ids), per_commit):
            with self.sessions.begin() as db:
                db.execute(statement, [{"b_id": session_id, "updated_at": utcnow()}
                                       for session_id in ids[first:first + per_commit]])
        seconds = time.perf_counter() - began
        return {"updates": len(ids), "per_commit": per_commit, "seconds": seconds,
                "per_s": len(ids) / seconds if seconds else 0.0}

    def seed_expired(self, n: int) -> dict[str, Any]:
        """n sessions waiting on the first question, all expired: started one after the other
        over the hour before their waits began (bulk insert of a real started state, each with
        its own id), so they expire in the order they were written, as sessions do."""
        from datetime import timedelta

        from voiceplatform.models.base import utcnow
        from voiceplatform.testing.session_worker import seed_waiting

        began = time.perf_counter()
        seed_waiting(self.sessions, self.seeded, [f"+1404{i:07d}" for i in range(n)],
                     expires_at=utcnow() - timedelta(hours=2), every=timedelta(hours=1) / max(n, 1))
        self._analyze()
        return {"seeded": n, "seconds": time.perf_counter() - began}

    def sweep(self) -> dict[str, Any]:
        from voiceplatform.sessions import sweeper

        began, cpu = time.perf_counter(), time.process_time()
        swept = sweeper.sweep(self.messaging.runner)
        return {"swept": swept, "seconds": time.perf_counter() - began, "cpu_seconds": time.process_time() - cpu,
                "lanes": sweeper.LANES.get(self.sessions.kw["bind"].dialect.name, 1)}


def worker_main(url: str) -> None:
    from voiceplatform.testing.session_worker import PipeWorker

    worker = Worker(url)
    PipeWorker(worker.messaging, commands=worker.commands()).run()
    worker.sessions.kw["bind"].dispose()


# ---- the load process ----------------------------------------------------------------------------

class Load:
    def __init__(self, url: str) -> None:
        from voiceplatform.testing.session_worker import WorkerProcess

        self.worker = WorkerProcess(url, argv=[__file__, "--worker", url])

    def throughput(self, first: int, n: int, text: str) -> dict[str, Any]:
        """n replies, pipelined (a writer thread keeps the worker's stdin full)."""
        def send() -> None:
            for i in range(first, first + n):
                self.worker.write({"cmd": "msg", "i": i, "from": contact(i), "to": OURS, "text": text})

        began = time.perf_counter()
        writer = threading.Thread(target=send)
        writer.start()
        outcomes: dict[str, int] = {}
        for _ in range(n):
            outcome = self.worker.read()["outcome"]
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
        seconds = time.perf_counter() - began
        writer.join()
        return {"messages": n, "seconds": seconds, "per_s": n / seconds, "outcomes": outcomes}

    def latency(self, first: int, n: int, text: str) -> dict[str, Any]:
        """n replies one at a time: each sent when the previous one's answer came."""
        samples: list[float] = []
        outcomes: dict[str, int] = {}
        for i in range(first, first + n):
            began = time.perf_counter()
            outcome = self.worker.ask(cmd="msg", i=i, to=OURS, text=text, **{"from": contact(i)})["outcome"]
            samples.append((time.perf_counter() - began) * 1000)
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
        return {"messages": n, "p50_ms": percentile(samples, 0.5), "p99_ms": percentile(samples, 0.99),
                "max_ms": max(samples), "outcomes": outcomes}

    def ask(self, **command: Any) -> dict[str, Any]:
        return self.worker.ask(**command)

    def close(self) -> None:
        self.worker.close()


@contextlib.contextmanager
def database(kind: str) -> Iterator[str]:
    if kind == "postgresql":
        from voiceplatform.testing.postgres import fresh_database

        with fresh_database() as url:
            yield url
        return
    with tempfile.TemporaryDirectory() as folder:
        yield f"sqlite:///{Path(folder) / 'bench.db'}"


def two_sweepers(load: Load, url: str) -> dict[str, Any]:
    """The same number of expired waits swept by two worker processes at once (the load's worker
    and a second one): on PostgreSQL ``SKIP LOCKED`` splits them; on SQLite the write lock takes
    their batches in turn."""
    from voiceplatform.testing.session_worker import WorkerProcess

    other = WorkerProcess(url)
    try:
        began = time.perf_counter()
        load.worker.write({"cmd": "sweep"})
        other.write({"cmd": "sweep"})
        counts = [load.worker.read()["swept_all"], other.read()["swept_all"]]
        seconds = time.perf_counter() - began
    finally:
        other.close()
    return {"swept": sum(counts), "by_worker": counts, "seconds": seconds}


def run(kind: str, sizes: dict[str, int]) -> dict[str, Any]:
    load_before = os.getloadavg()[0]  # the machine is shared: the figures carry its load
    with database(kind) as url:
        load = Load(url)
        try:
            n, lat = sizes["sessions"], sizes["latency_messages"]
            load.ask(cmd="start", first=10_000_000, n=20)  # warm-up: imports, caches, connections
            started = load.ask(cmd="start", first=0, n=n + lat)
            resumed = load.throughput(0, n, "one")
            latency = load.latency(n, lat, "one")
            baseline = load.ask(cmd="baseline", n=sizes["baseline"])
            batched = load.ask(cmd="baseline", n=sizes["baseline"], per_commit=BASELINE_BATCH)
            seeded = load.ask(cmd="seed_expired", n=sizes["expired"])
            swept = load.ask(cmd="sweep_all")
            load.ask(cmd="seed_expired", n=sizes["expired"])
            split = two_sweepers(load, url)
        finally:
            load.close()
    second_half = n + lat - (n + lat) // 2
    grown = started["rss_after"] - started["rss_middle"]
    return {
        "database": kind,
        "load_average": {"before": load_before, "after": os.getloadavg()[0]},
        "resume": {**resumed, "target": TARGETS["resumed_per_s"]},
        "latency": {**latency, "target": TARGETS["latency_p99_ms"] + " ms"},
        "sweep": {**swept, "seeded": seeded["seeded"], "target": TARGETS["sweep_100k_s"] + " s for 100,000"},
        "sweep_two_workers": split,
        "memory": {"waiting_sessions": n + lat, "rss_before": started["rss_before"],
                   "rss_middle": started["rss_middle"], "rss_after": started["rss_after"],
                   "bytes_per_waiting_session": grown / second_half,
                   "bytes_per_session_first_half": (started["rss_middle"] - started["rss_before"]) / ((n + lat) // 2),
                   "start_per_s": (n + lat) / started["seconds"],
                   "target": TARGETS["bytes_per_waiting_session"]},
        "baseline_update": baseline,
        "baseline_update_batched": batched,
        "resume_to_baseline": resumed["per_s"] / baseline["per_s"] if baseline["per_s"] else None,
        "resume_to_batched_baseline": resumed["per_s"] / batched["per_s"] if batched["per_s"] else None,
        "sweep_to_batched_baseline": (swept["swept"] / swept["seconds"]) / batched["per_s"] if batched["per_s"] else None,
    }


def table(reports: list[dict[str, Any]]) -> str:
    rows = [("measure", "target", *(r["database"] for r in reports))]
    rows.append(("inbound messages resumed/s (one worker)", ">= 2,000", *(f"{r['resume']['per_s']:,.0f}" for r in reports)))
    rows.append(("inbound-to-outputs latency p50", "", *(f"{r['latency']['p50_ms']:.2f} ms" for r in reports)))
    rows.append(("inbound-to-outputs latency p99", "< 20 ms", *(f"{r['latency']['p99_ms']:.2f} ms" for r in reports)))
    rows.append(("expired waits swept", "", *(f"{r['sweep']['swept']:,}" for r in reports)))
    rows.append(("sweep time, one worker", "< 10 s (100,000)", *(f"{r['sweep']['seconds']:.2f} s" for r in reports)))
    rows.append(("sweep: the worker's CPU per expiry (lanes)", "", *(
        f"{r['sweep']['cpu_seconds'] / r['sweep']['swept'] * 1e6:.0f} us ({r['sweep']['lanes']})" for r in reports)))
    rows.append((f"sweep rate / baseline ({BASELINE_BATCH} a commit)", "",
                 *(f"{r['sweep_to_batched_baseline']:.2f}" for r in reports)))
    rows.append(("sweep time, two workers at once", "", *(
        f"{r['sweep_two_workers']['seconds']:.2f} s ({'/'.join(f'{c:,}' for c in r['sweep_two_workers']['by_worker'])})"
        for r in reports)))
    rows.append(("worker RSS per waiting session", "none",
                 *(f"{r['memory']['bytes_per_waiting_session']:.1f} B" for r in reports)))
    rows.append(("sessions started/s", "", *(f"{r['memory']['start_per_s']:,.0f}" for r in reports)))
    rows.append(("baseline: bare UPDATE of the row/s", "", *(f"{r['baseline_update']['per_s']:,.0f}" for r in reports)))
    rows.append((f"baseline: bare UPDATEs, {BASELINE_BATCH} a commit/s", "",
                 *(f"{r['baseline_update_batched']['per_s']:,.0f}" for r in reports)))
    rows.append(("resume / baseline (one a commit)", "", *(f"{r['resume_to_baseline']:.2f}" for r in reports)))
    rows.append((f"resume / baseline ({BASELINE_BATCH} a commit)", "",
                 *(f"{r['resume_to_batched_baseline']:.2f}" for r in reports)))
    rows.append(("machine load, 1-minute average (before / after)", "", *(
        f"{r['load_average']['before']:.2f} / {r['load_average']['after']:.2f}" for r in reports)))
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
