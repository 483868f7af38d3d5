"""deliver_due() against a real local HTTP endpoint that checks signatures, the retry schedule with
an injected clock, giving up, manual redelivery, held deliveries of inactive subscriptions, and
no delivery sent twice at once (nested and concurrent workers; row locks on PostgreSQL)."""

from __future__ import annotations

import json
import random
import socket
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

import gevent
import pytest
from sqlalchemy import Engine, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from tests.webhooks.conftest import SECRET, Receiver, new_account, subscribe
from voiceplatform.models import WebhookDelivery
from voiceplatform.models.base import utcnow
from voiceplatform.webhooks import MAX_ATTEMPTS, AlreadyPending, backoff, deliver_due, emit, redeliver, verify
from voiceplatform.webhooks.delivery import BACKOFF_CAP, LEASE, Post, PostError, http_post


def queue(sessions: sessionmaker[Session], url: str, count: int = 1, event: str = "call.ended") -> list[int]:
    """``count`` pending deliveries to a new subscription at ``url``; their ids."""
    account = new_account(sessions)
    subscription = subscribe(sessions, account, ["*"], url=url)
    with sessions.begin() as session:
        for index in range(count):
            emit(session, account, event, {"call_id": f"call-{index}", "outcome": "answered"})
    with sessions() as session:
        return list(session.scalars(select(WebhookDelivery.id).where(WebhookDelivery.subscription_id == subscription)
                                    .order_by(WebhookDelivery.id)))


def load(sessions: sessionmaker[Session], delivery_id: int) -> WebhookDelivery:
    with sessions() as session:
        row = session.get(WebhookDelivery, delivery_id)
        assert row is not None
        return row


