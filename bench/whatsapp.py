"""Benchmark: the WhatsApp bridge (whatsapp_bridge) against the WhatsApp contract server.

``python bench/whatsapp.py [--database sqlite|postgresql|both] [--quick] [--out FILE]``

Starts a private Redis (voiceplatform.testing.redis), the contract server
(voiceplatform.testing.whatsapp_cloud) as a process of its own, and per database (a SQLite file,
or voiceplatform.testing.postgres.fresh_database) the bridge in this process (gevent) on the
production settings (``WhatsAppSettings`` defaults: claims of 100, 500 in flight, the inbox 50
events a round). Measured, per database:

1. **send rate**: N template messages queued in the outbox for the seed number at tier 80 and for
   the upgraded one at tier 1,000 (each to its own user, so the pair limit stays out of it), sent
   by the bridge's sender with its Redis throughput limiter. The contract server's own tier is
   raised to 100,000 for this part, so it never refuses (its 130429 count is 0) and what is
   measured is the bridge's limiter, **on the server's clock** (its log of accepted requests):
   the mean of the whole one-second windows from the first request (target: the tier within
   2 %), and the most requests in any one-second window (target: never over the tier); the
   limiter's own grants (the Redis clock) are counted too. Then the same for two senders sharing
   the limiter: this process's bridge and a ``python -m whatsapp_bridge`` process on the same
   outbox and Redis.
2. **inbox**: N signed webhook POSTs already stored in ``whatsapp_webhook_events`` (statuses
   ``sent`` and ``delivered`` of the messages of 1, ten a POST; users' texts with no session,
   five a POST: Meta batches under load), applied by one ``Inbox`` (parse, windows, router,
   statuses priced, event marked) until none is left: events (statuses and messages) a second
   (target >= 2,000). Baseline in the same run: the same bodies parsed, then one bare UPDATE of
   the message row per status and one bare INSERT per message, a transaction per POST.
3. **webhook answer time**: N signed POSTs (one ``read`` status each) to the bridge's endpoint
   (signature over the raw bytes, the bytes stored, 200) from a client process of its own, four
   at a time, while the bridge's inbox applies them: p50 / p99 (target p99 < 20 ms). Baseline:
   the same client against the endpoint of a Flask app that answers 200 at once (no check, no
   store) on the same server.
4. **inbound-to-reply latency**: N sessions waiting on a question (it went as the
   ``order_update`` template: no window yet), each its own contact; one at a time, the contract
   server injects the contact's quick reply (its control endpoint), posts the signed webhook, the
   bridge stores and answers it, the inbox routes it, the session resumes and queues its thanks,
   the sender sends it: from the moment before the injection to the server's record of the
   reply (the server's clock is this machine's wall clock), p50 / p99 (target p99 < 50 ms). The
   next contact answers once the previous reply's statuses were posted and applied (a person
   answers seconds later; back to back, the message waited behind those status webhooks).

Every figure carries the machine's load (2 shared cores). Nothing started outlives the run:
the servers and processes are stopped in ``finally`` blocks (Ctrl-C included), Redis and the
contract server also die with this process (``PR_SET_PDEATHSIG``).

Not a timed test: figures for docs/whatsapp-bridge.md, "Performance"
(tests/bench/test_whatsapp_bench.py runs ``--quick``).
"""

from __future__ import annotations

import os
import sys

if "--post-webhooks" not in sys.argv:  # the load client is a plain threaded process
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.realpath(__file__))))  # the checkout (ROOT, below)
    from voiceplatform.processes.runtime import use_gevent

    use_gevent()  # as python -m whatsapp_bridge does: monkey-patching, and full collections made rare

import argparse  # noqa: E402
import base64  # noqa: E402
import contextlib  # noqa: E402
import ctypes  # noqa: E402
import http.client  # noqa: E402
import json  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import urllib.parse  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from decimal import Decimal  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any, Mapping  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

FLOW = (ROOT / "bench" / "flows" / "bench_whatsapp.yaml").read_text()
APP_SECRET = "bench-app-secret"
TOKEN = "bench-token"
TIER_80_ID = "106540352242922"  # the contract server's seed numbers (docs/whatsapp-contract-server.md)
TIER_1000_ID = "106540352242923"
OURS = {TIER_80_ID: ("+12025559700", 80), TIER_1000_ID: ("+12025559701", 1000)}
SERVER_TIER_DURING_SENDS = 100_000
STATUS_BATCH = 10  # statuses a stored POST (Meta batches under load)
INBOUND_BATCH = 5  # users' messages a stored POST
CONCURRENCY = 4  # webhook POSTs in flight at once
SHARED_CHUNK = 10  # messages queued a commit while two senders share the tier
TARGETS = {"rate": "tier within 2 %, never over", "inbox_per_s": ">= 2,000", "answer_p99_ms": "< 20 ms",
           "reply_p99_ms": "< 50 ms"}
