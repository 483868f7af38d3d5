"""Switch capacity leases and campaign locks, on Redis and in process (the ``backend`` fixture).

Expiry is checked only after waiting longer than the TTL (a lower bound, so never early); "still
held" is checked with at least 0.3 s of margin before the TTL ends."""

from __future__ import annotations

import uuid

import gevent
import pytest
from gevent.event import Event
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.retry import Retry

from tests.dialer.conftest import LocalBackend, RedisBackend
from voiceplatform.dialer.leases import (
    CampaignLock,
    LocalCampaignLock,
    LocalSwitchSlots,
    RedisCampaignLock,
    RedisSwitchSlots,
    SwitchSlots,
    lock_key,
    slots_key,
)
from voiceplatform.exceptions import QueueBackendError, VoicePlatformError
from voiceplatform.testing.redis import RedisServer

Backend = RedisBackend | LocalBackend


def race(count: int, attempt) -> list[bool]:
    """Run ``attempt(i)`` in ``count`` greenlets released at the same moment; their results."""
    start = Event()

    def one(i: int) -> bool:
        start.wait()
        return attempt(i)

    greenlets = [gevent.spawn(one, i) for i in range(count)]
    gevent.sleep(0)  # every greenlet now waits on the event
    start.set()
    gevent.joinall(greenlets, raise_error=True)
    return [g.value for g in greenlets]


# ---- switch slots ----


def test_both_backends_implement_the_interfaces(backend: Backend) -> None:
    assert isinstance(backend.slots("sw", 1), SwitchSlots)
    assert isinstance(backend.lock("campaign", "a"), CampaignLock)


def test_capacity_is_respected_under_concurrency(backend: Backend) -> None:
    slots = backend.slots("sw1", capacity=10)

    granted = race(50, lambda i: slots.acquire(f"call-{i}"))

    assert sum(granted) == 10
    assert slots.in_use() == 10


def test_instances_for_one_switch_share_its_slots(backend: Backend) -> None:
    worker_a, worker_b = backend.slots("sw1", capacity=2), backend.slots("sw1", capacity=2)
    other_switch = backend.slots("sw2", capacity=2)

    assert worker_a.acquire("a1") and worker_b.acquire("b1")
    assert not worker_a.acquire("a2")
    assert not worker_b.acquire("b2")
    assert other_switch.acquire("c1")
    assert (worker_a.in_use(), worker_b.in_use(), other_switch.in_use()) == (2, 2, 1)


def test_acquiring_again_for_the_same_call_keeps_its_slot(backend: Backend) -> None:
    slots = backend.slots("sw1", capacity=1)

    assert slots.acquire("call-1")
    assert slots.acquire("call-1")
    assert not slots.acquire("call-2")
    assert slots.in_use() == 1


def test_zero_capacity_grants_nothing(backend: Backend) -> None:
    slots = backend.slots("sw1", capacity=0)

    assert not slots.acquire("call-1")
    assert slots.in_use() == 0


def test_release_frees_a_slot(backend: Backend) -> None:
    slots = backend.slots("sw1", capacity=2)
    assert slots.acquire("call-1") and slots.acquire("call-2")
    assert not slots.acquire("call-3")

    slots.release("call-1")
    slots.release("never-held")  # a no-op

    assert slots.in_use() == 1
    assert slots.acquire("call-3")
    assert not slots.acquire("call-4")


def test_a_dead_workers_slots_expire(backend: Backend) -> None:
    dead_worker = backend.slots("sw1", capacity=2, ttl=0.5)
    assert dead_worker.acquire("call-1") and dead_worker.acquire("call-2")
    live_worker = backend.slots("sw1", capacity=2, ttl=0.5)
    assert not live_worker.acquire("call-3")

    backend.advance(0.6)  # the dead worker never renews

    assert live_worker.in_use() == 0
    assert live_worker.acquire("call-3")


def test_renew_keeps_the_slots_of_live_calls(backend: Backend) -> None:
    slots = backend.slots("sw1", capacity=2, ttl=0.8)
    assert slots.acquire("live") and slots.acquire("ended-without-release")

    backend.advance(0.5)
    slots.renew(["live"])
    backend.advance(0.5)  # 1.0 s after the acquire, 0.5 s after the renew

    assert slots.in_use() == 1  # "live" is kept, the other one expired
    assert slots.acquire("new")
    assert not slots.acquire("one-too-many")


