"""Running campaigns against the real Asterisk lab with real worker processes, and the checks
every fault test makes: each contact final exactly once, no call placed twice, the cap held."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from voiceplatform.testing.overlap import max_overlap
from voiceplatform.models import Call, Campaign, CampaignContact, CampaignContactStatus, CampaignStatus

PROJECT = Path(__file__).resolve().parents[2]
FINAL = {CampaignContactStatus.DONE, CampaignContactStatus.SKIPPED, CampaignContactStatus.CANCELLED}


class Worker:
    """``voiceplatform worker`` in its own process, logging to a file the test can show."""

    def __init__(self, name: str, database_url: str, redis_url: str, log_dir: Path, **env: str) -> None:
        self.name = name
        self.log = log_dir / f"worker-{name}.log"
        environment = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_url,
                       "VOICEPLATFORM_LOCK_TTL_SECONDS": "4", "VOICEPLATFORM_CLAIM_LEASE_SECONDS": "5",
                       "VOICEPLATFORM_SWITCH_NAME": f"lab-{os.getpid()}", **env}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "voiceplatform", "worker", "--name", name], cwd=PROJECT, env=environment,
            stdout=self.log.open("w"), stderr=subprocess.STDOUT)

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.kill()

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


def wait_for(sessions: sessionmaker[Session], campaign_id: int, condition, timeout: float, what: str):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with sessions() as session:
            campaign = session.get(Campaign, campaign_id)
            rows = session.scalars(select(CampaignContact).where(CampaignContact.campaign_id == campaign_id)).all()
            calls = session.scalars(select(Call).where(Call.campaign_id == campaign_id)).all()
            if condition(campaign, rows, calls):
                return campaign, rows, calls
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def completed(campaign: Campaign, _rows: object, _calls: object) -> bool:
    return campaign.status == CampaignStatus.COMPLETED


def assert_exactly_once(rows: list[CampaignContact], calls: list[Call]) -> None:
    """Every contact final; every attempt one call; no contact with two calls at once."""
    assert rows and all(row.status in FINAL for row in rows), [(row.id, row.status) for row in rows]
    assert all(call.outcome is not None for call in calls), [(c.id, c.outcome) for c in calls]
    by_contact: dict[int, list[Call]] = {}
    for call in calls:
        by_contact.setdefault(call.campaign_contact_id, []).append(call)
    for row in rows:
        mine = by_contact.get(row.id, [])
        assert len(mine) == row.attempts, (row.id, row.attempts, [(c.id, c.outcome, c.cause) for c in mine])
        spans = [(c.queued_at, c.ended_at or c.queued_at) for c in mine]
        assert max_overlap(spans) <= 1, f"contact {row.id} was called twice at once: {spans}"