FULL = {"seconds": 5, "cap": 1_000_000, "shared_seconds": 5, "inbox_messages": 4_000, "inbox_inbound": 2_000, "answers": 2_000,
        "replies": 200}
QUICK = {"seconds": 1.5, "cap": 300, "shared_seconds": 1.5, "inbox_messages": 150, "inbox_inbound": 50, "answers": 100,
         "replies": 10}


# ---- figures -------------------------------------------------------------------------------------

def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))] if ordered else 0.0


def most_in_any_second(times: list[float]) -> int:
    """The most events in any window (t - 1 s, t] ending at an event."""
    ordered = sorted(times)
    most, first = 0, 0
    for last, at in enumerate(ordered):
        while ordered[first] <= at - 1.0:
            first += 1
        most = max(most, last - first + 1)
    return most


def whole_seconds(times: list[float]) -> list[int]:
    """The count in each whole one-second window [t0 + i, t0 + i + 1) from the first event."""
    ordered = sorted(times)
    if not ordered:
        return []
    t0 = ordered[0]
    counts = [0] * int(ordered[-1] - t0)
    for at in ordered:
        index = int(at - t0)
        if index < len(counts):
            counts[index] += 1
    return counts


def rate_figures(times: list[float], tier: int) -> dict[str, Any]:
    windows = whole_seconds(times)
    mean = sum(windows) / len(windows) if windows else 0.0
    return {"requests": len(times), "span_s": (max(times) - min(times)) if times else 0.0,
            "whole_windows": windows, "per_s": mean, "ratio_to_tier": mean / tier,
            "max_in_any_second": most_in_any_second(times), "tier": tier,
            "never_over": most_in_any_second(times) <= tier}


class Load:
    """The machine's 1-minute load average before and after a section."""

    def __init__(self) -> None:
        self.before = os.getloadavg()[0]

    def done(self) -> dict[str, float]:
        return {"before": self.before, "after": os.getloadavg()[0]}


# ---- the world -----------------------------------------------------------------------------------

def _die_with_parent() -> None:  # pragma: no cover - in the child between fork and exec
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


@contextlib.contextmanager
def contract_server(webhook_url: str) -> Iterator[str]:
    """The contract server as a process of its own (its CPU is not the bridge's): its URL."""
    process = subprocess.Popen([sys.executable, "-m", "voiceplatform.testing.whatsapp_cloud", "--port", "0",
                                "--webhook-url", webhook_url, "--app-secret", APP_SECRET, "--token", TOKEN],
                               cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                               preexec_fn=_die_with_parent)
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        if not url.startswith("http://"):
            raise RuntimeError(f"the contract server did not start (exit {process.poll()})")
        yield url
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextlib.contextmanager
def database(kind: str, folder: Path) -> Iterator[str]:
    if kind == "postgresql":
        from voiceplatform.testing.postgres import fresh_database

        with fresh_database() as url:
            yield url
        return
    yield f"sqlite:///{folder / f'whatsapp-{time.monotonic_ns()}.db'}"


def bound_listener() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(1024)
    return sock


class RecordingThroughput:
    """The limiter, keeping the time of each grant on its own clock (the Redis server's)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.grants: dict[str, list[float]] = {}

    def try_acquire(self, phone_number_id: str, tier: int) -> Any:
        from whatsapp_bridge.throughput import Grant

        answer = self.inner.try_acquire(phone_number_id, tier)
        if isinstance(answer, Grant):
            self.grants.setdefault(phone_number_id, []).append(answer.at / 1_000_000)
        return answer


class SignallingGraph:
    """The Graph client, telling the benchmark when a text went to a recipient."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.waiting: dict[str, Any] = {}

    def send(self, phone_number_id: str, payload: Mapping[str, Any]) -> Any:
        answer = self.client.send(phone_number_id, payload)
        event = self.waiting.get(str(payload.get("to")).lstrip("+"))
        if event is not None and payload.get("type") == "text":
            event.set()
        return answer