def always(status: int, sent: list[str] | None = None) -> Post:
    def post(url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> int:
        if sent is not None:
            sent.append(headers["X-VoicePlatform-Delivery"])
        return status

    return post


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# ---- the request ----


def test_a_signed_json_post_to_a_real_endpoint(sessions: sessionmaker[Session], receiver: Receiver) -> None:
    [delivery_id] = queue(sessions, receiver.url)
    report = deliver_due(sessions)
    assert (report.attempted, report.delivered) == (1, 1)
    [request] = receiver.requests
    assert request["signed"], "the endpoint could not verify the signature"
    assert verify(SECRET, request["headers"]["X-Voiceplatform-Signature"], request["body"])
    assert request["method"] == "POST" and request["path"] == "/hooks"
    headers = request["headers"]
    assert headers["Content-Type"] == "application/json"
    assert headers["X-Voiceplatform-Event"] == "call.ended"
    assert headers["X-Voiceplatform-Delivery"] == str(delivery_id)
    row = load(sessions, delivery_id)
    assert request["json"] == {"id": delivery_id, "event": "call.ended", "created_at": row.created_at.isoformat(),
                               "data": {"call_id": "call-0", "outcome": "answered"}}
    assert (row.status, row.attempts, row.last_status_code, row.last_error) == ("delivered", 1, 200, None)
    assert row.delivered_at is not None and row.next_attempt_at is None
    assert deliver_due(sessions).attempted == 0  # delivered once, never again


def test_an_endpoint_with_another_secret_refuses_and_it_counts_as_a_failure(sessions: sessionmaker[Session],
                                                                           allow_local_outbound: None) -> None:
    endpoint = Receiver(secret="not-the-subscription-secret")
    endpoint.server.start()
    try:
        [delivery_id] = queue(sessions, endpoint.url)
        assert deliver_due(sessions).retrying == 1
    finally:
        endpoint.server.stop()
    assert not endpoint.requests[0]["signed"]
    assert load(sessions, delivery_id).last_status_code == 401


def test_the_http_client_times_out_and_reports_answers(allow_local_outbound: None) -> None:
    from gevent.pywsgi import WSGIServer

    def app(environ: dict[str, object], start_response: Callable[..., object]) -> list[bytes]:
        if environ["PATH_INFO"] == "/slow":
            gevent.sleep(2)
        start_response("418 Teapot" if environ["PATH_INFO"] == "/teapot" else "200 OK", [])
        return [b"x" * 100_000]

    server = WSGIServer(("127.0.0.1", 0), app, log=None)
    server.start()
    try:
        base = f"http://127.0.0.1:{server.server_port}"
        assert http_post(f"{base}/ok", b"{}", {"Content-Type": "application/json"}, 2) == 200
        assert http_post(f"{base}/teapot", b"{}", {}, 2) == 418
        with pytest.raises(PostError, match="timed out"):
            http_post(f"{base}/slow", b"{}", {}, 0.2)
        with pytest.raises(PostError):
            http_post("http://no-such-host.invalid/x", b"{}", {}, 2)
    finally:
        server.stop()


# ---- retries ----


def test_a_500_is_retried_after_the_backoff_then_delivered(sessions: sessionmaker[Session], receiver: Receiver) -> None:
    [delivery_id] = queue(sessions, receiver.url)
    t0 = utcnow() + timedelta(minutes=1)
    receiver.statuses = [500, 200]
    receiver.verify_at = t0
    report = deliver_due(sessions, now=t0)
    assert (report.attempted, report.retrying, report.delivered) == (1, 1, 0)
    row = load(sessions, delivery_id)
    assert (row.status, row.attempts, row.last_status_code, row.last_error) == ("pending", 1, 500, "HTTP 500")
    assert t0 + timedelta(seconds=9) <= row.next_attempt_at <= t0 + timedelta(seconds=10)

    assert deliver_due(sessions, now=t0 + timedelta(seconds=8)).attempted == 0  # not due yet
    later = t0 + timedelta(seconds=10)
    receiver.verify_at = later
    assert deliver_due(sessions, now=later).delivered == 1
    row = load(sessions, delivery_id)
    assert (row.status, row.attempts, row.last_status_code, row.last_error, row.delivered_at) == (
        "delivered", 2, 200, None, later)
    assert [request["json"]["id"] for request in receiver.requests] == [delivery_id, delivery_id]
    assert all(request["signed"] for request in receiver.requests)


def test_a_refused_connection_is_retried(sessions: sessionmaker[Session], allow_local_outbound: None) -> None:
    port = closed_port()
    [delivery_id] = queue(sessions, f"http://127.0.0.1:{port}/hooks")
    assert deliver_due(sessions).retrying == 1
    row = load(sessions, delivery_id)
    assert (row.status, row.attempts, row.last_status_code) == ("pending", 1, None)
    assert row.last_error == f"could not connect to 127.0.0.1:{port}"  # closed, filtered, unreachable: alike


def test_redirects_are_not_followed(sessions: sessionmaker[Session], receiver: Receiver) -> None:
    [delivery_id] = queue(sessions, receiver.url)
    receiver.statuses = [302, 200]
    assert deliver_due(sessions).retrying == 1
    assert len(receiver.requests) == 1 and load(sessions, delivery_id).last_status_code == 302


def test_the_schedule_doubles_is_capped_and_gives_up(sessions: sessionmaker[Session]) -> None:
    [delivery_id] = queue(sessions, "https://hooks.example.com/down")
    now = utcnow()
    waits = []
    for attempt in range(1, MAX_ATTEMPTS + 1):
        report = deliver_due(sessions, now=now, post=always(503))
        row = load(sessions, delivery_id)
        assert report.attempted == 1 and row.attempts == attempt
        if attempt < MAX_ATTEMPTS:
            assert row.status == "pending" and report.retrying == 1
            waits.append((row.next_attempt_at - now).total_seconds())
            now = row.next_attempt_at
    assert report.failed == 1 and (row.status, row.next_attempt_at, row.last_status_code) == ("failed", None, 503)
    for attempt, wait in enumerate(waits, start=1):
        base = min(10 * 2 ** (attempt - 1), 3600)
        assert 0.9 * base <= wait <= base, (attempt, wait)
    assert max(waits) <= BACKOFF_CAP
    assert deliver_due(sessions, now=now + timedelta(days=30), post=always(200)).attempted == 0


def test_backoff_values() -> None:
    top = random.Random(0)
    top.random = lambda: 0.0  # type: ignore[method-assign]
    assert [backoff(n, top).total_seconds() for n in (1, 2, 3, 4, 9, 10, 30)] == [10, 20, 40, 80, 2560, 3600, 3600]
    low = random.Random(0)
    low.random = lambda: 0.999999  # type: ignore[method-assign]
    assert 9.0 <= backoff(1, low).total_seconds() < 9.01
    spread = {backoff(3).total_seconds() for _ in range(20)}
    assert len(spread) > 1 and all(36 <= wait <= 40 for wait in spread)


def test_redeliver_a_failed_or_delivered_delivery(sessions: sessionmaker[Session]) -> None:
    failed, done = queue(sessions, "https://hooks.example.com/x", count=2)
    with sessions.begin() as session:
        session.execute(update(WebhookDelivery).where(WebhookDelivery.id == failed)
                        .values(status="failed", attempts=MAX_ATTEMPTS, next_attempt_at=None))
        session.execute(update(WebhookDelivery).where(WebhookDelivery.id == done)
                        .values(status="delivered", attempts=1, next_attempt_at=None, delivered_at=utcnow()))
    with sessions.begin() as session:
        for delivery_id in (failed, done):
            row = redeliver(session, session.get(WebhookDelivery, delivery_id))
            assert row.status == "pending" and row.delivered_at is None and row.next_attempt_at <= utcnow()
        with pytest.raises(AlreadyPending):
            redeliver(session, session.get(WebhookDelivery, failed))
    assert load(sessions, failed).attempts == MAX_ATTEMPTS  # kept: one more try, then failed again
    sent: list[str] = []
    report = deliver_due(sessions, post=always(500, sent))
    assert sorted(sent) == sorted([str(failed), str(done)])
    assert (report.failed, report.retrying) == (1, 1)
    assert load(sessions, failed).status == "failed"


def test_deliveries_of_an_inactive_subscription_wait_for_it(sessions: sessionmaker[Session]) -> None:
    from voiceplatform.models import WebhookSubscription

    [delivery_id] = queue(sessions, "https://hooks.example.com/paused")
    subscription_id = load(sessions, delivery_id).subscription_id
    with sessions.begin() as session:
        session.get(WebhookSubscription, subscription_id).active = False
    assert deliver_due(sessions, post=always(200)).attempted == 0
    assert load(sessions, delivery_id).status == "pending"
    with sessions.begin() as session:
        session.get(WebhookSubscription, subscription_id).active = True
    assert deliver_due(sessions, post=always(200)).delivered == 1


def test_limit_and_oldest_first(sessions: sessionmaker[Session]) -> None:
    ids = queue(sessions, "https://hooks.example.com/many", count=25)
    with sessions.begin() as session:  # make the last one the most overdue
        session.execute(update(WebhookDelivery).where(WebhookDelivery.id == ids[-1])
                        .values(next_attempt_at=utcnow() - timedelta(hours=1)))
    sent: list[str] = []
    assert deliver_due(sessions, post=always(200, sent), limit=12).attempted == 12
    assert sent[0] == str(ids[-1]) and [int(s) for s in sent[1:]] == ids[:11]
    assert deliver_due(sessions, post=always(200, sent)).attempted == 13
    assert sorted(map(int, sent)) == ids


# ---- never twice at once ----


def test_a_delivery_in_flight_is_not_sent_by_another_worker_and_no_lock_is_held(sessions: sessionmaker[Session]) -> None:
    """While worker A waits on the endpoint, worker B runs: B must find nothing due (A's lease) and
    must be able to write (A holds no transaction during the HTTP request)."""
    ids = queue(sessions, "https://hooks.example.com/slow", count=3)
    inner_reports = []

    def slow(url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> int:
        inner_reports.append(deliver_due(sessions, post=always(200)))
        with sessions.begin() as session:  # a write succeeds at once: no lock held by worker A
            session.execute(text("UPDATE webhook_deliveries SET last_error = NULL WHERE id = -1"))
        return 200

    report = deliver_due(sessions, post=slow)
    assert (report.attempted, report.delivered) == (3, 3)
    assert [inner.attempted for inner in inner_reports] == [0, 0, 0]
    assert all(load(sessions, delivery_id).attempts == 1 for delivery_id in ids)


def test_a_result_is_not_recorded_over_a_newer_claim(sessions: sessionmaker[Session]) -> None:
    """If A's lease ran out and B re-claimed the delivery, A's late result is dropped ("lost")."""
    [delivery_id] = queue(sessions, "https://hooks.example.com/late")
    stolen = utcnow() + timedelta(minutes=5)

    def reclaimed_meanwhile(url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> int:
        with sessions.begin() as session:
            session.execute(update(WebhookDelivery).where(WebhookDelivery.id == delivery_id).values(next_attempt_at=stolen))
        return 500

    report = deliver_due(sessions, post=reclaimed_meanwhile)
    assert (report.attempted, report.lost, report.retrying) == (1, 1, 0)
    row = load(sessions, delivery_id)
    assert (row.attempts, row.last_status_code, row.next_attempt_at) == (0, None, stolen)


def test_a_claimed_delivery_comes_back_when_the_lease_runs_out(sessions: sessionmaker[Session]) -> None:
    """A worker that dies after claiming: the delivery is due again after LEASE (at least once)."""
    [delivery_id] = queue(sessions, "https://hooks.example.com/crash")
    now = utcnow() + timedelta(seconds=1)

    def crash(url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> int:
        raise KeyboardInterrupt  # not an error deliver_due handles: the worker dies

    with pytest.raises(KeyboardInterrupt):
        deliver_due(sessions, now=now, post=crash)
    assert load(sessions, delivery_id).next_attempt_at == now + LEASE
    assert deliver_due(sessions, now=now + LEASE - timedelta(seconds=1), post=always(200)).attempted == 0
    assert deliver_due(sessions, now=now + LEASE, post=always(200)).delivered == 1


def test_two_workers_at_once_send_each_delivery_once(sessions: sessionmaker[Session]) -> None:
    ids = queue(sessions, "https://hooks.example.com/busy", count=40)
    sent: Counter[int] = Counter()
    by_worker: dict[str, int] = Counter()

    def worker(name: str) -> object:
        def post(url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> int:
            sent[json.loads(body)["id"]] += 1
            by_worker[name] += 1
            gevent.sleep(0.001)  # the request takes a while: the other worker runs
            return 200

        return deliver_due(sessions, post=post)

    workers = [gevent.spawn(worker, "a"), gevent.spawn(worker, "b")]
    gevent.joinall(workers, timeout=60, raise_error=True)
    assert sum(w.value.delivered for w in workers) == 40
    assert sorted(sent) == ids and set(sent.values()) == {1}
    assert by_worker["a"] > 0 and by_worker["b"] > 0, by_worker


def test_postgresql_skips_rows_locked_by_another_worker(sessions: sessionmaker[Session], engine: Engine) -> None:
    """A worker mid-claim holds row locks; another worker skips those rows instead of waiting."""
    if engine.dialect.name != "postgresql":
        pytest.skip("row locks (FOR UPDATE SKIP LOCKED) are PostgreSQL's; SQLite serialises writers")
    ids = queue(sessions, "https://hooks.example.com/locked", count=4)
    sent: list[str] = []
    with engine.connect() as holder:
        holder.execute(text("SELECT id FROM webhook_deliveries WHERE id IN (:a, :b) FOR UPDATE"), {"a": ids[0], "b": ids[2]})
        with gevent.Timeout(20):
            report = deliver_due(sessions, post=always(200, sent))
        holder.rollback()
    assert sorted(map(int, sent)) == [ids[1], ids[3]] and report.delivered == 2
    assert deliver_due(sessions, post=always(200, sent)).delivered == 2
    assert sorted(map(int, sent)) == ids
