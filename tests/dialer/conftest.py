"""Dialer tests: each lease and lock test runs on Redis (a private server per test, real time) and
in process (a fake clock, a fresh store)."""

from __future__ import annotations

import time

import pytest
import redis

from voiceplatform.dialer.leases import (
    LocalCampaignLock,
    LocalStore,
    LocalSwitchSlots,
    RedisCampaignLock,
    RedisSwitchSlots,
)
from voiceplatform.testing.redis import RedisServer


class RedisBackend:
    """Leases in a private Redis. Time is real: TTLs run on the server's clock."""

    name = "redis"

    def __init__(self, server: RedisServer) -> None:
        self.server = server
        self.client: redis.Redis = server.client()

    def slots(self, switch: str, capacity: int, ttl: float = 30.0) -> RedisSwitchSlots:
        return RedisSwitchSlots(self.client, switch, capacity, ttl)

    def lock(self, name: str, owner: str, ttl: float = 15.0) -> RedisCampaignLock:
        return RedisCampaignLock(self.client, name, owner, ttl)

    def advance(self, seconds: float) -> None:
        time.sleep(seconds)


class LocalBackend:
    """Leases in process, on a fake clock that only moves when the test says so."""

    name = "local"

    def __init__(self) -> None:
        self.now = 1000.0
        self.store = LocalStore()

    def clock(self) -> float:
        return self.now

    def slots(self, switch: str, capacity: int, ttl: float = 30.0) -> LocalSwitchSlots:
        return LocalSwitchSlots(switch, capacity, ttl, clock=self.clock, store=self.store)

    def lock(self, name: str, owner: str, ttl: float = 15.0) -> LocalCampaignLock:
        return LocalCampaignLock(name, owner, ttl, clock=self.clock, store=self.store)

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture(params=["redis", "local"])
def backend(request: pytest.FixtureRequest) -> RedisBackend | LocalBackend:
    if request.param == "redis":
        return RedisBackend(request.getfixturevalue("redis_server"))
    return LocalBackend()