class World:
    """One database with our two WhatsApp numbers on an account, the button flow published, and
    the settings of a bridge that talks to the contract server and the benchmark's Redis."""

    def __init__(self, url: str, graph_url: str, redis_url: str) -> None:
        from voiceplatform.db import make_engine, session_factory, upgrade
        from voiceplatform.models import Account, FlowVersion, Number, NumberChannel
        from voiceplatform.models.base import utcnow
        from voiceplatform.models.flows import FlowStatus

        from whatsapp_bridge.config import BusinessNumber, WhatsAppSettings

        self.url = url
        upgrade(url)
        self.engine = make_engine(url)
        self.sessions = session_factory(self.engine)
        self.numbers = tuple(BusinessNumber(number_id, number, tier) for number_id, (number, tier) in OURS.items())
        self.settings = WhatsAppSettings(graph_url=graph_url, token=TOKEN, app_secret=APP_SECRET,
                                         verify_token="bench", numbers=self.numbers, redis_url=redis_url,
                                         listen="127.0.0.1:0", rates={"utility": Decimal("0.02"), "marketing": Decimal("0.25"),
                                                                      "authentication": Decimal("0.03")})
        with self.sessions.begin() as db:
            owner = Account(name="whatsapp-bench")
            db.add(owner)
            db.flush()
            version = FlowVersion(account_id=owner.id, name="bench_whatsapp", version=1,
                                  status=FlowStatus.PUBLISHED, definition=FLOW,
                                  checksum=FlowVersion.checksum_of(FLOW), published_at=utcnow())
            db.add(version)
            number_ids = {}
            for ours in self.numbers:
                number = Number(account_id=owner.id, number=ours.number, kind="phone")
                db.add(number)
                db.flush()
                db.add(NumberChannel(number_id=number.id, channel="whatsapp"))
                number_ids[ours.phone_number_id] = number.id
            db.flush()
            self.account_id, self.version_id, self.number_ids = owner.id, version.id, number_ids

    def queue(self, phone_number_id: str, recipients: list[str]) -> None:
        """One queued template message (``hello_world``) to each recipient, in one commit."""
        from sqlalchemy import insert

        from voiceplatform.flow.outputs import Send
        from voiceplatform.models.base import utcnow
        from voiceplatform.models.whatsapp import QUEUED

        from whatsapp_bridge.driver import MESSAGES

        number, _ = OURS[phone_number_id]
        send = Send(channel="whatsapp", text="Your order shipped.",
                    template={"name": "hello_world", "language": "en_US"}).to_dict()
        now = utcnow()
        rows = [{"account_id": self.account_id, "session_id": None, "phone_number_id": phone_number_id,
                 "our_number": number, "recipient": recipient, "send": send, "message_type": None,
                 "template_only": False, "parts": 0, "parts_sent": 0, "payloads": None, "wamid": None,
                 "send_state": QUEUED, "status": None, "error": None, "error_code": None, "attempts": 0,
                 "unconfirmed": 0, "next_attempt_at": None, "claimed_by": None, "claimed_until": None,
                 "pricing_category": None, "pricing_type": None, "billable": None, "cost": None, "created_at": now,
                 "sent_at": None, "status_at": None} for recipient in recipients]
        with self.sessions.begin() as db:
            for first in range(0, len(rows), 2000):
                db.execute(insert(MESSAGES), rows[first:first + 2000])

    def unsent(self) -> int:
        """Messages queued or being sent."""
        from sqlalchemy import func, select

        from voiceplatform.models.whatsapp import QUEUED, SENDING, WhatsAppMessage

        with self.sessions() as db:
            return int(db.scalar(select(func.count()).select_from(WhatsAppMessage)
                                 .where(WhatsAppMessage.send_state.in_((QUEUED, SENDING)))) or 0)

    def drop_unsent(self) -> None:
        from sqlalchemy import update

        from voiceplatform.models.whatsapp import SENT, WhatsAppMessage

        with self.sessions.begin() as db:
            db.execute(update(WhatsAppMessage).where(WhatsAppMessage.send_state != SENT)
                       .values(send_state="failed", error="bench: left at the deadline"))

    def failed(self) -> int:
        from sqlalchemy import func, select

        from voiceplatform.models.whatsapp import WhatsAppMessage

        with self.sessions() as db:
            return int(db.scalar(select(func.count()).select_from(WhatsAppMessage)
                                 .where(WhatsAppMessage.send_state == "failed")) or 0)

    def unprocessed(self) -> int:
        from sqlalchemy import func, select

        from voiceplatform.models.whatsapp import WhatsAppWebhookEvent

        with self.sessions() as db:
            return int(db.scalar(select(func.count()).select_from(WhatsAppWebhookEvent)
                                 .where(WhatsAppWebhookEvent.processed_at.is_(None))) or 0)

    def sent_messages(self, phone_number_id: str | None = None) -> list[tuple[str, str, str]]:
        """(wamid, phone number id, recipient) of every message sent."""
        from sqlalchemy import select

        from voiceplatform.models.whatsapp import SENT, WhatsAppMessage

        m = WhatsAppMessage
        with self.sessions() as db:
            query = select(m.wamid, m.phone_number_id, m.recipient).where(m.send_state == SENT, m.wamid.is_not(None))
            if phone_number_id:
                query = query.where(m.phone_number_id == phone_number_id)
            return [(row.wamid, row.phone_number_id, row.recipient) for row in db.execute(query.order_by(m.id))]

    def close(self) -> None:
        self.engine.dispose()


