"""Benchmark: the SMS bridge (sms_bridge) end to end, from queued rows to stored receipts.

``python bench/sms.py [--messages N] [--jasmin-messages M] [--binds B] [--window W] [--sqlite]
[--quick] [--out FILE]``

Starts an smsc instance of its own (a temporary state folder; the cached Jasmin virtualenv: the
handset network runs in its own process) and a PostgreSQL database of its own (``--sqlite``: a
SQLite file), queues N messages with the ``sms`` driver (as the sessions would: rows in one
transaction), then runs one bridge (this process: binds, sender, receipts) until every message
is submitted and every receipt stored:

* straight to the handset network (the client's own ceiling): messages submitted per second
  (every submit_sm_resp stored) and delivered per second (every receipt applied);
* through Jasmin with its one upstream connector: the same on M messages.

It also reports the process's RSS and the bridge's counters (unanswered submits must be 0).
Jasmin's own ceiling, measured by a bare windowed ESME, is bench/jasmin_gateway.py's. Not a
timed test: figures for the closing note.
"""

from __future__ import annotations

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from contextlib import contextmanager  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import gevent  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select  # noqa: E402
from sqlalchemy.orm import Session, sessionmaker  # noqa: E402

from sms_bridge.bridge import SmsBridge  # noqa: E402
from sms_bridge.config import BridgeSettings, SmppRoute  # noqa: E402
from sms_bridge.driver import SmsChannel  # noqa: E402
from voiceplatform.channels.contract import Delivery  # noqa: E402
from voiceplatform.db import make_engine, session_factory, upgrade  # noqa: E402
from voiceplatform.flow.outputs import Send  # noqa: E402
from voiceplatform.models import Account  # noqa: E402
from voiceplatform.models.sms import SmsMessage  # noqa: E402
from voiceplatform.sessions import store  # noqa: E402
from voiceplatform.smsc import SmscSettings, SmscState, down, up  # noqa: E402
from voiceplatform.smsc.handset_network.numbers import numbers_like  # noqa: E402
from voiceplatform.smsc.processes import rss_kib  # noqa: E402
from voiceplatform.testing.postgres import fresh_database  # noqa: E402

FULL = {"messages": 20_000, "jasmin_messages": 2_000, "binds": 2, "window": 100}
QUICK = {"messages": 300, "jasmin_messages": 50, "binds": 1, "window": 20}
OURS = "+12025559800"
TEXT = "Your appointment is tomorrow at 10:00. Reply 1 to confirm, 2 to change it."


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


def queue(sessions: sessionmaker[Session], count: int) -> None:
    driver = SmsChannel(BridgeSettings())
    destinations = numbers_like("delivered", 1000)
    with sessions.begin() as db:
        account = Account(name=f"bench-{time.time_ns()}")
        db.add(account)
        db.flush()
        for first in range(0, count, 1000):
            with store.batched(db):
                for n in range(first, min(count, first + 1000)):
                    driver.deliver(db, Delivery(None, account.id, destinations[n % 1000], OURS, "sms",
                                                (Send("sms", f"{TEXT} #{n}"),)))


def counts(sessions: sessionmaker[Session]) -> tuple[int, int]:
    with sessions() as db:
        submitted = db.scalar(select(func.count()).select_from(SmsMessage).where(SmsMessage.send_state == "submitted"))
        delivered = db.scalar(select(func.count()).select_from(SmsMessage).where(SmsMessage.status == "delivered"))
    return int(submitted or 0), int(delivered or 0)


def run(sessions: sessionmaker[Session], route: SmppRoute, count: int, timeout: float) -> dict[str, Any]:
    with sessions.begin() as db:
        db.execute(SmsMessage.__table__.delete())
    queue(sessions, count)
    settings = BridgeSettings(route=route, claim_batch=500, max_in_flight=max(500, route.window * route.binds * 4),
                              poll_every=0.01, held_receipts_every=0.5)
    bridge = SmsBridge(sessions, settings, worker="bench")
    started = time.perf_counter()
    bridge.start()
    submitted_at = delivered_at = None
    deadline = started + timeout
    try:
        while time.perf_counter() < deadline:
            submitted, delivered = counts(sessions)
            now = time.perf_counter()
            if submitted_at is None and submitted >= count:
                submitted_at = now
            if delivered >= count:
                delivered_at = now
                break
            gevent.sleep(0.1)
    finally:
        bridge.stop(10)
    result: dict[str, Any] = {"messages": count, "binds": route.binds, "window": route.window,
                              "counters": bridge.counters.as_dict()}
    if submitted_at:
        result["submitted_per_s"] = round(count / (submitted_at - started))
    if delivered_at:
        result["delivered_per_s"] = round(count / (delivered_at - started))
    else:
        result["delivered"] = counts(sessions)[1]
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    for name in ("messages", "jasmin_messages", "binds", "window"):
        parser.add_argument(f"--{name.replace('_', '-')}", type=int)
    parser.add_argument("--sqlite", action="store_true")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "sms.json")
    args = parser.parse_args()
    sizes = dict(QUICK if args.quick else FULL)
    for name in sizes:
        sizes[name] = getattr(args, name) or sizes[name]
    results: dict[str, Any] = {"sizes": sizes, "database": "sqlite" if args.sqlite else "postgresql"}
    with tempfile.TemporaryDirectory(prefix="vp-bench-sms-") as temp, smsc_instance(Path(temp) / "smsc") as state, \
            database(args.sqlite, Path(temp)) as url:
        upgrade(url)
        sessions = session_factory(make_engine(url))
        handsets = state.handsets
        straight = SmppRoute(state.host, handsets.smpp_port, handsets.system_id, handsets.password,
                             binds=sizes["binds"], window=sizes["window"])
        results["straight_to_handsets"] = run(sessions, straight, sizes["messages"], timeout=600)
        jasmin = SmppRoute(*state.smpp_address, state.esme_username, state.esme_password, binds=1,
                           window=sizes["window"])
        results["through_jasmin_1_connector"] = run(sessions, jasmin, sizes["jasmin_messages"], timeout=600)
        results["bridge_rss_mb"] = round((rss_kib(os.getpid()) or 0) / 1024, 1)
    rows = []
    for key, label in (("straight_to_handsets", "straight to the handset network"),
                       ("through_jasmin_1_connector", "through Jasmin, 1 connector")):
        figures = results[key]
        rows.append((f"{label} ({figures['messages']} messages, {figures['binds']} binds x {figures['window']})",
                     f"submitted {figures.get('submitted_per_s', '-')}/s, "
                     f"receipts stored {figures.get('delivered_per_s', '-')}/s, "
                     f"unanswered {figures['counters']['parts_unanswered']}"))
    rows.append(("the bridge's RSS after the runs", f"{results['bridge_rss_mb']} MB"))
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        print(f"{label:<{width}}  {value}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
