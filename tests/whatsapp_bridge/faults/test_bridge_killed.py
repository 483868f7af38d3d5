"""The WhatsApp bridge SIGKILLed mid-campaign and started again (SQLite and PostgreSQL): the
campaign queues faster than the number's tier, so the bridge has claims in hand (sends waiting
for their throughput grant, sends whose answers are not written yet) when it dies. Its claims
run out (a lease of 3 s here) and the new bridge's upkeep settles them ``unknown``: each may
have gone, so none is sent again; the messages it never claimed it sends, within the tier.
Every contact is final once, no recipient is in the contract server's sent log twice, and every
message is delivered or unknown; the webhooks Meta could not post while no bridge listened
come again to the new one.

The campaign queues faster than the tier, so the bridge sends at the tier: the server may
throttle a few sends (130429) when this machine stalls the bridge or the server (the contract
server runs in this process, and stamps a request when it handles it): each is sent again later,
once, which the checks prove; their count is printed."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from tests.campaigns.messaging_world import numbers
from tests.whatsapp_bridge.faults.campaign import whatsapp_run
from voiceplatform.testing.redis import RedisServer

pytestmark = pytest.mark.integration

CONTACTS = 300


def test_the_bridge_killed_and_restarted_sends_each_message_once_or_says_unknown(
        engine: Engine, database_url: str, redis_server: RedisServer, tmp_path: Path) -> None:
    phones = numbers(CONTACTS, start=4000)
    with whatsapp_run(engine, database_url, redis_server.url, tmp_path, phones,
                      settings={"calls_per_second": 200}) as run:
        first = run.start_bridge()
        run.start_worker("w1")
        run.wait_messages(60, send_state="sent")
        run.wait_messages(1, send_state="sending")
        first.kill()
        with run.sessions() as db:
            claimed = sum(m.send_state == "sending" for m in run.messages(db))
        run.start_bridge()
        run.wait_settled(timeout=90)
        run.stop()
        outcome = run.check_once()
        assert 0 < outcome.unknown <= claimed, (outcome.unknown, claimed)
        assert outcome.statuses["delivered"] + outcome.unknown == CONTACTS
        print(outcome.line(f"bridge killed with {claimed} claimed ({database_url.split(':')[0]})"))