def wait_until(check: Any, timeout: float, what: str, every: float = 0.1) -> None:
    import gevent

    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not happen within {timeout:g} s")
        gevent.sleep(every)


def wait_at_most(check: Any, timeout: float, every: float = 0.1) -> bool:
    """Like wait_until, but a run that is slower than the deadline is measured as it is."""
    import gevent

    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        gevent.sleep(every)
    return True


# ---- 1. the send rate ----------------------------------------------------------------------------

def recipients(prefix: str, n: int) -> list[str]:
    return [f"+{prefix}{i:07d}" for i in range(n)]


def send_rate(world: World, cloud: Any, redis_url: str, sizes: dict[str, Any], folder: Path) -> dict[str, Any]:
    import gevent

    from voiceplatform.testing.whatsapp_bridge_process import WhatsAppBridgeProcess

    from whatsapp_bridge.bridge import WhatsAppBridge
    from whatsapp_bridge.throughput import RedisThroughput, redis_client

    cloud.reset()
    cloud.settings(auto_statuses=False)  # no webhooks in this part: the sends alone
    for number_id in OURS:
        cloud.set_tier(number_id, SERVER_TIER_DURING_SENDS)
    limiter = RecordingThroughput(RedisThroughput(redis_client(redis_url)))
    bridge = WhatsAppBridge(world.sessions, world.settings, throughput=limiter, worker="bench-sender-1").start()
    runs: dict[str, Any] = {}
    try:
        for k, (number_id, (_, tier)) in enumerate(OURS.items()):
            load = Load()
            n = min(int(tier * sizes["seconds"]), sizes["cap"])
            world.queue(number_id, recipients(f"1555{k}", n))
            began, cpu = time.perf_counter(), time.process_time()
            bridge.wake()
            finished = wait_at_most(lambda: world.unsent() == 0, sizes["seconds"] * 4 + 20)
            seconds, cpu_seconds = time.perf_counter() - began, time.process_time() - cpu
            unsent = world.unsent()
            if not finished:  # what is left is not this part's: it must not go during the next
                world.drop_unsent()
            times = [entry["at"] for entry in cloud.sent() if entry["phone_number_id"] == number_id]
            runs[f"tier_{tier}"] = {**rate_figures(times, tier), "messages": n, "seconds": seconds,
                                    "finished": finished, "unsent_at_the_deadline": unsent,
                                    "bench_cpu_share": cpu_seconds / seconds,
                                    "limiter_max_in_any_second": most_in_any_second(limiter.grants.get(number_id, [])),
                                    "load": load.done()}
        # two senders sharing the limiter: this bridge and a bridge process of its own
        load = Load()
        tier_number, (_, tier) = TIER_80_ID, OURS[TIER_80_ID]
        before = dict(bridge.sender.counters)
        env = {"VOICEPLATFORM_WHATSAPP_GRAPH_URL": world.settings.graph_url, "VOICEPLATFORM_WHATSAPP_TOKEN": TOKEN,
               "VOICEPLATFORM_WHATSAPP_APP_SECRET": APP_SECRET, "VOICEPLATFORM_WHATSAPP_REDIS_URL": redis_url,
               "VOICEPLATFORM_WHATSAPP_NUMBERS": ",".join(f"{n.phone_number_id}={n.number}:{n.tier}"
                                                          for n in world.numbers)}
        other = WhatsAppBridgeProcess(folder, world.url, name="bench-sender-2", env=env)
        try:
            other.webhook_url  # started
            first = len(cloud.sent())
            n = int(tier * sizes["shared_seconds"])
            # queued a few at a time, as a campaign's fan-out queues them: both senders claim
            numbers = recipients("15559", n)
            for chunk in range(0, n, SHARED_CHUNK):
                world.queue(tier_number, numbers[chunk:chunk + SHARED_CHUNK])
                gevent.sleep(SHARED_CHUNK / tier / 2)
            wait_until(lambda: world.unsent() == 0, sizes["shared_seconds"] * 4 + 30, "the shared sends")
        finally:
            counters = other.stop()
        shared = [entry for entry in cloud.sent()[first:] if entry["phone_number_id"] == tier_number]
        times = [entry["at"] for entry in shared]
        runs["two_senders_tier_80"] = {**rate_figures(times, tier), "messages": n,
                                       "requests_beyond_messages": len(times) - n,
                                       "distinct_recipients": len({entry["recipient"] for entry in shared}),
                                       "first_requests": [(entry["recipient"], entry["at"]) for entry in shared[:12]],
                                       "by_sender": [bridge.sender.counters["sent"] - before["sent"],
                                                     counters.get("sent", 0)],
                                       "load": load.done()}
    finally:
        bridge.stop(30)
    refused = cloud.refused()
    return {"runs": runs, "server_130429": sum(1 for r in refused if r.get("code") == 130429),
            "server_refused": len(refused), "server_tier": SERVER_TIER_DURING_SENDS,
            "target": TARGETS["rate"]}


