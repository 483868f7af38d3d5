"""Sending queued webhook deliveries: ``deliver_due`` (run periodically by a worker) and
``redeliver`` (a manual retry).

One pass of ``deliver_due`` repeats, until ``limit`` sends or nothing is due:

1. **claim** (one short transaction): select up to ``CLAIM_BATCH`` pending deliveries that are
   due (``next_attempt_at <= now``) and whose subscription is active, oldest first
   (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so two workers never pick the same rows), and move
   each one's ``next_attempt_at`` to ``now + LEASE`` with a conditional UPDATE. Until the lease
   runs out no other worker sees the delivery as due; the lease time is also the claim's token.
   Commit.
2. **send**, outside any transaction: POST the signed JSON body, ``TIMEOUT`` seconds, through the
   outbound-HTTP policy (a refused destination is an error like a connection failure).
3. **record** (one short transaction per delivery): 2xx is ``delivered``; anything else (another
   status, a connection error, a timeout) adds an attempt and schedules the next one after
   ``backoff(attempts)``, or, at ``MAX_ATTEMPTS``, gives up (``failed``). The UPDATE only
   applies while the row still carries this claim's lease, so a worker whose lease ran out
   never overwrites a newer result.

Delivery is at least once: a worker that dies after a send but before recording it leaves the
lease to run out and the delivery is sent again. Receivers deduplicate on the delivery id
(``X-VoicePlatform-Delivery``, also ``id`` in the body). Order is not guaranteed.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from voiceplatform.db import rows_changed
from voiceplatform.exceptions import OutboundHttpError, VoicePlatformError
from voiceplatform.models import WebhookDelivery, WebhookSubscription
from voiceplatform.models.base import utcnow
from voiceplatform.safety import outbound_http
from voiceplatform.webhooks.signing import sign

MAX_ATTEMPTS = 12  # 10 s, 20 s, 40 s, ... 2560 s, then 1 h twice: about 3.4 hours of retries
BACKOFF_BASE = 10.0  # seconds before the second attempt
BACKOFF_CAP = 3600.0  # no wait is longer than an hour
JITTER = 0.1  # each wait is shortened by up to 10 %, so endpoints that fail together spread out
TIMEOUT = 5.0  # seconds, per request (socket connect and each read)
CLAIM_BATCH = 10  # deliveries claimed per transaction
LEASE = timedelta(seconds=CLAIM_BATCH * TIMEOUT + 30)  # a claimed batch must be sent within this
MAX_RESPONSE = 64 * 1024  # bytes of a response body read (and thrown away)
MAX_ERROR = 1000  # characters of an error kept in last_error
USER_AGENT = "voiceplatform-webhooks/1"

PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
STATUSES = (PENDING, DELIVERED, FAILED)

Post = Callable[[str, bytes, Mapping[str, str], float], int]
"""``post(url, body, headers, timeout) -> HTTP status``; raises ``PostError`` (or ``OSError``)
when no HTTP answer came back."""


class PostError(VoicePlatformError):
    """The endpoint could not be reached or did not answer with HTTP (refused, DNS, TLS, timeout)."""


class AlreadyPending(VoicePlatformError):
    """``redeliver`` of a delivery that is still pending (it is retried automatically)."""


def http_post(url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> int:
    """POST ``body`` to ``url`` under the outbound-HTTP policy (:mod:`voiceplatform.safety.outbound_http`:
    no loopback, private or link-local destination unless ``VOICEPLATFORM_OUTBOUND_ALLOW`` permits
    it) and return the status. Redirects are not followed: a 3xx is the endpoint's answer (a
    failure), not somewhere else to post."""
    try:
        response = outbound_http.request("POST", url, body=body, headers=headers, timeout=timeout,
                                         follow_redirects=False, max_response_bytes=MAX_RESPONSE)
    except OutboundHttpError as exc:
        raise PostError(str(exc)) from exc
    return response.status


@dataclass(frozen=True)
class DeliveryReport:
    attempted: int = 0  # requests sent
    delivered: int = 0  # answered 2xx
    retrying: int = 0  # failed and scheduled again
    failed: int = 0  # failed for the last time
    lost: int = 0  # sent, but the lease had run out and another worker owned the delivery by then
    released: int = 0  # claimed but not sent: too little of the lease was left


def backoff(attempts: int, rng: random.Random | None = None) -> timedelta:
    """The wait after the ``attempts``-th failed attempt: 10 s, 20 s, 40 s, ... capped at an hour,
    less up to ``JITTER`` of it."""
    base = min(BACKOFF_BASE * 2 ** max(attempts - 1, 0), BACKOFF_CAP)
    return timedelta(seconds=base * (1 - JITTER * (rng or random).random()))


def body_of(delivery_id: int, event: str, created_at: datetime, payload: Any) -> bytes:
    """The request body: ``{"id", "event", "created_at", "data"}`` as compact UTF-8 JSON."""
    document = {"id": delivery_id, "event": event, "created_at": created_at.isoformat(), "data": payload}
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


@dataclass(frozen=True)
class _Claim:
    id: int
    event: str
    payload: Any
    created_at: datetime
    attempts: int
    url: str
    secret: str
    lease: datetime


def deliver_due(sessions: sessionmaker[Session], *, now: datetime | None = None, post: Post | None = None,
                limit: int = 100) -> DeliveryReport:
    """Send up to ``limit`` due deliveries and record each result (see the module's docstring).
    ``now`` fixes the clock (tests); ``post`` replaces the HTTP client (tests)."""
    clock: Callable[[], datetime] = (lambda: now) if now is not None else utcnow
    send = post or http_post
    counts = dict.fromkeys(("attempted", "delivered", "retrying", "failed", "lost", "released"), 0)
    while counts["attempted"] + counts["released"] < limit:
        claims = _claim(sessions, clock(), min(CLAIM_BATCH, limit - counts["attempted"] - counts["released"]))
        if not claims:
            break
        for claim in claims:
            if clock() + timedelta(seconds=TIMEOUT * 2) > claim.lease:  # slow sends ate the lease
                _release(sessions, claim, clock())
                counts["released"] += 1
                continue
            status, error = _send(claim, send, clock())
            counts["attempted"] += 1
            counts[_record(sessions, claim, status, error, clock())] += 1
    return DeliveryReport(**counts)


def _claim(sessions: sessionmaker[Session], now: datetime, size: int) -> list[_Claim]:
    lease = now + LEASE
    claims = []
    with sessions.begin() as session:
        query = (
            select(WebhookDelivery.id, WebhookDelivery.event, WebhookDelivery.payload, WebhookDelivery.created_at,
                   WebhookDelivery.attempts, WebhookSubscription.url, WebhookSubscription.secret)
            .join(WebhookSubscription, WebhookSubscription.id == WebhookDelivery.subscription_id)
            .where(WebhookDelivery.status == PENDING, WebhookDelivery.next_attempt_at <= now,
                   WebhookSubscription.active.is_(True))
            .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
            .limit(size)
        )
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True, of=WebhookDelivery.__table__)
        for row in session.execute(query).all():
            # Conditional, so that on SQLite (no row locks; the SELECT above is not in the write
            # transaction) a row another worker claimed in between is not claimed twice.
            taken = rows_changed(session,
                update(WebhookDelivery)
                .where(WebhookDelivery.id == row.id, WebhookDelivery.status == PENDING,
                       WebhookDelivery.next_attempt_at <= now)
                .values(next_attempt_at=lease)
                .execution_options(synchronize_session=False)
            )
            if taken:
                claims.append(_Claim(row.id, row.event, row.payload, row.created_at, row.attempts, row.url,
                                     row.secret, lease))
    return claims


def _send(claim: _Claim, post: Post, now: datetime) -> tuple[int | None, str | None]:
    body = body_of(claim.id, claim.event, claim.created_at, claim.payload)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-VoicePlatform-Event": claim.event,
        "X-VoicePlatform-Delivery": str(claim.id),
        "X-VoicePlatform-Signature": sign(claim.secret, int(now.timestamp()), body),
    }
    try:
        status = post(claim.url, body, headers, TIMEOUT)
    except (PostError, OSError) as exc:
        return None, str(exc)[:MAX_ERROR] or type(exc).__name__
    return status, None if 200 <= status < 300 else f"HTTP {status}"


def _mine(claim: _Claim) -> Any:
    """The rows this claim still owns."""
    return (WebhookDelivery.id == claim.id, WebhookDelivery.status == PENDING,
            WebhookDelivery.next_attempt_at == claim.lease)


def _record(sessions: sessionmaker[Session], claim: _Claim, status: int | None, error: str | None,
            now: datetime) -> str:
    attempts = claim.attempts + 1
    values: dict[str, Any] = {"attempts": attempts, "last_status_code": status, "last_error": error}
    if error is None:
        outcome = "delivered"
        values.update(status=DELIVERED, delivered_at=now, next_attempt_at=None)
    elif attempts >= MAX_ATTEMPTS:
        outcome = "failed"
        values.update(status=FAILED, next_attempt_at=None)
    else:
        outcome = "retrying"
        values.update(next_attempt_at=now + backoff(attempts))
    with sessions.begin() as session:
        written = rows_changed(session,
            update(WebhookDelivery).where(*_mine(claim)).values(**values).execution_options(synchronize_session=False)
        )
    return outcome if written else "lost"


def _release(sessions: sessionmaker[Session], claim: _Claim, now: datetime) -> None:
    with sessions.begin() as session:
        session.execute(update(WebhookDelivery).where(*_mine(claim)).values(next_attempt_at=now)
                        .execution_options(synchronize_session=False))


def redeliver(session: Session, delivery: WebhookDelivery) -> WebhookDelivery:
    """Queue a delivered or failed delivery again, due now (a manual retry; the caller commits).
    ``attempts`` keeps counting, so a delivery that had given up gets one more attempt and is
    ``failed`` again if that fails too. Raises ``AlreadyPending`` for a pending delivery: it is
    retried anyway, and may be in flight."""
    changed = rows_changed(session,
        update(WebhookDelivery)
        .where(WebhookDelivery.id == delivery.id, WebhookDelivery.status.in_((DELIVERED, FAILED)))
        .values(status=PENDING, next_attempt_at=utcnow(), delivered_at=None)
        .execution_options(synchronize_session=False)
    )
    session.refresh(delivery)
    if not changed:
        raise AlreadyPending(f"delivery {delivery.id} is already pending")
    return delivery
