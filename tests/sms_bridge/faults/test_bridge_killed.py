"""The SMS bridge process SIGKILLed mid-campaign and a second one started (PostgreSQL): the
messages the killed bridge had claimed stay claimed until the lease runs out (10 s here); the
second bridge then settles them: a part without a stored answer may have reached the gateway, so
it is ``unknown``, never sent again. Everything still queued is sent by the second bridge, once;
receipts for what the first had submitted come to the second (Jasmin delivers to any bind of the
account) and are held until they match, or stay held for a message whose answer died with the
first bridge (that message is ``unknown``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from tests.sms_bridge.faults.campaign import fault_campaign
from voiceplatform.smsc import SmscSettings
from voiceplatform.testing.redis import RedisServer

pytestmark = [pytest.mark.integration, pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)]


def test_the_bridge_killed_mid_campaign(engine: Engine, database_url: str, redis_server: RedisServer,
                                        healthy_gateway: SmscSettings, tmp_path: Path) -> None:
    with fault_campaign(engine, database_url, redis_server.url, healthy_gateway, tmp_path) as run:
        first = run.start_bridge()
        run.start_worker("w1")
        run.wait_submitted(200)
        run.wait_in_flight()
        first.kill()
        run.start_bridge()
        run.wait_settled()
        outcome = run.check(None)  # the first bridge's counters died with it
        run.stop()
        print(outcome.line("bridge killed"))
