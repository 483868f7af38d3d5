"""A worker killed mid-campaign loses nothing and sends nothing twice, on SQLite and PostgreSQL:
two real ``voiceplatform worker`` processes with no switch (``VOICEPLATFORM_SWITCH=none``) and a
private Redis run an SMS campaign on the dev channel; the one holding the campaign is SIGKILLed
while it sends. The other adopts the campaign once the lock expires and finishes it: every
contact is final with exactly one attempt, one session and one message."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select

from tests.campaigns.messaging_world import numbers, seed_messaging
from tests.dialer.lab_campaign import Worker, completed, wait_for
from voiceplatform.db import session_factory
from voiceplatform.models import CampaignContactStatus, CampaignMessage
from voiceplatform.models.sessions import DevMessage, FlowSession

CONTACTS = 40


def _sent_at_least(count: int) -> Any:
    def check(_campaign: object, rows: list[Any], _calls: object) -> bool:
        return sum(row.status == CampaignContactStatus.DONE for row in rows) >= count
    return check


def test_a_worker_killed_mid_campaign_leaves_one_session_per_contact(redis_server: Any, engine: Engine,
                                                                     database_url: str, tmp_path: Path) -> None:
    sessions = session_factory(engine)
    phones = numbers(CONTACTS, 900)
    seeded = seed_messaging(sessions, phones, name="sms-kill-worker", settings={"calls_per_second": 4})
    workers = {name: Worker(name, database_url, redis_server.url, tmp_path, VOICEPLATFORM_SWITCH="none")
               for name in ("m1", "m2")}
    try:
        wait_for(sessions, seeded.campaign_id, _sent_at_least(5), 90, "five messages sent")
        owner = redis_server.client().get(f"vp:lock:campaign:{seeded.campaign_id}")
        assert owner is not None, "no worker holds the campaign"
        victim = workers[owner.decode()]
        victim.kill()
        survivor = next(worker for worker in workers.values() if worker is not victim)
        with sessions() as db:
            before = db.scalar(select(func.count()).select_from(CampaignMessage)
                               .where(CampaignMessage.campaign_id == seeded.campaign_id))
        assert before is not None and before < CONTACTS, "the campaign ended before the kill"
        _campaign, rows, _calls = wait_for(sessions, seeded.campaign_id, completed, 120, "the campaign to complete")
        assert survivor.process.poll() is None, survivor.output()
        assert all((row.status, row.attempts, row.last_outcome) == (CampaignContactStatus.DONE, 1, "sent") for row in rows)
        with sessions() as db:
            by_contact = db.execute(select(FlowSession.campaign_contact_id, func.count()).where(
                FlowSession.campaign_contact_id.in_([row.id for row in rows])).group_by(FlowSession.campaign_contact_id)).all()
            attempts = db.scalar(select(func.count()).select_from(CampaignMessage)
                                 .where(CampaignMessage.campaign_id == seeded.campaign_id))
            sent_to = db.scalars(select(DevMessage.to_address).where(DevMessage.account_id == seeded.account_id)).all()
        assert len(by_contact) == CONTACTS and all(count == 1 for _, count in by_contact)
        assert attempts == CONTACTS
        assert sorted(sent_to) == sorted(phones)  # each contact's message once
    except AssertionError:
        print("\n".join(worker.output() for worker in workers.values()))
        raise
    finally:
        for worker in workers.values():
            worker.stop()  # waits for the process to exit: nothing is left running
