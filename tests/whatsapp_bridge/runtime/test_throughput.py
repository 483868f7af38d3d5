"""The number's throughput across workers: two limiters on one Redis never grant more than the
tier in any second of the Redis server's clock (each grant's time is the server's, so the count
does not depend on how fast this machine runs); the in-process limiter keeps the same rule on
its own clock, catches up an asker's lateness (up to CATCH_UP) without two grants at once or
more than the tier in any 1 + HEADROOM seconds; the pair pacer allows a burst, then one every interval, and backs off 4^X."""

from __future__ import annotations

import gevent

from voiceplatform.testing.redis import RedisServer

from whatsapp_bridge.pairs import PairPacer
from whatsapp_bridge.throughput import (CATCH_UP, EARLY, HEADROOM, LOG_MICROSECONDS, WINDOW_MICROSECONDS, Grant,
                                        LocalThroughput, RedisThroughput, Turns, acquire, redis_client)

NUMBER = "106540352242922"


def most_in_any_second(grants: list[int]) -> int:
    """The most grants in any window (t - 1 s, t] ending at a grant."""
    ordered = sorted(grants)
    most, first = 0, 0
    for last, at in enumerate(ordered):
        while ordered[first] <= at - WINDOW_MICROSECONDS:
            first += 1
        most = max(most, last - first + 1)
    return most


def test_two_limiters_on_one_redis_never_exceed_the_tier(redis_server: RedisServer) -> None:
    tier, wanted = 20, 70
    limiters = [RedisThroughput(redis_server.client()), RedisThroughput(redis_server.client())]
    grants: list[int] = []

    def worker(limiter: RedisThroughput) -> None:
        while len(grants) < wanted:
            grant = acquire(limiter, NUMBER, tier, timeout=30.0)
            assert grant is not None
            grants.append(grant.at)

    gevent.joinall([gevent.spawn(worker, limiter) for limiter in limiters for _ in range(4)], raise_error=True)
    assert len(grants) >= wanted
    assert most_in_any_second(grants) <= tier


def test_numbers_are_limited_separately_and_a_refusal_says_how_long_to_wait(redis_server: RedisServer) -> None:
    limiter = RedisThroughput(redis_server.client())
    assert isinstance(limiter.try_acquire("a", 2), Grant)
    wait = limiter.try_acquire("a", 2)  # the next is half a spacing (0.5075 s at tier 2) early at most
    assert isinstance(wait, float) and 0 < wait <= 1.0
    assert isinstance(limiter.try_acquire("b", 2), Grant)


def test_the_local_limiter_keeps_the_same_rule_on_its_clock() -> None:
    now = [100.0]
    limiter = LocalThroughput(clock=lambda: now[0])
    assert isinstance(limiter.try_acquire(NUMBER, 3), Grant)
    wait = limiter.try_acquire(NUMBER, 3)
    assert isinstance(wait, float) and 0 < wait <= (1 + HEADROOM) / 3 * (1 - EARLY) + 1e-5
    now[0] += wait - 0.001
    assert not isinstance(limiter.try_acquire(NUMBER, 3), Grant)
    now[0] += 0.002
    assert isinstance(limiter.try_acquire(NUMBER, 3), Grant)