# ---- 2. the inbox ----------------------------------------------------------------------------------

def _envelope(number_id: str, value: dict[str, Any]) -> bytes:
    number, _ = OURS[number_id]
    value = {"messaging_product": "whatsapp",
             "metadata": {"display_phone_number": number[1:], "phone_number_id": number_id}, **value}
    body = {"object": "whatsapp_business_account",
            "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": value}]}]}
    return json.dumps(body, ensure_ascii=True, separators=(",", ":")).encode("ascii")


def _status(wamid: str, recipient: str, name: str, at: int) -> dict[str, Any]:
    item: dict[str, Any] = {"id": wamid, "status": name, "timestamp": str(at), "recipient_id": recipient.lstrip("+")}
    if name in ("sent", "delivered"):
        item["pricing"] = {"billable": True, "pricing_model": "PMP", "type": "regular", "category": "utility"}
    return item


def status_bodies(sent: list[tuple[str, str, str]], names: tuple[str, ...], batch: int) -> list[bytes]:
    at = int(time.time())
    bodies: list[bytes] = []
    for name in names:
        for number_id in OURS:
            mine = [(wamid, recipient) for wamid, number, recipient in sent if number == number_id]
            for first in range(0, len(mine), batch):
                items = [_status(wamid, recipient, name, at) for wamid, recipient in mine[first:first + batch]]
                bodies.append(_envelope(number_id, {"statuses": items}))
    return bodies


def inbound_bodies(n: int, batch: int, prefix: str) -> list[bytes]:
    at = int(time.time())
    bodies = []
    for first in range(0, n, batch):
        users = [f"{prefix}{i:07d}" for i in range(first, min(n, first + batch))]
        contacts = [{"profile": {"name": "Bench"}, "wa_id": user, "user_id": f"US.{user}"} for user in users]
        messages = [{"from": user, "from_user_id": f"US.{user}", "id": f"wamid.BENCHIN{user}", "timestamp": str(at),
                     "type": "text", "text": {"body": "hello there"}} for user in users]
        bodies.append(_envelope(TIER_80_ID, {"contacts": contacts, "messages": messages}))
    return bodies


def interleave(*lists: list[bytes]) -> list[bytes]:
    out: list[bytes] = []
    longest = max(len(items) for items in lists)
    for i in range(longest):
        out.extend(items[i] for items in lists if i < len(items))
    return out


def store_events(world: World, bodies: list[bytes]) -> None:
    from sqlalchemy import insert

    from voiceplatform.models.base import utcnow
    from voiceplatform.models.whatsapp import WhatsAppWebhookEvent

    now = utcnow()
    with world.sessions.begin() as db:
        db.execute(insert(WhatsAppWebhookEvent), [{"body": body, "received_at": now, "attempts": 0} for body in bodies])


