"""Both Redis servers restarted mid-campaign (PostgreSQL): the workers' (campaign locks, rq: it
comes back empty, as a Redis without persistence does) and Jasmin's private one (DLR mappings,
kept in its append-only file), brought back by the smsc manager's repair. The worker renews its
campaign lock into the empty Redis and carries on; no contact is sent twice. While its Redis is
away Jasmin still takes submits but cannot store their receipt mappings ("SMPPs mapping is not
done ... RC is not connected"), so those messages, delivered to the handsets once, stay
``accepted``: they are the only ones allowed to, and only if answered while Redis was away."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import redis
from sqlalchemy import Engine

from tests.sms_bridge.faults.campaign import WRITE_LAG, between, fault_campaign
from voiceplatform.lab.polling import poll
from voiceplatform.models.base import utcnow
from voiceplatform.smsc import SmscSettings, processes, repair
from voiceplatform.testing.redis import RedisServer

pytestmark = [pytest.mark.integration, pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)]


def test_both_redis_servers_restarted_mid_campaign(engine: Engine, database_url: str, redis_server: RedisServer,
                                                   healthy_gateway: SmscSettings, tmp_path: Path) -> None:
    with fault_campaign(engine, database_url, redis_server.url, healthy_gateway, tmp_path) as run:
        run.start_bridge()
        run.start_worker("w1")
        run.wait_submitted(200)
        lock = f"vp:lock:campaign:{run.seeded.campaign_id}"
        assert redis_server.client().get(lock) == b"w1"
        began = utcnow()
        redis_server.restart()  # empty: the lock is gone
        assert processes.stop(run.state.redis) == "terminated"
        actions = repair(healthy_gateway)
        assert any("restarted redis-server" in action for action in actions), actions
        jasmins_redis = redis.Redis(port=run.state.redis_port, socket_timeout=5)
        # Jasmin reconnects on its own backoff (Twisted's: 1 s growing by e): until then it maps nothing
        assert poll(lambda: True if len(jasmins_redis.client_list()) > 1 else None, 60), "Jasmin never reconnected"
        jasmins_redis.close()
        without_mapping = between(began, utcnow() + timedelta(seconds=WRITE_LAG))
        run.wait_settled(excused=without_mapping)
        assert redis_server.client().get(lock) in (b"w1", None)  # renewed by its one worker (or released)
        outcome = run.check(run.stop(), excused=without_mapping)
        print(outcome.line("Redis restarted"))
