"""A WhatsApp campaign's worker SIGKILLed mid-campaign with a second one running (SQLite and
PostgreSQL): each attempt is one transaction (session, queued ``whatsapp_messages`` row,
attempt), so the killed worker leaves every contact either pending with nothing queued or done
with exactly one message; the other worker adopts the campaign when its lock expires (4 s here)
and finishes it. The bridge sends what both queued, each once, within the number's tier."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from tests.campaigns.messaging_world import numbers
from tests.whatsapp_bridge.faults.campaign import whatsapp_run
from voiceplatform.testing.redis import RedisServer

pytestmark = pytest.mark.integration

CONTACTS = 300


def test_a_worker_killed_mid_campaign_loses_nothing_and_sends_nothing_twice(
        engine: Engine, database_url: str, redis_server: RedisServer, tmp_path: Path) -> None:
    phones = numbers(CONTACTS, start=3000)
    with whatsapp_run(engine, database_url, redis_server.url, tmp_path, phones,
                      settings={"calls_per_second": 60}) as run:
        run.start_bridge()
        run.start_worker("w1")
        run.start_worker("w2")
        run.wait_messages(60)
        owner = redis_server.client().get(f"vp:lock:campaign:{run.seeded.campaign_id}")
        assert owner in (b"w1", b"w2"), owner
        run.workers[owner.decode()].kill()
        with run.sessions() as db:
            at_kill = len(run.messages(db))
        assert at_kill < CONTACTS, "the campaign was over before the worker was killed"
        run.wait_settled(timeout=90)
        run.stop()
        outcome = run.check_once()
        assert outcome.unknown == 0  # the bridge was never interrupted
        assert outcome.throttled == 0  # the campaign's rate is under the tier
        print(outcome.line(f"worker killed at {at_kill} of {CONTACTS} ({database_url.split(':')[0]})"))
