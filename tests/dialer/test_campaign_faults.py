"""Faults during a real campaign, on SQLite and PostgreSQL: real ``voiceplatform worker``
processes, a private Redis, the Asterisk lab. A worker killed with SIGKILL, Redis restarted
empty, Asterisk killed and started again: each time every contact still ends in exactly one final
state, each attempt is one call, and no contact is ever called twice at once."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine

from tests.dialer.lab_campaign import Worker, assert_exactly_once, completed, wait_for
from voiceplatform.testing.campaign_seed import seed_campaign
from voiceplatform.db import session_factory
from voiceplatform.lab import leases, up
from voiceplatform.lab.numbers import numbers_like
from voiceplatform.models import CampaignContactStatus

pytestmark = pytest.mark.integration

SETTINGS = {"calls_per_second": 2, "max_concurrent": 3, "ring_seconds": 10,
            "retries": {"busy": {"retries": 1, "minutes": 0}, "failed": {"retries": 1, "minutes": 0}}}


def contacts() -> list[str]:
    return numbers_like("answer-press-1", 4, offset=int(time.time()) % 900) + numbers_like("hangup-mid-prompt", 2) \
        + numbers_like("busy", 1)


def calls_in_progress(minimum: int):  # type: ignore[no-untyped-def]
    return lambda _campaign, rows, _calls: sum(row.status == CampaignContactStatus.DIALLING for row in rows) >= minimum


def _eventually(check, timeout: float) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return False


def _exclusive_lab(asterisk_lab) -> None:  # type: ignore[no-untyped-def]
    others = leases.holders(asterisk_lab.settings.state_dir)
    if others:
        pytest.skip(f"another session uses the lab (pid {others}); not disturbing it")


def test_a_worker_killed_mid_campaign_loses_nothing(asterisk_lab, redis_server, engine: Engine,  # type: ignore[no-untyped-def]
                                                    database_url: str, tmp_path: Path) -> None:
    sessions = session_factory(engine)
    seeded = seed_campaign(sessions, contacts(), settings=SETTINGS, name="kill-worker")
    workers = {name: Worker(name, database_url, redis_server.url, tmp_path) for name in ("w1", "w2")}
    try:
        wait_for(sessions, seeded.campaign_id, calls_in_progress(2), 60, "two calls in progress")
        owner = redis_server.client().get(f"vp:lock:campaign:{seeded.campaign_id}")
        assert owner is not None, "no worker holds the campaign"
        victim = workers[owner.decode()]
        victim.kill()
        survivor = next(worker for worker in workers.values() if worker is not victim)
        campaign, rows, calls = wait_for(sessions, seeded.campaign_id, completed, 150, "the campaign to complete")
        assert survivor.process.poll() is None, survivor.output()
        assert_exactly_once(rows, calls)
        lost = [call for call in calls if call.cause == "worker_lost"]
        assert lost, "the killed worker had calls in progress; they must be settled as worker_lost"
    except AssertionError:
        print("\n".join(worker.output() for worker in workers.values()))
        raise
    finally:
        for worker in workers.values():
            worker.stop()


def test_redis_restarted_empty_mid_campaign_loses_nothing(asterisk_lab, redis_server, engine: Engine,  # type: ignore[no-untyped-def]
                                                          database_url: str, tmp_path: Path) -> None:
    sessions = session_factory(engine)
    seeded = seed_campaign(sessions, contacts(), settings=SETTINGS, name="restart-redis")
    worker = Worker("solo", database_url, redis_server.url, tmp_path)
    try:
        wait_for(sessions, seeded.campaign_id, calls_in_progress(2), 60, "two calls in progress")
        redis_server.restart()  # nothing on disk: every lease, lock and job is gone
        client, lock = redis_server.client(), f"vp:lock:campaign:{seeded.campaign_id}"
        assert _eventually(lambda: client.get(lock) == b"solo", 15), "the dispatcher did not re-take its lock"
        campaign, rows, calls = wait_for(sessions, seeded.campaign_id, completed, 150, "the campaign to complete")
        assert worker.process.poll() is None, worker.output()
        assert_exactly_once(rows, calls)
        assert _eventually(lambda: not client.exists(lock), 10), "the lock was not released at the end"
    except AssertionError:
        print(worker.output())
        raise
    finally:
        worker.stop()


def test_asterisk_restarted_mid_campaign_loses_nothing(asterisk_lab, redis_server, engine: Engine,  # type: ignore[no-untyped-def]
                                                       database_url: str, tmp_path: Path) -> None:
    _exclusive_lab(asterisk_lab)
    sessions = session_factory(engine)
    seeded = seed_campaign(sessions, contacts(), settings=SETTINGS, name="restart-asterisk")
    worker = Worker("solo", database_url, redis_server.url, tmp_path)
    try:
        wait_for(sessions, seeded.campaign_id, calls_in_progress(2), 60, "two calls in progress")
        time.sleep(2)  # let them reach their flows
        os.kill(asterisk_lab.state.pid, signal.SIGKILL)
        time.sleep(1)
        up(asterisk_lab.settings)
        campaign, rows, calls = wait_for(sessions, seeded.campaign_id, completed, 180, "the campaign to complete")
        assert worker.process.poll() is None, worker.output()
        assert_exactly_once(rows, calls)
        assert any(call.cause == "switch_lost" or call.outcome == "failed" for call in calls), \
            [(c.outcome, c.cause) for c in calls]
    except AssertionError:
        print(worker.output())
        raise
    finally:
        up(asterisk_lab.settings)
        worker.stop()