def inbox_rate(world: World, sizes: dict[str, Any]) -> dict[str, Any]:
    from sqlalchemy import text

    from whatsapp_bridge.bridge import messaging_runtime
    from whatsapp_bridge.driver import NAME
    from whatsapp_bridge.inbox import Inbox

    load = Load()
    sent = world.sent_messages()[:sizes["inbox_messages"]]
    statuses = status_bodies(sent, ("sent", "delivered"), STATUS_BATCH)
    inbound = inbound_bodies(sizes["inbox_inbound"], INBOUND_BATCH, "1556")
    bodies = interleave(statuses, inbound)
    events = 2 * len(sent) + sizes["inbox_inbound"]
    store_events(world, bodies)
    with world.sessions.begin() as db:
        db.execute(text("ANALYZE"))
    messaging = messaging_runtime(world.sessions, world.settings)
    inbox = Inbox(world.sessions, messaging.router, messaging.channels.get(NAME), world.settings, "bench-inbox")
    began, cpu = time.perf_counter(), time.process_time()
    while inbox.process_once():
        pass
    seconds, cpu_seconds = time.perf_counter() - began, time.process_time() - cpu
    applied = inbox.counters["statuses"] + inbox.counters["inbound"]
    baseline = inbox_baseline(world, bodies)
    per_s = applied / seconds
    return {"posts": len(bodies), "events": events, "applied": applied, "counters": dict(inbox.counters),
            "left": world.unprocessed(), "seconds": seconds, "cpu_seconds": cpu_seconds, "per_s": per_s,
            "baseline": baseline, "ratio": per_s / baseline["per_s"], "load": load.done(),
            "target": TARGETS["inbox_per_s"]}


def inbox_baseline(world: World, bodies: list[bytes]) -> dict[str, Any]:
    """The same bodies parsed, one bare UPDATE of the message row per status and one bare INSERT
    per message (into a table of the benchmark's), a transaction per POST."""
    from sqlalchemy import Column, Integer, MetaData, String, Table, bindparam, insert, update

    from voiceplatform.models.whatsapp import WhatsAppMessage

    from whatsapp_bridge.webhook_payloads import parse

    table = Table("bench_inbound", MetaData(), Column("id", Integer, primary_key=True),
                  Column("wamid", String(128)), Column("sender", String(64)), Column("text", String(4096)))
    table.create(world.engine)
    m = WhatsAppMessage.__table__
    set_status = update(m).where(m.c.wamid == bindparam("w")).values(status=bindparam("s"))
    events = 0
    began = time.perf_counter()
    for body in bodies:
        batch = parse(json.loads(body))
        with world.sessions.begin() as db:
            if batch.statuses:
                db.execute(set_status, [{"w": s.message_id, "s": s.status} for s in batch.statuses])
            if batch.inbound:
                db.execute(insert(table), [{"wamid": e.message_id, "sender": e.wa_id, "text": e.text}
                                           for e in batch.inbound])
        events += len(batch.statuses) + len(batch.inbound)
    seconds = time.perf_counter() - began
    table.drop(world.engine)
    return {"events": events, "seconds": seconds, "per_s": events / seconds,
            "what": "parse + a bare UPDATE per status / INSERT per message, a transaction per POST"}


# ---- 3. the webhook's answer time ------------------------------------------------------------------

def post_webhooks(url: str, bodies: list[bytes], concurrency: int, folder: Path) -> dict[str, Any]:
    """The client process: every body POSTed, ``concurrency`` at a time; each answer's time."""
    from whatsapp_bridge.signature import sign

    job = folder / f"posts-{time.monotonic_ns()}.json"
    job.write_text(json.dumps({"url": url, "concurrency": concurrency,
                               "posts": [[base64.b64encode(body).decode(), sign(APP_SECRET, body)]
                                         for body in bodies]}))
    done = subprocess.run([sys.executable, __file__, "--post-webhooks", str(job)], capture_output=True, text=True,
                          timeout=600)
    job.unlink()
    if done.returncode != 0:
        raise RuntimeError(f"the webhook client failed: {done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def client_main(job_path: str) -> None:
    job = json.loads(Path(job_path).read_text())
    parts = urllib.parse.urlsplit(job["url"])
    posts = [(base64.b64decode(body), signature) for body, signature in job["posts"]]
    samples: list[float] = []
    codes: dict[str, int] = {}
    lock = threading.Lock()
    cursor = iter(range(len(posts)))

    def worker() -> None:
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        while True:
            with lock:
                i = next(cursor, None)
            if i is None:
                break
            body, signature = posts[i]
            began = time.perf_counter()
            connection.request("POST", parts.path, body=body, headers={
                "Content-Type": "application/json", "X-Hub-Signature-256": signature,
                "User-Agent": "facebookexternalua"})
            response = connection.getresponse()
            response.read()
            took = (time.perf_counter() - began) * 1000
            with lock:
                samples.append(took)
                codes[str(response.status)] = codes.get(str(response.status), 0) + 1
        connection.close()

    began = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(job["concurrency"])]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - began
    print(json.dumps({"posts": len(samples), "codes": codes, "seconds": seconds, "per_s": len(samples) / seconds,
                      "p50_ms": percentile(samples, 0.5), "p99_ms": percentile(samples, 0.99),
                      "max_ms": max(samples) if samples else 0.0}))


