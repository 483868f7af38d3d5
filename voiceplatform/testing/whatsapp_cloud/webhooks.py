"""The webhook emitter: signed POSTs to the app's callback URL, delivered as Meta delivers them.

- **Signature**: ``X-Hub-Signature-256: sha256=<64 lowercase hex>``, HMAC-SHA256 keyed with the
  app secret over the exact bytes sent; the JSON is serialised with ``ensure_ascii=True``
  (Meta signs the escaped form: ``ä`` travels as ``\\u00e4``), compact separators.
- **Retries** on any answer but 200 and on timeouts, after each delay of ``retry_schedule``
  (compressed: Meta's real schedule spans a day or more).
- **Duplicates** (at-least-once delivery): a delivered POST is sent again, verbatim (same bytes)
  or re-batched (the same events in other POSTs).
- **Batching**: up to ``batch_max`` events collected for ``batch_window_seconds`` share a POST.
- **Shuffled statuses**: the statuses of one message leave in another order than they happened.
- **Early status**: the ``sent`` status is POSTed before the send call is answered.

Every POST and its attempts are recorded (:meth:`WebhookEmitter.deliveries`).
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import logging
import random
import time
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import gevent
import gevent.event
import gevent.lock
import httpx

from voiceplatform.testing.whatsapp_cloud.payloads import WebhookEvent, envelope

log = logging.getLogger(__name__)

DUPLICATE_STYLES = ("verbatim", "rebatched", "both")


@dataclass
class DeliverySettings:
    #: real seconds to wait before each retry; the POST is given up after the last one
    retry_schedule: list[float] = field(default_factory=lambda: [0.05, 0.1, 0.2, 0.4, 0.8])
    #: real seconds the receiver has to answer before the attempt counts as a timeout
    timeout_seconds: float = 5.0
    #: real seconds between a send's answer and its first status, and between its statuses
    status_delay_seconds: float = 0.01
    #: events per POST at most (1: no batching)
    batch_max: int = 1
    #: real seconds the emitter collects events for one batch
    batch_window_seconds: float = 0.05
    #: probability that a delivered POST is delivered again
    duplicates: float = 0.0
    duplicate_style: str = "verbatim"
    #: the statuses of one message leave in a different order than they happened
    shuffle_statuses: bool = False
    #: the ``sent`` status is POSTed (one attempt) before the send call is answered
    early_status: bool = False
    #: hold every event back until this is set to false again, then deliver them (batched if
    #: ``batch_max`` > 1): makes batches independent of timing in tests
    hold: bool = False
    #: POST concurrently (as Meta does) instead of one POST at a time in the order they were made
    parallel: bool = False
    #: seed of the random choices (duplicates, shuffles); None: a fresh one
    seed: int | None = None

    def update(self, changes: dict[str, Any]) -> None:
        """Apply ``changes`` (from a control call); unknown names or bad values raise ValueError."""
        names = {f.name for f in fields(self)}
        for name, value in changes.items():
            if name not in names:
                raise ValueError(f"unknown delivery setting {name!r}")
            if name == "retry_schedule":
                if not isinstance(value, list) or not all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                                          and 0 <= v <= 3600 for v in value):
                    raise ValueError("retry_schedule must be a list of seconds (0..3600)")
                value = [float(v) for v in value]
            elif name in ("shuffle_statuses", "early_status", "hold", "parallel"):
                if not isinstance(value, bool):
                    raise ValueError(f"{name} must be true or false")
            elif name == "duplicate_style":
                if value not in DUPLICATE_STYLES:
                    raise ValueError(f"duplicate_style must be one of {', '.join(DUPLICATE_STYLES)}")
            elif name == "seed":
                if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
                    raise ValueError("seed must be an integer or null")
            elif name == "batch_max":
                if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 1000:
                    raise ValueError("batch_max must be an integer 1..1000")
            else:
                if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
                    raise ValueError(f"{name} must be a non-negative number")
                if name == "duplicates" and value > 1:
                    raise ValueError("duplicates is a probability (0..1)")
                value = float(value)
            setattr(self, name, value)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def serialise(payload: dict[str, Any]) -> bytes:
    """The bytes Meta would send: escaped non-ASCII, compact."""
    return json.dumps(payload, ensure_ascii=True, separators=(",", ":")).encode("ascii")


def signature(app_secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(app_secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


@dataclass
class Attempt:
    at: float
    status_code: int | None
    error: str | None
    response_body: str


@dataclass
class Delivery:
    id: int
    body: bytes
    events: list[WebhookEvent]
    kind: str = "original"  # "original" | "duplicate-verbatim" | "duplicate-rebatched" | "early"
    attempts: list[Attempt] = field(default_factory=list)
    state: str = "pending"  # "pending" | "delivered" | "retrying" | "gave_up" | "no_receiver"

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "state": self.state, "events": len(self.events),
                "body": self.body.decode("ascii"), "attempts": [asdict(a) for a in self.attempts]}


class WebhookEmitter:
    def __init__(self, url: str | None, app_secret: str, settings: DeliverySettings | None = None) -> None:
        self.url = url
        self.app_secret = app_secret
        self.settings = settings or DeliverySettings()
        self._rng = random.Random(self.settings.seed)
        self._ids = itertools.count(1)
        self._deliveries: list[Delivery] = []
        #: events already delivered twice (by id, holding them so the ids stay theirs)
        self._duplicated: dict[int, WebhookEvent] = {}
        self._pending: list[WebhookEvent] = []
        self._flusher: gevent.Greenlet | None = None
        self._greenlets: set[gevent.Greenlet] = set()
        self._busy = 0
        self._generation = 0
        self._idle = gevent.event.Event()
        self._idle.set()
        self._post_lock = gevent.lock.Semaphore(1)
        self._client = httpx.Client(timeout=self.settings.timeout_seconds, trust_env=False)

    # ------------------------------------------------------------ bookkeeping
    def reseed(self) -> None:
        self._rng = random.Random(self.settings.seed)

    def _work_started(self) -> int:
        self._busy += 1
        self._idle.clear()
        return self._generation

    def _work_done(self, generation: int) -> None:
        if generation == self._generation:  # work from before a reset is no longer counted
            self._busy -= 1
            if self._busy == 0:
                self._idle.set()

    def _spawn_later(self, delay: float, func: Any, *args: Any) -> None:
        generation = self._work_started()

        def run() -> None:
            try:
                func(*args)
            except Exception:  # a delivery bug must not kill the server: record and go on
                log.exception("webhook delivery failed")
            finally:
                self._work_done(generation)

        greenlet = gevent.spawn_later(delay, run)
        self._greenlets.add(greenlet)
        greenlet.link(self._greenlets.discard)

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until nothing is scheduled, pending or being retried. True if so in time."""
        return bool(self._idle.wait(timeout))

    def held(self) -> int:
        """Events waiting for a batch or held back by :attr:`DeliverySettings.hold`."""
        return len(self._pending)

    def deliveries(self) -> list[Delivery]:
        return list(self._deliveries)

    def reset(self) -> None:
        self._generation += 1
        for greenlet in list(self._greenlets):
            greenlet.kill(block=False)
        self._greenlets.clear()
        self._pending.clear()
        self._flusher = None
        self._busy = 0
        self._idle.set()
        self._deliveries.clear()
        self._duplicated.clear()
        self.reseed()

    def close(self) -> None:
        self.reset()
        self._client.close()

    # ------------------------------------------------------------ emitting
    def emit(self, events: list[WebhookEvent], *, spacing: float | None = None) -> None:
        """Send ``events`` (one message's statuses, say) in order, ``spacing`` real seconds apart
        (default: the status delay), each after the first delay; shuffled if so set."""
        gap = self.settings.status_delay_seconds if spacing is None else spacing
        ordered = list(events)
        if self.settings.shuffle_statuses and len(ordered) > 1:
            original = list(ordered)
            self._rng.shuffle(ordered)
            if ordered == original:
                ordered[0], ordered[1] = ordered[1], ordered[0]
        for i, event in enumerate(ordered):
            self._spawn_later(gap * (i + 1), self._enqueue, event)

    def emit_now(self, event: WebhookEvent) -> Delivery:
        """POST ``event`` at once in this greenlet (one attempt; retries go on in the background)."""
        delivery = self._new_delivery([event], kind="early")
        # not behind the other POSTs: the receiver may be waiting for this very send call
        # inside its handler of an earlier webhook
        self._attempt(delivery, 0, queued=False)
        return delivery

    def release(self) -> None:
        """Deliver what :attr:`DeliverySettings.hold` held back (no-op while still holding)."""
        if not self.settings.hold:
            self._start_flusher(delay=0.0)

    def _enqueue(self, event: WebhookEvent) -> None:
        if self.settings.hold:
            self._pending.append(event)
            return
        if self.settings.batch_max <= 1:
            self._start(self._new_delivery([event]))
            return
        self._pending.append(event)
        self._start_flusher()

    def _start_flusher(self, delay: float | None = None) -> None:
        if self._flusher is None and self._pending and not self.settings.hold:
            wait = self.settings.batch_window_seconds if delay is None else delay
            self._flusher = gevent.spawn_later(wait, self._flush, self._work_started())
            self._greenlets.add(self._flusher)
            self._flusher.link(self._greenlets.discard)

    def _flush(self, generation: int) -> None:
        try:
            while self._pending:
                batch, self._pending = self._pending[:self.settings.batch_max], self._pending[self.settings.batch_max:]
                if self.settings.shuffle_statuses and len(batch) > 1:
                    self._rng.shuffle(batch)
                again = all(id(e) in self._duplicated for e in batch)
                self._start(self._new_delivery(batch, "duplicate-rebatched" if again else "original"))
        finally:
            self._flusher = None
            self._work_done(generation)

    def _new_delivery(self, events: list[WebhookEvent], kind: str = "original", body: bytes | None = None) -> Delivery:
        delivery = Delivery(next(self._ids), body if body is not None else serialise(envelope(events)), events, kind)
        self._deliveries.append(delivery)
        return delivery

    def _start(self, delivery: Delivery) -> None:
        self._spawn_later(0, self._attempt, delivery, 0)

    # ------------------------------------------------------------ posting
    def _attempt(self, delivery: Delivery, number: int, queued: bool = True) -> None:
        if self.url is None:
            delivery.state = "no_receiver"
            return
        headers = {"Content-Type": "application/json", "User-Agent": "facebookexternalua",
                   "X-Hub-Signature-256": signature(self.app_secret, delivery.body),
                   "X-Hub-Signature": "sha1=" + hmac.new(self.app_secret.encode("utf-8"), delivery.body,
                                                         hashlib.sha1).hexdigest()}
        status_code: int | None = None
        error: str | None = None
        text = ""
        lock = None if self.settings.parallel or not queued else self._post_lock
        if lock is not None:
            lock.acquire()
        try:
            response = self._client.post(self.url, content=delivery.body, headers=headers,
                                         timeout=self.settings.timeout_seconds)
            status_code = response.status_code
            text = response.text[:500]
        except httpx.TimeoutException as exc:
            error = f"timeout: {exc.__class__.__name__}"
        except httpx.HTTPError as exc:
            error = f"{exc.__class__.__name__}: {exc}"
        finally:
            if lock is not None:
                lock.release()
        delivery.attempts.append(Attempt(time.time(), status_code, error, text))
        if status_code == 200:
            delivery.state = "delivered"
            self._maybe_duplicate(delivery)
            return
        if number >= len(self.settings.retry_schedule):
            delivery.state = "gave_up"
            return
        delivery.state = "retrying"
        self._spawn_later(self.settings.retry_schedule[number], self._attempt, delivery, number + 1)

    def _maybe_duplicate(self, delivery: Delivery) -> None:
        if delivery.kind.startswith("duplicate") or self.settings.duplicates <= 0:
            return
        fresh = [e for e in delivery.events if id(e) not in self._duplicated]
        if not fresh or self._rng.random() >= self.settings.duplicates:
            return
        self._duplicated.update((id(e), e) for e in fresh)
        style = self.settings.duplicate_style
        if style == "both":
            style = self._rng.choice(("verbatim", "rebatched"))
        if style == "verbatim" or len(fresh) == 1 and self.settings.batch_max <= 1:
            self._start(self._new_delivery(delivery.events, "duplicate-verbatim", delivery.body))
            return
        if len(fresh) > 1:  # the same events again, each in a POST of its own
            for event in fresh:
                self._start(self._new_delivery([event], "duplicate-rebatched"))
            return
        self._pending.append(fresh[0])  # batched with whatever comes next
        self._start_flusher()