def test_the_pair_pacer_allows_a_burst_then_one_an_interval_and_backs_off_four_to_the_x() -> None:
    now = [0.0]
    pacer = PairPacer(burst=3, every=6.0, clock=lambda: now[0])
    pair = (NUMBER, "+15551234567")
    assert [pacer.take(pair) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert pacer.take(pair) == 6.0
    now[0] += 6.0
    assert pacer.take(pair) == 0.0
    assert pacer.take((NUMBER, "+15550000000")) == 0.0  # another user has their own
    assert [pacer.strike(pair) for _ in range(4)] == [1.0, 4.0, 16.0, 64.0]
    pacer.clear(pair)
    assert pacer.strike(pair) == 1.0


def test_three_hundred_sends_asking_at_once_wait_their_turn_instead_of_failing(redis_server: RedisServer) -> None:
    """A sender has up to 500 sends in flight; redis-py's default pool raises past 100
    connections, so the bridge's client waits for one and this process asks in turn."""
    limiter, turns = RedisThroughput(redis_client(redis_server.url)), Turns()
    jobs = [gevent.spawn(acquire, limiter, NUMBER, 1000, 30.0, turns=turns) for _ in range(300)]
    gevent.joinall(jobs, raise_error=True)
    grants = [job.value for job in jobs]
    assert all(isinstance(grant, Grant) for grant in grants)
    assert most_in_any_second([grant.at for grant in grants]) <= 1000


def test_grants_are_evenly_spaced_within_two_percent_of_the_tier() -> None:
    """One grant every (1 + HEADROOM)/tier s (the second of a run may come half a spacing early):
    the requests reach Meta spaced, and the rate stays within 2 % of the tier, never above it;
    an asker that comes a little late keeps the schedule."""
    now = [0.0]
    limiter, tier = LocalThroughput(clock=lambda: now[0]), 80
    spacing = WINDOW_MICROSECONDS * (1 + HEADROOM) / tier
    grants: list[int] = []
    while now[0] < 10.0:
        answer = limiter.try_acquire(NUMBER, tier)
        if isinstance(answer, Grant):
            grants.append(answer.at)
        else:
            now[0] += answer + 0.0003  # asks again a little late, as a sleeping greenlet does
    gaps = [b - a for a, b in zip(grants, grants[1:])]
    assert min(gaps) >= spacing * EARLY - 1 and min(gaps[1:]) >= spacing * (1 - EARLY) - 1
    assert sorted(gaps)[len(gaps) // 10] >= spacing * 0.9  # nearly all a whole spacing apart
    rate = (len(grants) - 1) / ((grants[-1] - grants[0]) / WINDOW_MICROSECONDS)
    assert tier * 0.98 <= rate <= tier
    assert most_in_any_second(grants) <= tier


def test_redis_grants_are_spaced_too(redis_server: RedisServer) -> None:
    limiter, tier = RedisThroughput(redis_server.client()), 50
    grants = [acquire(limiter, NUMBER, tier, timeout=5.0) for _ in range(8)]
    times = [grant.at for grant in grants if grant is not None]
    assert len(times) == 8
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert min(gaps) >= WINDOW_MICROSECONDS * (1 + HEADROOM) / tier * EARLY - 1  # on the server's clock
    assert sum(gaps) >= WINDOW_MICROSECONDS * (1 + HEADROOM) / tier * (len(gaps) - 1)


def _ask_fast(limiter: LocalThroughput, now: list[float], until: float, tier: int, grants: list[int]) -> None:
    """Ask again exactly when told (a punctual asker) until the clock reaches ``until``."""
    while now[0] < until:
        answer = limiter.try_acquire(NUMBER, tier)
        if isinstance(answer, Grant):
            grants.append(answer.at)
        else:
            now[0] += answer


def test_a_late_asker_is_caught_up_half_a_spacing_apart_and_the_log_still_holds() -> None:
    """A stall of 0.15 s (a busy process) costs nothing: the grants after it come half a spacing
    apart until the schedule is kept again, so two seconds hold the spacing's whole count; never
    two at once, and never more than the tier in any 1 + HEADROOM seconds."""
    now = [10.0]
    limiter, tier = LocalThroughput(clock=lambda: now[0]), 80
    spacing = WINDOW_MICROSECONDS * (1 + HEADROOM) / tier
    grants: list[int] = []
    _ask_fast(limiter, now, 11.0, tier, grants)
    now[0] += 0.15  # the stall: nobody asks
    _ask_fast(limiter, now, 13.0, tier, grants)
    gaps = [b - a for a, b in zip(grants, grants[1:])]
    assert min(gaps) >= spacing * EARLY - 1
    after = [gap for at, gap in zip(grants[1:], gaps) if 11.15e6 <= at <= 11.4e6]
    assert sum(1 for gap in after if gap < spacing * 0.75) >= 10  # caught up, not lost
    expected = (grants[-1] - grants[0]) / spacing
    assert len(grants) - 1 >= expected - 1
    most, first, ordered = 0, 0, sorted(grants)
    for last, at in enumerate(ordered):
        while ordered[first] <= at - LOG_MICROSECONDS:
            first += 1
        most = max(most, last - first + 1)
    assert most <= tier


def test_an_idle_number_starts_afresh_instead_of_bursting() -> None:
    """Lateness beyond CATCH_UP (an idle number) is not owed: the next grants are a spacing apart."""
    now = [10.0]
    limiter, tier = LocalThroughput(clock=lambda: now[0]), 80
    spacing = WINDOW_MICROSECONDS * (1 + HEADROOM) / tier
    grants: list[int] = []
    _ask_fast(limiter, now, 10.5, tier, grants)
    now[0] += CATCH_UP + 0.5
    first = len(grants)
    _ask_fast(limiter, now, now[0] + 0.5, tier, grants)
    gaps = [b - a for a, b in zip(grants[first:], grants[first + 1:])]
    assert gaps and min(gaps[1:]) >= spacing * (1 - EARLY) - 1
    assert sorted(gaps)[len(gaps) // 10] >= spacing * 0.9


def test_redis_catches_up_a_late_asker_too(redis_server: RedisServer) -> None:
    limiter, tier = RedisThroughput(redis_server.client()), 50
    spacing = WINDOW_MICROSECONDS * (1 + HEADROOM) / tier
    first = [acquire(limiter, NUMBER, tier, timeout=5.0) for _ in range(3)]
    gevent.sleep(0.12)  # six spacings late
    after = [acquire(limiter, NUMBER, tier, timeout=5.0) for _ in range(6)]
    times = [grant.at for grant in first + after if grant is not None]
    assert len(times) == 9
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert min(gaps) >= spacing * EARLY - 1  # never two at once, on the server's clock
    assert sum(1 for gap in gaps[3:] if gap < spacing * 0.9) >= 3  # the lateness caught up