def test_renew_adds_back_a_vanished_live_call_even_beyond_capacity(backend: Backend) -> None:
    slots = backend.slots("sw1", capacity=1, ttl=0.5)
    assert slots.acquire("stalled")
    backend.advance(0.6)  # its worker stalled past the TTL...
    assert slots.acquire("newcomer")  # ...and the slot was taken

    slots.renew(["stalled"])  # but the call is really live

    assert slots.in_use() == 2
    assert not slots.acquire("one-too-many")
    slots.release("newcomer")
    assert not slots.acquire("one-too-many")  # still at capacity with the live call
    slots.release("stalled")
    assert slots.acquire("one-too-many")


def test_renew_of_no_calls_is_a_no_op(backend: Backend) -> None:
    slots = backend.slots("sw1", capacity=1)

    slots.renew([])

    assert slots.in_use() == 0


# ---- campaign locks ----


def test_a_lock_excludes_another_owner(backend: Backend) -> None:
    a, b = backend.lock("campaign-7", "owner-a"), backend.lock("campaign-7", "owner-b")

    assert a.acquire()
    assert not b.acquire()
    assert a.acquire()  # already ours: extended
    assert a.held and not b.held
    assert not b.renew()
    assert a.renew()
    assert backend.lock("campaign-8", "owner-b").acquire()  # another campaign


def test_one_owner_wins_a_race_for_a_lock(backend: Backend) -> None:
    locks = [backend.lock("campaign-7", f"owner-{i}") for i in range(20)]

    won = race(20, lambda i: locks[i].acquire())

    assert sum(won) == 1
    assert [lock.held for lock in locks] == won


def test_release_lets_another_owner_take_the_lock(backend: Backend) -> None:
    a, b = backend.lock("campaign-7", "owner-a"), backend.lock("campaign-7", "owner-b")
    assert a.acquire()

    a.release()

    assert not a.held
    assert b.acquire()


def test_release_never_deletes_someone_elses_lock(backend: Backend) -> None:
    a, b = backend.lock("campaign-7", "owner-a"), backend.lock("campaign-7", "owner-b")
    assert a.acquire()

    b.release()

    # Asked before a renews (a renew would take a vanished lock back and hide a wrong delete).
    assert not backend.lock("campaign-7", "owner-c").acquire()
    assert not b.acquire()
    assert a.held and a.renew()


def test_an_expired_lock_goes_to_another_owner_and_the_old_one_learns_it(backend: Backend) -> None:
    a, b = backend.lock("campaign-7", "owner-a", ttl=0.5), backend.lock("campaign-7", "owner-b", ttl=0.5)
    assert a.acquire()

    backend.advance(0.6)  # a stalls past its TTL

    assert not a.held  # a knows by its own clock that it may no longer act
    assert b.acquire()
    assert not a.renew()
    assert not a.held
    a.release()  # must not free b's lock
    assert not backend.lock("campaign-7", "owner-c").acquire()
    assert b.held and b.renew()


def test_renew_keeps_a_lock(backend: Backend) -> None:
    a, b = backend.lock("campaign-7", "owner-a", ttl=0.8), backend.lock("campaign-7", "owner-b", ttl=0.8)
    assert a.acquire()

    backend.advance(0.5)
    assert a.renew()
    backend.advance(0.5)  # 1.0 s after the acquire, 0.5 s after the renew

    assert a.held
    assert not b.acquire()


def test_renew_takes_back_an_expired_lock_nobody_took(backend: Backend) -> None:
    a = backend.lock("campaign-7", "owner-a", ttl=0.5)
    assert a.acquire()
    backend.advance(0.6)

    assert a.renew()
    assert a.held
    assert not backend.lock("campaign-7", "owner-b", ttl=0.5).acquire()


def test_a_lock_never_acquired_is_not_held(backend: Backend) -> None:
    assert not backend.lock("campaign-7", "owner-a").held


# ---- Redis only ----


def test_slots_use_the_servers_clock(redis_server: RedisServer) -> None:
    client = redis_server.client()
    slots = RedisSwitchSlots(client, "sw1", capacity=1, ttl=30.0)

    seconds, micros = client.time()
    before_ms = seconds * 1000 + micros // 1000
    assert slots.acquire("call-1")
    seconds, micros = client.time()
    after_ms = seconds * 1000 + micros // 1000

    expiry = client.zscore(slots_key("sw1"), "call-1")
    assert before_ms + 30_000 <= expiry <= after_ms + 30_000
    # The key itself lives as long as its last slot.
    assert 0 < client.pttl(slots_key("sw1")) <= 30_000


