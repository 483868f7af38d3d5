"""A campaign worker SIGKILLed mid-campaign with a second one running (PostgreSQL and SQLite):
each attempt is one transaction (session, queued message, attempt, charge), so the killed worker
leaves every contact either pending with nothing queued or done with exactly one message; the
other worker adopts the campaign when the lock expires (4 s here) and finishes it. The bridge
sends what both queued, each once."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from tests.sms_bridge.faults.campaign import fault_campaign
from voiceplatform.smsc import SmscSettings
from voiceplatform.testing.redis import RedisServer

pytestmark = pytest.mark.integration


def test_a_worker_killed_mid_campaign(engine: Engine, database_url: str, redis_server: RedisServer,
                                      healthy_gateway: SmscSettings, tmp_path: Path) -> None:
    with fault_campaign(engine, database_url, redis_server.url, healthy_gateway, tmp_path) as run:
        run.start_bridge()
        run.start_worker("w1")
        run.start_worker("w2")
        run.wait_submitted(200)
        owner = redis_server.client().get(f"vp:lock:campaign:{run.seeded.campaign_id}")
        assert owner in (b"w1", b"w2"), owner
        victim = run.workers[owner.decode()]
        victim.kill()
        run.wait_settled()
        outcome = run.check(run.stop())
        print(outcome.line(f"worker killed ({database_url.split(':')[0]})"))
