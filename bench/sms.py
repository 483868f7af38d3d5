"""Benchmark: the SMS bridge (sms_bridge) and SMS campaigns, against a real gateway of its own.

``python bench/sms.py [--sqlite] [--quick] [--only SECTION ...] [--out FILE]``

Starts an smsc instance of its own (a temporary state folder; the cached Jasmin virtualenv; the
handset network in its own process) and a PostgreSQL database of its own (``--sqlite``: a SQLite
file). The bridge of sections 1-4 runs in this process (binds, sender, receipts, replies) on the
production settings (``BridgeSettings`` defaults); every figure carries the CPU share of each
process and the machine's load (2 shared cores). Sections:

1. ``straight``: N messages queued by the ``sms`` driver (one commit), sent by one bridge
   straight to the handset network until every receipt is stored, with 1, 2 and 4 binds (the
   client's own ceiling; target >= 2,000 messages/s); the baseline is a bare windowed smpplib
   ESME on the same SMSC (bench/jasmin_gateway.py's), no database.
2. ``jasmin``: the same through Jasmin with 1, 2 and 4 upstream connectors behind a round-robin
   MT route (bench/sms_jasmin_routes.py), against Jasmin's own ceiling measured in the same run
   with the bare ESME on the same connectors.
3. ``receipts``: N receipts for messages already submitted, sent as fast as the socket takes
   them by an SMSC of the benchmark's (bench/sms_receipt_flood.py); the bridge reads, applies
   and answers them (target >= 2,000/s); the baseline is the bare ESME answering them unstored.
4. ``latency``: a handset's reply to a waiting session (the handset network's ``POST /mo``) until
   the session's next question reaches the handset network, one at a time, p50 / p99 from the
   handset network's own timestamps (target p99 < 50 ms); straight, and through Jasmin. The next
   handset replies once the previous question's receipt is stored (people answer seconds later).
5. ``campaign``: a personalised SMS campaign (contacts imported from a CSV, an ``@column``
   template) of 150,000 contacts run by a real ``voiceplatform worker`` process (fan-out,
   sessions, personalisation, encoding) with a real ``python -m sms_bridge`` process submitting
   straight to the handset network: the seconds from the campaign's start to every message
   submitted, and to every receipt stored (target < 120 s), and both processes' memory
   (bench/sms_campaign.py).

Not a timed test: figures for the closing note (tests/sms_bridge/test_bench_sms.py runs
``--quick``).
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.realpath(__file__))))  # the checkout
from voiceplatform.processes.runtime import use_gevent  # noqa: E402

use_gevent()  # as python -m sms_bridge does: monkey-patching, and full collections made rare

import argparse  # noqa: E402
import json  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable, Iterable, Iterator  # noqa: E402
from contextlib import contextmanager  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import gevent  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from sqlalchemy import func, select, text  # noqa: E402
from sqlalchemy.orm import Session, sessionmaker  # noqa: E402

from jasmin_gateway import WindowedEsme  # noqa: E402
from sms_bridge.bridge import SmsBridge  # noqa: E402
from sms_bridge.config import BridgeSettings, SmppRoute  # noqa: E402
from sms_machine import CpuWatch, rss_mb  # noqa: E402
from sms_receipt_flood import ReceiptFlood  # noqa: E402
from sms_jasmin_routes import connectors_stopped, use_connectors  # noqa: E402
import sms_campaign  # noqa: E402
import sms_seed  # noqa: E402
from voiceplatform.db import make_engine, session_factory, upgrade  # noqa: E402
from voiceplatform.models.sms import SmsMessage, SmsPart  # noqa: E402
from voiceplatform.smsc import SmscSettings, SmscState, down, up  # noqa: E402
from voiceplatform.smsc.handset_network.client import HandsetNetworkClient  # noqa: E402
from voiceplatform.smsc.handset_network.numbers import numbers_like  # noqa: E402
from voiceplatform.testing.postgres import fresh_database  # noqa: E402

SECTIONS = ("straight", "jasmin", "receipts", "latency", "campaign")
RUN_ORDER = ("straight", "receipts", "latency", "campaign", "jasmin")  # the connectors jasmin() adds stay
FULL = {"messages": 20_000, "jasmin_per_connector": 1_000, "receipts": 20_000, "latency": 1_000,
        "jasmin_latency": 200, "campaign": 150_000, "window": 100}
QUICK = {"messages": 300, "jasmin_per_connector": 40, "receipts": 300, "latency": 20, "jasmin_latency": 5,
         "campaign": 300, "window": 20}
SCALING = (1, 2, 4)
OURS = "+12025559800"
OURS_THROUGH_JASMIN = "+12025559801"
TEXT = "Your appointment is tomorrow at 10:00. Reply 1 to confirm, 2 to change it."
FLOW = (ROOT / "bench" / "flows" / "bench_sessions.yaml").read_text()
TARGETS = {"straight": ">= 2,000/s", "receipts": ">= 2,000/s", "latency_p99_ms": "< 50 ms", "campaign_s": "< 120 s"}


# ---- the world ---------------------------------------------------------------------------------

@contextmanager
def smsc_instance(folder: Path) -> Iterator[SmscState]:
    settings = SmscSettings(state_dir=folder, venv_dir=SmscSettings.from_env().venv_dir)
    try:
        yield up(settings).state
    finally:
        down(settings, force=True)


@contextmanager
def database(sqlite: bool, folder: Path) -> Iterator[str]:
    if sqlite:
        yield f"sqlite:///{folder / 'bench.db'}"
        return
    with fresh_database() as url:
        yield url


class World:
    """The gateway, the database, and how to read their processes' pids."""

    def __init__(self, state: SmscState, url: str) -> None:
        self.state = state
        self.url = url
        self.sessions = session_factory(make_engine(url))
        self.handsets = HandsetNetworkClient(state.handsets.control_url)
        self.connectors = 1  # Jasmin's upstream connectors (jasmin() adds some)

    def straight_route(self, binds: int, window: int) -> SmppRoute:
        handsets = self.state.handsets
        return SmppRoute(self.state.host, handsets.smpp_port, handsets.system_id, handsets.password,
                         binds=binds, window=window)

    def jasmin_route(self, binds: int, window: int) -> SmppRoute:
        return SmppRoute(*self.state.smpp_address, self.state.esme_username, self.state.esme_password,
                         binds=binds, window=window)

    def watch(self, *extra: tuple[str, Callable[[], Iterable[int]]]) -> CpuWatch:
        handsets = self.state.handsets.process
        groups: dict[str, Callable[[], Iterable[int]]] = {
            "this_process": lambda: [os.getpid()],
            "handsets": lambda: [handsets.pid] if handsets else [],
            "database": self.database_pids,
        }
        if self.state.jasmin is not None:
            jasmin = self.state.jasmin.pid
            groups["jasmin"] = lambda: [jasmin]
        groups.update(extra)
        return CpuWatch(groups)

    def database_pids(self) -> list[int]:
        if not self.url.startswith("postgresql"):
            return []
        with self.sessions() as db:
            return [int(pid) for pid in db.scalars(text(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"))]

    def clear_messages(self) -> None:
        with self.sessions.begin() as db:
            db.execute(SmsPart.__table__.delete())
            db.execute(SmsMessage.__table__.delete())

    def counts(self) -> dict[str, int]:
        with self.sessions() as db:
            rows = db.execute(select(SmsMessage.send_state, SmsMessage.status, func.count())
                              .group_by(SmsMessage.send_state, SmsMessage.status)).all()
        found: dict[str, int] = {}
        for send_state, status, count in rows:
            found[f"{send_state}/{status}"] = int(count)
        return found


def wait_until(condition: Callable[[], bool], timeout: float, every: float = 0.002) -> float | None:
    """perf_counter() when ``condition`` first held (None at the deadline)."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if condition():
            return time.perf_counter()
        gevent.sleep(every)
    return None


def settings_for(route: SmppRoute) -> BridgeSettings:
    """Production settings (BridgeSettings' defaults) on ``route``."""
    return BridgeSettings(route=route)


# ---- 1, 2: one bridge sending, receipts stored ----------------------------------------------------

def bridge_run(world: World, route: SmppRoute, count: int, timeout: float = 600) -> dict[str, Any]:
    """``count`` messages queued at once, sent by one bridge on ``route`` until every receipt is
    stored (the clock starts at the queue's commit, the binds already up)."""
    world.clear_messages()
    owner = sms_seed.account(world.sessions, "bench-send")
    delivered = numbers_like("delivered", 1000)
    destinations = [delivered[n % 1000] for n in range(count)]
    bridge = SmsBridge(world.sessions, settings_for(route), worker="bench").start()
    try:
        if not bridge.binds.wait_bound(timeout=30):
            raise RuntimeError(f"the bridge did not bind to {route.host}:{route.port}")
        sms_seed.queue_messages(world.sessions, owner, destinations, OURS, TEXT)
        watch = world.watch().start()
        began = time.perf_counter()
        counters = bridge.counters
        accepted_at = wait_until(lambda: counters.parts_accepted >= count, timeout)
        stored_at = wait_until(lambda: counters.receipts >= count, timeout)
        if stored_at is not None:
            # the counter also counts a stray receipt (an earlier run's message: Jasmin hands it
            # to any bind of the user), so the store says when every message is delivered
            stored_at = wait_until(lambda: world.counts().get("submitted/delivered", 0) >= count,
                                   min(timeout, 60), every=0.05)
        machine = watch.stop()
    finally:
        bridge.stop(30)
    counts = world.counts()
    result: dict[str, Any] = {"messages": count, "binds": route.binds, "window": route.window,
                              "counters": bridge.counters.as_dict(), "final": counts, **machine}
    if accepted_at:
        result["accepted_per_s"] = round(count / (accepted_at - began))
    if stored_at:
        result["end_to_end_per_s"] = round(count / (stored_at - began))
    result["all_delivered"] = counts.get("submitted/delivered", 0) == count
    return result


def bare_run(host: str, port: int, system_id: str, password: str, count: int, window: int) -> dict[str, Any]:
    """The baseline: a bare windowed smpplib ESME, no database (bench/jasmin_gateway.py's)."""
    esme = WindowedEsme(host, port, system_id, password, window)
    try:
        delivered = numbers_like("delivered", 1000)
        return esme.run([delivered[n % 1000] for n in range(count)])
    finally:
        esme.close()


def straight(world: World, sizes: dict[str, int]) -> dict[str, Any]:
    handsets = world.state.handsets
    runs = {f"binds_{binds}": bridge_run(world, world.straight_route(binds, sizes["window"]), sizes["messages"])
            for binds in SCALING}
    baseline = bare_run(world.state.host, handsets.smpp_port, handsets.system_id, handsets.password,
                        sizes["messages"], sizes["window"])
    return {"runs": runs, "bare_esme": baseline, "target": TARGETS["straight"]}


def jasmin(world: World, sizes: dict[str, int]) -> dict[str, Any]:
    runs: dict[str, Any] = {}
    for connectors in SCALING:
        world.connectors = use_connectors(world.state, connectors, world.connectors)
        count = sizes["jasmin_per_connector"] * connectors
        bare = bare_run(*world.state.smpp_address, world.state.esme_username, world.state.esme_password, count,
                        sizes["window"])
        bridge = bridge_run(world, world.jasmin_route(1, sizes["window"]), count)
        ceiling = bare["end_to_end_per_s"]
        runs[f"connectors_{connectors}"] = {
            "connectors": connectors, "bare_esme": bare, "bridge": bridge,
            "bridge_to_jasmin_ceiling": round(bridge.get("end_to_end_per_s", 0) / ceiling, 2) if ceiling else None}
    return {"runs": runs}


# ---- 3: receipts -----------------------------------------------------------------------------------

def receipts(world: World, sizes: dict[str, int]) -> dict[str, Any]:
    count = sizes["receipts"]
    flood = ReceiptFlood().start()
    try:
        world.clear_messages()
        owner = sms_seed.account(world.sessions, "bench-receipts")
        ids = [f"rcpt{n:012x}" for n in range(count)]
        destinations = numbers_like("delivered", 1000)
        sms_seed.seed_submitted(world.sessions, owner, destinations, OURS, ids)
        route = SmppRoute("127.0.0.1", flood.port, "bench", "bench", binds=1, window=sizes["window"])
        bridge = SmsBridge(world.sessions, settings_for(route), worker="bench-receipts").start()
        try:
            if not (bridge.binds.wait_bound(timeout=30) and flood.wait_binds(1)):
                raise RuntimeError("the bridge did not bind to the receipt flood")
            watch = world.watch().start()
            seconds = flood.flood(ids, destinations[0], OURS)
            machine = watch.stop()
        finally:
            bridge.stop(30)
        counts = world.counts()
        stored = {"receipts": count, "seconds": round(seconds, 2), "per_s": round(count / seconds),
                  "answered": flood.answered, "refused": flood.refused, "counters": bridge.counters.as_dict(),
                  "all_delivered": counts.get("submitted/delivered", 0) == count, **machine}
        esme = WindowedEsme("127.0.0.1", flood.port, "bare", "bare", sizes["window"])
        try:
            flood.wait_binds(1)
            bare_seconds = flood.flood(ids, destinations[0], OURS)
        finally:
            esme.close()
        bare = {"receipts": count, "seconds": round(bare_seconds, 2), "per_s": round(count / bare_seconds),
                "answered": flood.answered}
    finally:
        flood.stop()
    return {"bridge": stored, "bare_esme": bare, "bridge_to_bare": round(stored["per_s"] / bare["per_s"], 2),
            "target": TARGETS["receipts"]}


# ---- 4: a reply through a session ----------------------------------------------------------------

def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))] if ordered else 0.0


def latency_run(world: World, route: SmppRoute, count: int, owner: sms_seed.SmsAccount) -> dict[str, Any]:
    """``count`` sessions waiting for a reply; then each handset replies, one after the other,
    and the time from the handset network sending the reply (``mo``) to receiving the session's
    next question (``submit_sm``) is read from its own records."""
    world.clear_messages()
    contacts = numbers_like("delivered", count)
    bridge = SmsBridge(world.sessions, settings_for(route), worker="bench-latency").start()
    samples: list[float] = []
    try:
        if not bridge.binds.wait_bound(timeout=30):
            raise RuntimeError(f"the bridge did not bind to {route.host}:{route.port}")
        runner = bridge.messaging.runner
        for phone in contacts:  # each waits on the first question, which the bridge sends now
            runner.start(account_id=owner.account_id, flow_version_id=owner.version_id, channel="sms", address=phone,
                         our_address=owner.our_address, number_id=owner.number_id, contact={"phone": phone})
        counters = bridge.counters
        if wait_until(lambda: counters.receipts >= count, 120, every=0.05) is None:
            raise RuntimeError("the first questions were not all delivered")
        watch = world.watch().start()
        for phone in contacts:
            position = world.handsets.position()
            world.handsets.inject_mo(phone, owner.our_address, "one")
            reply: list[dict[str, Any]] = []  # the next question, as the handset network recorded it

            def answered() -> bool:
                reply[:] = world.handsets.messages("submit_sm", position, destination=phone.lstrip("+"))
                return bool(reply)

            # read from the handset network's own timestamps: how often it is asked does not change
            # the figure, only the CPU the asking takes from the bridge in this process
            if wait_until(answered, 10, every=0.02) is None:
                raise RuntimeError(f"no answer to {phone}'s reply within 10 s")
            mo = world.handsets.messages("mo", position)
            samples.append((reply[0]["at"] - mo[0]["at"]) * 1000)
            # the next handset answers once this question's receipt is in, as people do (seconds
            # later): back to back, its message waited behind the receipt's handling
            receipts = counters.receipts
            wait_until(lambda: counters.receipts > receipts, 10, every=0.005)
        machine = watch.stop()
    finally:
        bridge.stop(30)
    return {"replies": len(samples), "p50_ms": round(percentile(samples, 0.5), 2),
            "p99_ms": round(percentile(samples, 0.99), 2), "max_ms": round(max(samples), 2), **machine}


def latency(world: World, sizes: dict[str, int]) -> dict[str, Any]:
    """Each run on an account and number of its own (its sessions are the only ones waiting)."""
    owner = sms_seed.sms_account(world.sessions, FLOW, "bench_sessions", OURS, "bench-latency")
    with connectors_stopped(world.state, world.connectors):  # the handsets' replies come to the bridge alone
        direct = latency_run(world, world.straight_route(1, sizes["window"]), sizes["latency"], owner)
    other = sms_seed.sms_account(world.sessions, FLOW, "bench_sessions", OURS_THROUGH_JASMIN, "bench-latency-jasmin")
    return {"straight": direct,
            "through_jasmin": latency_run(world, world.jasmin_route(1, sizes["window"]), sizes["jasmin_latency"],
                                          other),
            "target": TARGETS["latency_p99_ms"]}


# ---- the report ------------------------------------------------------------------------------------

def _load(figures: dict[str, Any]) -> str:
    return f"load {figures['load_before']:.1f}/{figures['load_after']:.1f}, machine {figures['machine_busy']:.0%}"


def _cpu(figures: dict[str, Any], *names: str) -> str:
    return ", ".join(f"{name} {figures[f'{name}_cpu']:.0%}" for name in names if f"{name}_cpu" in figures)


def table(results: dict[str, Any]) -> str:
    rows: list[tuple[str, str, str, str]] = [("measure", "target", "figure", "beside it")]
    if "straight" in results:
        section = results["straight"]
        bare = section["bare_esme"]
        for key, run in section["runs"].items():
            rows.append((f"one bridge straight to the handset network, {run['binds']} bind(s) x {run['window']}",
                         TARGETS["straight"] if run["binds"] == 1 else "",
                         f"{run.get('end_to_end_per_s', '-')}/s receipts stored ({run.get('accepted_per_s', '-')}/s "
                         f"accepted)", f"{_cpu(run, 'this_process', 'handsets', 'database')}; {_load(run)}"))
        rows.append(("  baseline: bare smpplib ESME, no database", "", f"{bare['end_to_end_per_s']}/s end to end "
                     f"({bare['accepted_per_s']}/s accepted)", ""))
    if "jasmin" in results:
        for key, run in results["jasmin"]["runs"].items():
            bridge, bare = run["bridge"], run["bare_esme"]
            rows.append((f"through Jasmin, {run['connectors']} connector(s) (bridge, 1 bind)", "report",
                         f"{bridge.get('end_to_end_per_s', '-')}/s receipts stored ({bridge.get('accepted_per_s', '-')}"
                         f"/s accepted)", f"Jasmin's ceiling {bare['end_to_end_per_s']}/s (bare ESME): x"
                         f"{run['bridge_to_jasmin_ceiling']}; {_cpu(bridge, 'jasmin', 'this_process')}; "
                         f"{_load(bridge)}"))
    if "receipts" in results:
        section = results["receipts"]
        run = section["bridge"]
        rows.append((f"delivery receipts processed ({run['receipts']} flooded)", TARGETS["receipts"],
                     f"{run['per_s']}/s stored and answered",
                     f"bare ESME {section['bare_esme']['per_s']}/s; {_cpu(run, 'this_process', 'database')}; "
                     f"{_load(run)}"))
    if "latency" in results:
        for key, label in (("straight", "straight"), ("through_jasmin", "through Jasmin")):
            run = results["latency"][key]
            rows.append((f"MO-to-reply through a session, {label} ({run['replies']} replies): p50 / p99",
                         TARGETS["latency_p99_ms"] if key == "straight" else "report",
                         f"{run['p50_ms']} / {run['p99_ms']} ms (max {run['max_ms']})", _load(run)))
    if "campaign" in results:
        rows.extend(sms_campaign.rows(results["campaign"], TARGETS["campaign_s"]))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sqlite", action="store_true", help="a SQLite file rather than PostgreSQL")
    parser.add_argument("--quick", action="store_true", help="small sizes, for the smoke test")
    parser.add_argument("--only", nargs="+", choices=SECTIONS, default=list(SECTIONS))
    for name in FULL:
        parser.add_argument(f"--{name.replace('_', '-')}", type=int, help=f"default {FULL[name]:,}")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "sms.json")
    args = parser.parse_args()
    sizes = dict(QUICK if args.quick else FULL)
    for name in sizes:
        sizes[name] = getattr(args, name) or sizes[name]
    results: dict[str, Any] = {"sizes": sizes, "quick": args.quick, "cpus": os.cpu_count(),
                               "database": "sqlite" if args.sqlite else "postgresql"}
    with tempfile.TemporaryDirectory(prefix="vp-bench-sms-") as temp, smsc_instance(Path(temp) / "smsc") as state, \
            database(args.sqlite, Path(temp)) as url:
        upgrade(url)
        world = World(state, url)
        sections: dict[str, Callable[[World, dict[str, int]], dict[str, Any]]] = {
            "straight": straight, "receipts": receipts, "latency": latency, "jasmin": jasmin,
            "campaign": lambda w, s: sms_campaign.run(w.url, w.state, Path(temp), s["campaign"]),
        }
        for name in RUN_ORDER:
            if name in args.only:
                results[name] = sections[name](world, sizes)
        results["bench_rss_mb"] = rss_mb(os.getpid())
    print(table(results))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
