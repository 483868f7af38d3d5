"""Switch capacity leases and campaign locks, shared by every dialer worker.

A switch takes at most ``capacity`` simultaneous calls, whichever worker places them. Each call
holds a *slot*, a lease with a TTL that the worker renews while the call lives, so a worker that
dies leaks nothing: its slots expire. Each running campaign is driven by one dispatcher at a time,
which holds the campaign's *lock*, a lease with a TTL that it renews.

Redis is the production backend (:class:`RedisSwitchSlots`, :class:`RedisCampaignLock`); the
embedded mode uses in-process equivalents with the same interface and semantics
(:class:`LocalSwitchSlots`, :class:`LocalCampaignLock`). Redis here keeps nothing on disk, so it may
come back empty after a restart: renewal re-asserts what is really live (see
``docs/decisions/dialer-leases.md``).

Every operation is idempotent (acquiring a slot a call already holds, or a lock one already holds,
only extends it), so redis-py's automatic retry after a dropped connection is safe. Redis errors
are raised as :class:`~voiceplatform.exceptions.QueueBackendError`: from ``acquire`` it means "no
slot now, try later", from ``renew`` "keep the calls going, renew again later".
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Protocol, runtime_checkable

import redis
from redis.exceptions import RedisError

from voiceplatform.exceptions import QueueBackendError

log = logging.getLogger(__name__)

Clock = Callable[[], float]

#: Seconds a slot lives unless renewed.
DEFAULT_SLOT_TTL = 30.0
#: Seconds a campaign lock lives unless renewed.
DEFAULT_LOCK_TTL = 15.0


def slots_key(switch: str) -> str:
    """The Redis sorted set of a switch's slots: member = call id, score = expiry (ms, server time)."""
    return f"vp:switch:{switch}:slots"


def lock_key(name: str) -> str:
    """The Redis string of a campaign lock: value = the owner's token."""
    return f"vp:lock:{name}"


# ---- interfaces ----


@runtime_checkable
class SwitchSlots(Protocol):
    """The call slots of one switch, shared by every worker that places calls on it."""

    switch: str
    capacity: int
    ttl: float

    def acquire(self, call_id: str) -> bool:
        """Take a slot for ``call_id`` if fewer than ``capacity`` are in use (expired ones do not
        count). True if the call holds a slot now; a call that already holds one keeps it and has
        it extended."""

    def renew(self, call_ids: Iterable[str]) -> None:
        """Extend the slots of these live calls by ``ttl``. A slot that vanished (expired, or Redis
        restarted empty) is added back even beyond ``capacity``: the call is really live."""

    def release(self, call_id: str) -> None:
        """Free the slot of ``call_id``, if it holds one."""

    def in_use(self) -> int:
        """How many unexpired slots are held."""


@runtime_checkable
class CampaignLock(Protocol):
    """The right to drive one campaign, held by one owner at a time."""

    @property
    def held(self) -> bool:
        """True while the last successful acquire/renew is less than ``ttl`` old (measured from
        before the request was sent) and the lock was not released or lost since."""

    def acquire(self) -> bool:
        """Take the lock if it is free (or already ours: then it is extended)."""

    def renew(self) -> bool:
        """Extend the lock. False if someone else holds it now. If it vanished (expired, or Redis
        restarted empty), take it again and return True if that works."""

    def release(self) -> None:
        """Give the lock up, only if it is still ours."""


# ---- Redis ----

# Milliseconds since the epoch by the server's clock: every worker agrees, whatever its own clock.
_NOW_MS = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
"""

# The key lives as long as its last slot, so a switch no longer used leaves nothing behind.
_EXPIRE_WITH_LAST_SLOT = """
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
if last[2] then redis.call('PEXPIREAT', KEYS[1], last[2]) end
"""

# KEYS[1] = slots key; ARGV = call id, capacity, ttl (ms). Returns 1 if the call holds a slot.
_ACQUIRE_SLOT = _NOW_MS + """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local expiry = now + tonumber(ARGV[3])
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
end
redis.call('ZADD', KEYS[1], expiry, ARGV[1])
""" + _EXPIRE_WITH_LAST_SLOT + """
return 1
"""

# KEYS[1] = slots key; ARGV = ttl (ms), call ids... Returns how many slots were added back.
_RENEW_SLOTS = _NOW_MS + """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local expiry = now + tonumber(ARGV[1])
local added = 0
for i = 2, #ARGV do
  added = added + redis.call('ZADD', KEYS[1], expiry, ARGV[i])