@contextlib.contextmanager
def bare_endpoint() -> Iterator[str]:
    """A Flask app answering 200 at once on the same gevent server: the answer time's floor."""
    from flask import Flask, jsonify

    from voiceplatform.processes.server import NoDelayWSGIServer

    app = Flask("bench_bare")

    @app.post("/whatsapp/webhook")
    def receive() -> Any:
        return jsonify({"received": True}), 200

    server = NoDelayWSGIServer(("127.0.0.1", 0), app, log=None)  # the bridge's server
    server.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/whatsapp/webhook"
    finally:
        server.stop(timeout=1)


def answer_time(world: World, bridge: Any, sizes: dict[str, Any], folder: Path) -> dict[str, Any]:
    load = Load()
    sent = world.sent_messages()[:sizes["answers"]]
    bodies = status_bodies(sent, ("read",), 1)
    result = post_webhooks(bridge.webhook_url, bodies, CONCURRENCY, folder)
    wait_until(lambda: world.unprocessed() == 0, 120, "the inbox applying the POSTs")
    with bare_endpoint() as url:
        baseline = post_webhooks(url, bodies, CONCURRENCY, folder)
    return {**result, "concurrency": CONCURRENCY, "baseline": baseline,
            "ratio": result["p99_ms"] / baseline["p99_ms"] if baseline["p99_ms"] else None,
            "left": world.unprocessed(), "load": load.done(), "target": TARGETS["answer_p99_ms"]}


# ---- 4. inbound-to-reply latency -------------------------------------------------------------------

def reply_latency(world: World, cloud: Any, bridge: Any, graph: SignallingGraph,
                  sizes: dict[str, Any]) -> dict[str, Any]:
    from gevent.event import Event

    load = Load()
    cloud.reset()  # the seed's tiers again, statuses on, an empty log
    number_id = TIER_80_ID
    ours, _ = OURS[number_id]
    contacts = [f"1557{i:07d}" for i in range(sizes["replies"])]
    for user in contacts:
        bridge.messaging.runner.start(account_id=world.account_id, flow_version_id=world.version_id,
                                      channel="whatsapp", address=f"+{user}", our_address=ours,
                                      number_id=world.number_ids[number_id])
    bridge.wake()
    wait_until(lambda: world.unsent() == 0, 120, "the questions sent")
    cloud.wait_for_webhooks(60)
    wait_until(lambda: world.unprocessed() == 0, 120, "the questions' statuses applied")
    injected: dict[str, float] = {}
    seen: dict[str, float] = {}
    for user in contacts:
        event = Event()
        graph.waiting[user] = event  # the Graph API's "to": digits, no +
        injected[user] = time.time()
        cloud.inject("quick_reply", user=user, payload="yes", text="Yes")
        if not event.wait(30):
            raise RuntimeError(f"no reply to {user} within 30 s")
        seen[user] = time.time()
        # the next user answers once this reply's statuses were posted and applied, as people do
        # (seconds later): back to back, the next message queued behind them in the server's
        # webhook order and the inbox's (about 40 ms of the p50 on this machine, docs/whatsapp-bridge.md)
        cloud.wait_for_webhooks(30)
        wait_until(lambda: world.unprocessed() == 0, 30, "the reply's statuses applied", every=0.005)
    cloud.wait_for_webhooks(60)
    replies = {entry["recipient"].lstrip("+"): entry["at"] for entry in cloud.sent() if entry["kind"] == "text"}
    samples = [(replies[user] - injected[user]) * 1000 for user in contacts if user in replies]
    texts = [entry["body"]["text"]["body"] for entry in cloud.sent() if entry["kind"] == "text"]
    return {"replies": len(samples), "thanks_yes": sum(1 for t in texts if t == "Thanks: yes"),
            "p50_ms": percentile(samples, 0.5), "p99_ms": percentile(samples, 0.99),
            "max_ms": max(samples) if samples else 0.0,
            "bench_side_p99_ms": percentile([(seen[u] - injected[u]) * 1000 for u in contacts], 0.99),
            "questions_as": sorted({entry["kind"] for entry in cloud.sent() if entry["kind"] != "text"}),
            "load": load.done(), "target": TARGETS["reply_p99_ms"]}


# ---- a run -----------------------------------------------------------------------------------------

def step(name: str, section: Any, *args: Any) -> Any:
    began = time.perf_counter()
    result = section(*args)
    print(f"{name}: {time.perf_counter() - began:.1f} s", file=sys.stderr, flush=True)
    return result


