"""The business number's throughput: never more than its tier of messages in any second (80 by
default, 1,000 once Meta upgraded the number; ``VOICEPLATFORM_WHATSAPP_NUMBERS`` gives each its
own), shared by every sender of every bridge process.

:class:`RedisThroughput` decides in one Lua script, on the Redis server's own clock (``TIME``),
by two rules:

* **evenly spaced** (a GCRA: a theoretical arrival time per number): one grant every
  ``(1 + HEADROOM) / tier`` seconds; a grant may come up to half a spacing early, and never
  less than half a spacing after the one before (never two at once). Meta counts on its own
  clock, when each request reaches it: a tier granted at once (the first version) left in a
  burst whose requests reached the receiver spread over up to a few hundred milliseconds on a
  loaded machine, and one second of the receiver's clock held the end of one burst and the
  start of the next (81-136 at tier 80). Spaced grants reach it spaced, and the 1.5 % headroom
  absorbs the requests' differing delays (the rate stays within 2 % of the tier);
* **lateness is caught up, up to** :data:`CATCH_UP` **seconds of it**: an asker late for its
  grant (a busy process, a stalled event loop) does not move the schedule back by its lateness;
  the grants after it come half a spacing apart until the schedule is kept again (a schedule
  further behind than that, an idle number's, starts afresh at the ask). The version
  that reset the schedule to the late ask's time lost each lateness for good: at tier 80, grants
  12.8 ms apart at the median but 18-27 ms at the 90th-99th percentiles, and the rate 0.94 of
  the tier instead of the spacing's 0.985;
* **never more than the tier in any second, with room for the requests' delays**: a sliding log
  per number in a sorted set, ``1 + HEADROOM`` seconds long (the older grants dropped; a grant
  only while fewer than the tier remain). Any tier + 1 grants therefore span more than 1.015 s,
  so Meta's clock sees more than the tier in a second only if the first of them took 15 ms
  longer to reach it than the last. Catching up fills the log (a one-second log let each
  second's catch-up end right at the tier, and the receiver counted 81-83 in a second).

Every worker asks the same script on the same server, so both hold across processes and machines
whatever their clocks say. A refusal gives how long until a grant is possible, and the caller
waits that long (gevent) before asking again.

:class:`LocalThroughput` is the same rule inside one process, for a bridge without Redis
(``VOICEPLATFORM_WHATSAPP_REDIS_URL`` unset): correct only while that bridge is the number's
only sender.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass
from typing import Any, Callable, Protocol

import gevent
import redis
from gevent.lock import Semaphore

WINDOW_MICROSECONDS = 1_000_000
#: grants are spaced this much more than 1/tier apart: room for the requests' differing delays
HEADROOM = 0.015
#: how early (a fraction of the spacing) a grant may come: the GCRA's allowance; also the least
#: time (the same fraction of the spacing) between two grants
EARLY = 0.5
#: seconds of an asker's lateness the schedule catches up (grants half a spacing apart) instead
#: of losing it; a longer stall loses the rest
CATCH_UP = 0.2
KEY_PREFIX = "vp:whatsapp:mps:"
#: connections a bridge keeps to the limiter's Redis; a sender asks from up to ``max_in_flight``
#: greenlets at once, and those beyond wait for a free connection (redis-py's default pool
#: raises past 100 instead)
REDIS_CONNECTIONS = 32
#: seconds a greenlet waits for a free connection before the ask fails
REDIS_CONNECTION_WAIT = 5.0

#: KEYS[1] the number's log; ARGV[1] its tier, ARGV[2] the log's length, ARGV[3] the spacing, ARGV[4]
#: the burst allowance (also the least gap between grants) and ARGV[5] the lateness caught up, in
#: microseconds. Gives {1, now} (granted at the server's microsecond ``now``) or {0, wait in
#: microseconds}.
_SCRIPT = """
local key = KEYS[1]
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local spacing = tonumber(ARGV[3])
local allowance = tonumber(ARGV[4])
local catch_up = tonumber(ARGV[5])
local keep = math.floor(2 * window / 1000)
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local tat = now
local stored = redis.call('GET', key .. ':tat')
if stored and tonumber(stored) >= now - catch_up then tat = tonumber(stored) end
if tat - allowance > now then
  return {0, math.floor(tat - allowance - now) + 1}
end
local last = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
if last[2] and tonumber(last[2]) + allowance > now then
  return {0, math.floor(tonumber(last[2]) + allowance - now) + 1}
end
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
if redis.call('ZCARD', key) < limit then
  local seq = redis.call('INCR', key .. ':seq')
  redis.call('ZADD', key, now, now .. ':' .. seq)
  redis.call('SET', key .. ':tat', string.format('%.0f', tat + spacing), 'PX', keep)
  redis.call('PEXPIRE', key, keep)
  redis.call('PEXPIRE', key .. ':seq', keep)
  return {1, now}