def test_after_a_redis_restart_renew_adds_back_live_calls_and_acquire_works(redis_server: RedisServer) -> None:
    slots = RedisSwitchSlots(redis_server.client(), "sw1", capacity=3)
    assert slots.acquire("call-1") and slots.acquire("call-2")

    redis_server.restart()  # empty, its script cache too; the client's connections are dead

    assert slots.in_use() == 0
    slots.renew(["call-1", "call-2"])
    assert slots.in_use() == 2
    assert slots.acquire("call-3")
    assert not slots.acquire("call-4")


def test_after_a_redis_kill_renew_takes_back_the_lock(redis_server: RedisServer) -> None:
    client = redis_server.client()
    a = RedisCampaignLock(client, "campaign-7", "owner-a")
    assert a.acquire()

    redis_server.kill()
    redis_server.start()

    assert client.get(lock_key("campaign-7")) is None
    assert a.renew()
    assert client.get(lock_key("campaign-7")) == b"owner-a"
    assert not RedisCampaignLock(client, "campaign-7", "owner-b").acquire()


def test_after_a_redis_restart_the_lock_may_go_to_whoever_asks_first(redis_server: RedisServer) -> None:
    client = redis_server.client()
    a, b = RedisCampaignLock(client, "campaign-7", "owner-a"), RedisCampaignLock(client, "campaign-7", "owner-b")
    assert a.acquire()

    redis_server.restart()

    assert b.acquire()
    assert not a.renew()
    assert not a.held


def test_scripts_are_loaded_again_after_script_flush(redis_server: RedisServer) -> None:
    client = redis_server.client()
    slots = RedisSwitchSlots(client, "sw1", capacity=2)
    lock = RedisCampaignLock(client, "campaign-7", "owner-a")
    assert slots.acquire("call-1") and lock.acquire()

    client.script_flush()

    assert slots.acquire("call-2")
    slots.renew(["call-1", "call-2"])
    assert slots.in_use() == 2
    assert lock.renew()
    lock.release()
    assert client.get(lock_key("campaign-7")) is None


def test_connection_refused_is_a_queue_backend_error(redis_server: RedisServer) -> None:
    client = redis_server.client(retry=Retry(NoBackoff(), 0))
    slots = RedisSwitchSlots(client, "sw1", capacity=2)
    lock = RedisCampaignLock(client, "campaign-7", "owner-a")
    redis_server.stop()

    for operation in (lambda: slots.acquire("call-1"), lambda: slots.renew(["call-1"]),
                      lambda: slots.release("call-1"), slots.in_use,
                      lock.acquire, lock.renew, lock.release):
        with pytest.raises(QueueBackendError) as caught:
            operation()
        assert isinstance(caught.value, VoicePlatformError)
        assert isinstance(caught.value.__cause__, RedisConnectionError)
    assert not lock.held


# ---- in process only ----


def test_local_locks_exclude_each_other_through_the_process_registry() -> None:
    name = f"campaign-{uuid.uuid4().hex}"
    a, b = LocalCampaignLock(name, "owner-a"), LocalCampaignLock(name, "owner-b")
    try:
        assert a.acquire()
        assert not b.acquire()
    finally:
        a.release()
    assert b.acquire()
    b.release()


def test_local_slots_share_the_process_registry() -> None:
    switch = f"sw-{uuid.uuid4().hex}"
    a, b = LocalSwitchSlots(switch, capacity=1, ttl=30.0), LocalSwitchSlots(switch, capacity=1, ttl=30.0)
    try:
        assert a.acquire("call-1")
        assert not b.acquire("call-2")
    finally:
        a.release("call-1")
    assert b.in_use() == 0


@pytest.mark.parametrize("make", [
    lambda: LocalSwitchSlots("sw", capacity=-1, ttl=1.0),
    lambda: LocalSwitchSlots("sw", capacity=1, ttl=0),
    lambda: LocalCampaignLock("campaign", "owner", ttl=-1.0),
])
def test_nonsense_settings_are_refused(make) -> None:
    with pytest.raises(ValueError):
        make()