def run(kind: str, sizes: dict[str, Any], redis_url: str, folder: Path) -> dict[str, Any]:
    from voiceplatform.testing.whatsapp_cloud.client import WhatsAppCloudClient

    from whatsapp_bridge.bridge import WhatsAppBridge
    from whatsapp_bridge.graph_client import GraphClient

    listener = bound_listener()
    port = listener.getsockname()[1]
    try:
        with database(kind, folder) as url, contract_server(f"http://127.0.0.1:{port}/whatsapp/webhook") as cloud_url:
            cloud = WhatsAppCloudClient(cloud_url, TOKEN)
            world = World(url, f"{cloud_url}/v23.0", redis_url)
            try:
                rates = step("send rate", send_rate, world, cloud, redis_url, sizes, folder)
                inbox = step("inbox", inbox_rate, world, sizes)
                graph = SignallingGraph(GraphClient(world.settings.graph_url, TOKEN))
                bridge = WhatsAppBridge(world.sessions, world.settings, client=graph, listener=listener,
                                        worker="bench-bridge").start()
                try:
                    answers = step("webhook answers", answer_time, world, bridge, sizes, folder)
                    latency = step("inbound-to-reply", reply_latency, world, cloud, bridge, graph, sizes)
                finally:
                    bridge.stop(30)
                    graph.client.close()
            finally:
                world.close()
                cloud.close()
    finally:
        listener.close()
    return {"database": kind, "send_rate": rates, "inbox": inbox, "webhook_answer": answers,
            "reply_latency": latency}


# ---- the report ------------------------------------------------------------------------------------

def _load(section: Mapping[str, Any]) -> str:
    return f"{section['load']['before']:.2f} / {section['load']['after']:.2f}"


def table(reports: list[dict[str, Any]]) -> str:
    rows = [("measure", "database", "target", "result", "baseline", "ratio", "load (before / after)")]
    for r in reports:
        db = r["database"]
        for key, label in (("tier_80", "send rate, tier 80"), ("tier_1000", "send rate, tier 1,000"),
                           ("two_senders_tier_80", "send rate, two senders, tier 80")):
            s = r["send_rate"]["runs"][key]
            rows.append((label, db, TARGETS["rate"],
                         f"{s['per_s']:,.1f}/s, most in any 1 s: {s['max_in_any_second']:,}",
                         f"tier {s['tier']:,}", f"{s['ratio_to_tier']:.3f}", _load(s)))
        rows.append(("  server refusals (130429)", db, "0",
                     f"{r['send_rate']['server_refused']} ({r['send_rate']['server_130429']})", "", "", ""))
        i = r["inbox"]
        rows.append(("webhook events processed/s, one worker", db, TARGETS["inbox_per_s"], f"{i['per_s']:,.0f}/s",
                     f"{i['baseline']['per_s']:,.0f}/s", f"{i['ratio']:.2f}", _load(i)))
        a = r["webhook_answer"]
        rows.append(("webhook answer time p50", db, "", f"{a['p50_ms']:.2f} ms", f"{a['baseline']['p50_ms']:.2f} ms",
                     "", _load(a)))
        rows.append(("webhook answer time p99", db, TARGETS["answer_p99_ms"], f"{a['p99_ms']:.2f} ms",
                     f"{a['baseline']['p99_ms']:.2f} ms", f"{a['ratio']:.2f}", _load(a)))
        lat = r["reply_latency"]
        rows.append(("inbound-to-reply latency p50", db, "", f"{lat['p50_ms']:.2f} ms", "", "", _load(lat)))
        rows.append(("inbound-to-reply latency p99", db, TARGETS["reply_p99_ms"], f"{lat['p99_ms']:.2f} ms", "", "",
                     _load(lat)))
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--quick", action="store_true", help="small sizes, for the smoke test")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "whatsapp.json")
    parser.add_argument("--post-webhooks", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.post_webhooks:
        client_main(args.post_webhooks)
        return
    import logging

    from voiceplatform.testing.redis import RedisServer

    logging.basicConfig(level=logging.WARNING)
    sizes = QUICK if args.quick else FULL
    kinds = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
    with tempfile.TemporaryDirectory(prefix="bench-whatsapp-") as folder, RedisServer() as redis_server:
        reports = [run(kind, sizes, redis_server.url, Path(folder)) for kind in kinds]
    print(table(reports))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"quick": args.quick, "sizes": sizes, "cpus": os.cpu_count(),
                                    "runs": reports}, indent=2) + "\n")


if __name__ == "__main__":
    main()
