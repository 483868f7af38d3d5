"""A gateway that drops the bind under its submits (the handset network in this process, no
database): the submits in flight are unanswered (``unknown``); until a bind accepts a submit
again, each bind starts with a window of one that grows with each accepted answer
(sms_bridge.window), and one that took nothing before it was dropped counts as a failed bind for
the backoff. Found by the RabbitMQ
fault: Jasmin without its broker binds, then drops the connection at the first submit, and the
bridge pushed a full window of 50 into each of 21 such binds (535 of 1,000 messages unknown)."""

from __future__ import annotations

from pathlib import Path

import gevent
import pytest

from tests.sms_bridge.test_esme import Handler, network, request, route_to  # noqa: F401  (the fixture)
from voiceplatform.lab.polling import poll
from voiceplatform.smsc.handset_network.numbers import HANDSET_NUMBERS
from voiceplatform.smsc.handset_network.server import HandsetNetwork

from sms_bridge.binds import BindPool
from sms_bridge.config import BridgeSettings
from sms_bridge.esme import SubmitRequest, SubmitUnanswered
from sms_bridge.window import Window


def _outcome(pool: BindPool, submit: SubmitRequest) -> object:
    """The submit's answer, or the exception it raised (kept, not printed by gevent)."""
    try:
        return pool.submit(submit)
    except SubmitUnanswered as exc:
        return exc


def test_the_window_starts_small_and_grows_to_its_size() -> None:
    window = Window(3, start=1)
    with window:
        taken = gevent.spawn(window.__enter__)
        gevent.sleep(0.01)
        assert not taken.ready()  # room for one only
        window.grow()
        assert taken.join(1) is None and taken.successful()
    window.__exit__(None, None, None)
    for _ in range(5):
        window.grow()
    assert (window.room, window.size) == (3, 3)
    assert Window(50).room == 50 and Window(50, start=None).room == 50


def test_after_a_bind_dropped_under_its_submits_the_next_starts_with_one(network: HandsetNetwork,  # noqa: F811
                                                                          tmp_path: Path) -> None:
    route = route_to(network.address, window=5)
    settings = BridgeSettings(route=route, reconnect_min=0.05, reconnect_max=0.4, response_timeout=30)
    pool = BindPool(route, settings, Handler()).start()
    try:
        assert pool.wait_bound(timeout=5)
        first = pool.binds[0]
        assert first is not None and first.window.room == 5
        silent = [gevent.spawn(_outcome, pool, request(HANDSET_NUMBERS["no-response"], f"lost {i}")) for i in range(3)]
        assert poll(lambda: True if first.outstanding == 3 else None, 5)
        for session in list(network.sessions):
            session.sock.close()  # the gateway drops the connection under the three submits
        gevent.joinall(silent, timeout=5)
        assert all(isinstance(greenlet.value, SubmitUnanswered) for greenlet in silent)
        assert first.unanswered_at_close == 3 and first.accepted == 0
        assert pool.wait_bound(timeout=5)
        second = pool.binds[0]
        assert second is not None and second is not first
        assert pool.bind_failures == 1  # bound, yet took nothing: counted as a failed bind
        assert second.window.room == 1
        for session in list(network.sessions):
            session.sock.close()  # dropped again, before it accepted anything: still suspect
        assert poll(lambda: True if pool.binds[0] not in (None, second) else None, 5)
        third = pool.binds[0]
        assert third is not None and third.window.room == 1 and pool.bind_failures == 2
        for _ in range(3):
            assert pool.submit(request(HANDSET_NUMBERS["delivered"])).accepted
        assert third.window.room == 4 and third.accepted == 3
        for session in list(network.sessions):
            session.sock.close()  # a bind that took submits: the route is trusted again
        assert poll(lambda: True if pool.binds[0] not in (None, third) else None, 5)
        fourth = pool.binds[0]
        assert fourth is not None and fourth.window.room == 5 and pool.bind_failures == 2
    finally:
        pool.stop()


@pytest.mark.parametrize("dropped_after", ["an accepted answer", "nothing in flight"])
def test_a_bind_dropped_otherwise_is_followed_by_a_full_window(network: HandsetNetwork,  # noqa: F811
                                                               dropped_after: str) -> None:
    route = route_to(network.address, window=5)
    pool = BindPool(route, BridgeSettings(route=route, reconnect_min=0.05), Handler()).start()
    try:
        assert pool.wait_bound(timeout=5)
        first = pool.binds[0]
        assert first is not None
        if dropped_after == "an accepted answer":
            assert pool.submit(request(HANDSET_NUMBERS["delivered"])).accepted
        for session in list(network.sessions):
            session.sock.close()
        assert poll(lambda: True if pool.binds[0] not in (None, first) else None, 5)
        second = pool.binds[0]
        assert second is not None and second.window.room == 5 and pool.bind_failures == 0
    finally:
        pool.stop()