end
""" + _EXPIRE_WITH_LAST_SLOT + """
return added
"""

# KEYS[1] = slots key. Read-only: counts the unexpired slots.
_COUNT_SLOTS = _NOW_MS + """
return redis.call('ZCOUNT', KEYS[1], string.format('(%d', now), '+inf')
"""

# KEYS[1] = lock key; ARGV = owner, ttl (ms). Returns 1 if the owner holds the lock now.
_TAKE_OR_EXTEND_LOCK = """
local current = redis.call('GET', KEYS[1])
if current == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if not current then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
"""

# KEYS[1] = lock key; ARGV = owner. Deletes the lock only if it is the owner's.
_RELEASE_LOCK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


@contextmanager
def _backend_errors(action: str) -> Iterator[None]:
    try:
        yield
    except RedisError as exc:
        raise QueueBackendError(f"{action}: {type(exc).__name__}: {exc}") from exc


def _milliseconds(ttl: float) -> int:
    if ttl <= 0:
        raise ValueError(f"ttl must be positive, not {ttl!r}")
    return max(1, round(ttl * 1000))


def _check_capacity(capacity: int) -> None:
    if capacity < 0:
        raise ValueError(f"capacity must be zero or more, not {capacity!r}")


class RedisSwitchSlots:
    """:class:`SwitchSlots` in a Redis sorted set (:func:`slots_key`), expiries by server time.

    The scripts are registered with redis-py, which loads them again after a ``SCRIPT FLUSH`` or a
    restart (on NOSCRIPT)."""

    def __init__(self, redis_client: redis.Redis, switch: str, capacity: int,
                 ttl: float = DEFAULT_SLOT_TTL) -> None:
        _check_capacity(capacity)
        self._ttl_ms = _milliseconds(ttl)
        self.switch = switch
        self.capacity = capacity
        self.ttl = ttl
        self.key = slots_key(switch)
        self._acquire = redis_client.register_script(_ACQUIRE_SLOT)
        self._renew = redis_client.register_script(_RENEW_SLOTS)
        self._count = redis_client.register_script(_COUNT_SLOTS)
        self._redis = redis_client

    def acquire(self, call_id: str) -> bool:
        with _backend_errors(f"cannot take a slot on switch {self.switch!r}"):
            return bool(self._acquire(keys=[self.key], args=[call_id, self.capacity, self._ttl_ms]))

    def renew(self, call_ids: Iterable[str]) -> None:
        call_ids = list(call_ids)
        if not call_ids:
            return
        with _backend_errors(f"cannot renew {len(call_ids)} slots on switch {self.switch!r}"):
            added = int(self._renew(keys=[self.key], args=[self._ttl_ms, *call_ids]))
        if added:
            log.warning("switch %s: %d of %d live calls had lost their slot (expired, or Redis restarted "
                        "empty) and hold one again", self.switch, added, len(call_ids))

    def release(self, call_id: str) -> None:
        with _backend_errors(f"cannot release a slot on switch {self.switch!r}"):
            self._redis.zrem(self.key, call_id)

    def in_use(self) -> int:
        with _backend_errors(f"cannot count the slots of switch {self.switch!r}"):
            return int(self._count(keys=[self.key]))

    def __repr__(self) -> str:
        return f"<RedisSwitchSlots {self.switch} capacity={self.capacity} ttl={self.ttl}>"


class _LeaseClock:
    """When a lock held by this process is surely no longer valid, by the local clock: ``ttl``
    after the moment the last successful request was sent (the server started its TTL later)."""

    def __init__(self, ttl: float, clock: Clock) -> None:
        self.ttl = ttl
        self.clock = clock
        self._valid_until: float | None = None

    @property
    def held(self) -> bool:
        return self._valid_until is not None and self.clock() < self._valid_until

    def granted(self, sent_at: float, ok: bool) -> bool:
        self._valid_until = sent_at + self.ttl if ok else None
        return ok

    def drop(self) -> None:
        self._valid_until = None


class RedisCampaignLock:
    """:class:`CampaignLock` as a Redis string (:func:`lock_key`) holding the owner's token, with a
    TTL. ``owner`` must be unique to this dispatcher (e.g. host, pid and a random part): two
    dispatchers with the same token would both believe they hold the lock."""

    def __init__(self, redis_client: redis.Redis, name: str, owner: str,
                 ttl: float = DEFAULT_LOCK_TTL, *, clock: Clock = time.monotonic) -> None:
        self._ttl_ms = _milliseconds(ttl)
        self.name = name
        self.owner = owner
        self.ttl = ttl
        self.key = lock_key(name)
        self._lease = _LeaseClock(ttl, clock)
        self._take = redis_client.register_script(_TAKE_OR_EXTEND_LOCK)
        self._release = redis_client.register_script(_RELEASE_LOCK)

    @property
    def held(self) -> bool:
        return self._lease.held

    def acquire(self) -> bool:
        return self._take_or_extend("take")

    def renew(self) -> bool:
        return self._take_or_extend("renew")

    def _take_or_extend(self, action: str) -> bool:
        sent_at = self._lease.clock()
        with _backend_errors(f"cannot {action} the lock of campaign {self.name!r}"):
            ok = bool(self._take(keys=[self.key], args=[self.owner, self._ttl_ms]))
        return self._lease.granted(sent_at, ok)

    def release(self) -> None:
        """Give the lock up. On :class:`QueueBackendError` it is given up here anyway, and expires
        in Redis by its TTL."""
        self._lease.drop()
        with _backend_errors(f"cannot release the lock of campaign {self.name!r}"):
            self._release(keys=[self.key], args=[self.owner])

    def __repr__(self) -> str:
        return f"<RedisCampaignLock {self.name} owner={self.owner} held={self.held}>"


# ---- in process (embedded mode) ----


class LocalStore:
    """The in-process stand-in for the Redis keys: the slots of each switch and the campaign locks.
    Instances that share a store see each other, as workers sharing a Redis do; by default all
    share one per process. Expiry times are in the units of the clocks of the instances using it."""

    def __init__(self) -> None:
        self.mutex = threading.Lock()
        self.slots: dict[str, dict[str, float]] = {}  # switch -> call id -> expiry
        self.locks: dict[str, tuple[str, float]] = {}  # campaign -> (owner, expiry)


_PROCESS_STORE = LocalStore()


class LocalSwitchSlots:
    """:class:`SwitchSlots` in process. Instances for the same switch share its slots (through the
    :class:`LocalStore`), each with its own ``capacity``, as with Redis."""

    def __init__(self, switch: str, capacity: int, ttl: float = DEFAULT_SLOT_TTL,
                 clock: Clock = time.monotonic, *, store: LocalStore | None = None) -> None:
        _check_capacity(capacity)
        _milliseconds(ttl)
        self.switch = switch
        self.capacity = capacity
        self.ttl = ttl
        self._clock = clock
        self._store = store if store is not None else _PROCESS_STORE

    def _live(self, now: float) -> dict[str, float]:
        """The switch's slots, expired ones dropped. Call with the store's mutex held."""
        slots = self._store.slots.setdefault(self.switch, {})
        for call_id in [call_id for call_id, expiry in slots.items() if expiry <= now]:
            del slots[call_id]
        return slots

    def acquire(self, call_id: str) -> bool:
        with self._store.mutex:
            now = self._clock()
            slots = self._live(now)
            if call_id not in slots and len(slots) >= self.capacity:
                return False
            slots[call_id] = now + self.ttl
            return True

    def renew(self, call_ids: Iterable[str]) -> None:
        call_ids = list(call_ids)
        with self._store.mutex:
            now = self._clock()
            slots = self._live(now)
            added = sum(1 for call_id in call_ids if call_id not in slots)
            for call_id in call_ids:
                slots[call_id] = now + self.ttl
        if added:
            log.warning("switch %s: %d of %d live calls had lost their slot (expired) and hold one again",
                        self.switch, added, len(call_ids))

    def release(self, call_id: str) -> None:
        with self._store.mutex:
            self._store.slots.get(self.switch, {}).pop(call_id, None)

    def in_use(self) -> int:
        with self._store.mutex:
            return len(self._live(self._clock()))

    def __repr__(self) -> str:
        return f"<LocalSwitchSlots {self.switch} capacity={self.capacity} ttl={self.ttl}>"


class LocalCampaignLock:
    """:class:`CampaignLock` in process. Instances for the same campaign name exclude each other
    (through the :class:`LocalStore`, one per process by default)."""

    def __init__(self, name: str, owner: str, ttl: float = DEFAULT_LOCK_TTL,
                 clock: Clock = time.monotonic, *, store: LocalStore | None = None) -> None:
        _milliseconds(ttl)
        self.name = name
        self.owner = owner
        self.ttl = ttl
        self._lease = _LeaseClock(ttl, clock)
        self._store = store if store is not None else _PROCESS_STORE

    @property
    def held(self) -> bool:
        return self._lease.held

    def acquire(self) -> bool:
        with self._store.mutex:
            now = self._lease.clock()
            current = self._store.locks.get(self.name)
            ok = current is None or current[0] == self.owner or current[1] <= now
            if ok:
                self._store.locks[self.name] = (self.owner, now + self.ttl)
            return self._lease.granted(now, ok)

    def renew(self) -> bool:
        return self.acquire()

    def release(self) -> None:
        self._lease.drop()
        with self._store.mutex:
            current = self._store.locks.get(self.name)
            if current is not None and current[0] == self.owner:
                del self._store.locks[self.name]

    def __repr__(self) -> str:
        return f"<LocalCampaignLock {self.name} owner={self.owner} held={self.held}>"