end
local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
local wait = tonumber(oldest[2]) + window - now
if wait < 1 then wait = 1 end
return {0, wait}
"""


_CATCH_UP_MICROSECONDS = int(CATCH_UP * WINDOW_MICROSECONDS)
#: the sliding log's length: a second and the headroom
LOG_MICROSECONDS = int(WINDOW_MICROSECONDS * (1 + HEADROOM))


def spacing_of(tier: int) -> tuple[int, int]:
    """The microseconds between two grants at ``tier``, and how early one may come."""
    spacing = int(WINDOW_MICROSECONDS * (1 + HEADROOM) / max(1, tier))
    return spacing, int(spacing * EARLY)


@dataclass(frozen=True, slots=True)
class Grant:
    at: int  # microseconds on the limiter's clock (the Redis server's, for RedisThroughput)


class Throughput(Protocol):
    def try_acquire(self, phone_number_id: str, tier: int) -> Grant | float:
        """A grant now, or the seconds to wait before asking again."""
        ...


class Turns:
    """The greenlets of one process ask the limiter for a number one at a time (in turn): the
    others wait on a local lock instead of all asking Redis again each time a grant leaves the
    window (500 sends in flight would make 500 calls for each grant)."""

    def __init__(self) -> None:
        self._locks: dict[str, Semaphore] = {}

    def of(self, phone_number_id: str) -> Semaphore:
        lock = self._locks.get(phone_number_id)
        if lock is None:
            lock = self._locks[phone_number_id] = Semaphore(1)
        return lock


def acquire(limiter: Throughput, phone_number_id: str, tier: int, timeout: float,
            sleep: Callable[[float], Any] = gevent.sleep, clock: Callable[[], float] = time.monotonic,
            turns: Turns | None = None) -> Grant | None:
    """Wait (at most ``timeout`` seconds) for a grant on ``phone_number_id``; None if none came.
    With ``turns``, this process's callers ask one at a time."""
    if turns is None:
        return _ask_until(limiter, phone_number_id, tier, clock() + timeout, sleep, clock)
    lock = turns.of(phone_number_id)
    if not lock.acquire(timeout=max(0.0, timeout)):
        return None
    try:
        return _ask_until(limiter, phone_number_id, tier, clock() + timeout, sleep, clock)
    finally:
        lock.release()


def _ask_until(limiter: Throughput, phone_number_id: str, tier: int, deadline: float,
               sleep: Callable[[float], Any], clock: Callable[[], float]) -> Grant | None:
    while True:
        answer = limiter.try_acquire(phone_number_id, tier)
        if isinstance(answer, Grant):
            return answer
        left = deadline - clock()
        if left <= 0:
            return None
        sleep(min(answer, left))


def redis_client(url: str) -> redis.Redis:
    """A client of the limiter's Redis whose pool, :data:`REDIS_CONNECTIONS` connections, makes
    the greenlets beyond them wait their turn instead of failing."""
    pool = redis.BlockingConnectionPool.from_url(url, max_connections=REDIS_CONNECTIONS,
                                                 timeout=REDIS_CONNECTION_WAIT)
    return redis.Redis(connection_pool=pool)


class RedisThroughput:
    def __init__(self, client: redis.Redis, prefix: str = KEY_PREFIX) -> None:
        self.client = client
        self.prefix = prefix
        self._script = client.register_script(_SCRIPT)

    def try_acquire(self, phone_number_id: str, tier: int) -> Grant | float:
        spacing, allowance = spacing_of(tier)
        granted, value = self._script(keys=[self.prefix + phone_number_id],
                                      args=[tier, LOG_MICROSECONDS, spacing, allowance, _CATCH_UP_MICROSECONDS])
        if int(granted):
            return Grant(int(value))
        return int(value) / 1_000_000


class LocalThroughput:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._logs: dict[str, deque[int]] = {}
        self._tats: dict[str, int] = {}  # the next theoretical grant per number

    def try_acquire(self, phone_number_id: str, tier: int) -> Grant | float:
        now = int(self.clock() * 1_000_000)
        spacing, allowance = spacing_of(tier)
        tat = self._tats.get(phone_number_id, now)
        if tat < now - _CATCH_UP_MICROSECONDS:
            tat = now  # idle, or stalled longer than is caught up: the schedule starts afresh
        if tat - allowance > now:
            return (tat - allowance - now + 1) / 1_000_000
        log = self._logs.setdefault(phone_number_id, deque())
        if log and log[-1] + allowance > now:
            return (log[-1] + allowance - now + 1) / 1_000_000
        while log and log[0] <= now - LOG_MICROSECONDS:
            log.popleft()
        if len(log) < tier:
            log.append(now)
            self._tats[phone_number_id] = tat + spacing
            return Grant(now)
        return max(1, log[0] + LOG_MICROSECONDS - now) / 1_000_000
