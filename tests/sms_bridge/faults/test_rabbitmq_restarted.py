"""The gateway's RabbitMQ restarted mid-campaign (the fault gateway's **private** node, never the
machine's broker; PostgreSQL). While the broker is away Jasmin refuses submits
(ESME_RSUBMITFAIL, ESME_RSYSERR: tried again by the bridge, never rejected) or drops the bind
with submits in flight (``unknown``); once the broker is back Jasmin is connected but consumes
nothing, which the smsc manager's health check sees and its repair mends by restarting Jasmin.
Every contact is final once; no message reached the handset network twice but one Jasmin itself
may send again."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from tests.sms_bridge.faults.campaign import WRITE_LAG, answered_by, fault_campaign
from voiceplatform.models.base import utcnow
from voiceplatform.lab.polling import poll
from voiceplatform.smsc import SmscSettings, health, repair
from voiceplatform.smsc.control import restart_private_rabbitmq
from voiceplatform.testing.redis import RedisServer

pytestmark = [pytest.mark.integration, pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)]


def test_rabbitmq_restarted_mid_campaign(engine: Engine, database_url: str, redis_server: RedisServer,
                                         healthy_gateway: SmscSettings, tmp_path: Path) -> None:
    with fault_campaign(engine, database_url, redis_server.url, healthy_gateway, tmp_path) as run:
        run.start_bridge()
        run.start_worker("w1")
        run.wait_submitted(200)
        restart_private_rabbitmq(healthy_gateway)
        unhealthy = poll(lambda: (lambda found: None if found.healthy else found)(
            health.rabbit(healthy_gateway, run.state)), 30)
        assert unhealthy is not None and "no consumer on" in unhealthy.detail, "Jasmin kept its consumers"
        actions = repair(healthy_gateway)
        assert any("restarted Jasmin" in action for action in actions), actions
        # Jasmin's queues are not durable and its messages not persistent: what it had accepted
        # and not yet sent when the broker went down is gone, and stays accepted with no receipt.
        # That is any message it accepted before the restart, not only during the outage: its
        # connector sends about 94/s while it accepts ten times that, so its queue held a backlog
        # (seen: 181 accepted before the restart, never sent). What it accepts after the repair
        # must be final.
        lost_by_jasmin = answered_by(utcnow() + timedelta(seconds=WRITE_LAG))
        run.wait_settled(excused=lost_by_jasmin)
        outcome = run.check(run.stop(), jasmin_resends_allowed=1, excused=lost_by_jasmin)
        print(outcome.line("RabbitMQ restarted"))
