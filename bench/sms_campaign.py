"""Section 5 of bench/sms.py: a personalised SMS campaign on the production path, in real
processes.

- The contacts come from a CSV through the contact importer (``first_name``, ``amount``,
  ``due_date`` columns); the campaign is ``channel: sms`` on a flow whose first step is an
  ``@column`` template, sent now (its window always open, its pacing at the settings' maxima).
- A ``voiceplatform worker`` process with no switch (``VOICEPLATFORM_SWITCH=none``,
  ``VOICEPLATFORM_CHANNELS=sms_bridge.driver:register``) and a private Redis adopts it: fan-out,
  then each contact's session started, its text personalised, measured and queued by the
  ``sms`` driver, the attempt recorded and charged.
- A ``python -m sms_bridge`` process (production settings) submits the queue straight to the
  handset network and stores the receipts.

Measured from the commit that sets the campaign running: the fan-out, every attempt recorded,
every message submitted, every receipt stored; the two processes' RSS, sampled every half
second (their peak and last); the CPU share of each process and the machine's load.

The progress is polled cheaply, so that the measurement does not take the machine's CPU from
what it measures: until every message is submitted, only what is left is counted (the pending
contacts on the due index, the queued and submitting messages on their partial indexes), each
count the size of the backlog, not of the campaign (a count of every message by state, twice a
second, took 40-60 ms of PostgreSQL each time near the end of a 150,000-contact run); the count
of every message by state is made only once they are all submitted, for the receipts.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

import sms_seed
from sms_machine import CpuWatch, rss_mb
from voiceplatform.db import make_engine, session_factory
from voiceplatform.db.partial_indexes import inline
from voiceplatform.models import Campaign, CampaignContact, CampaignContactStatus, CampaignStatus
from voiceplatform.models.base import utcnow
from voiceplatform.models.sms import QUEUED, SUBMITTING, SmsMessage
from voiceplatform.smsc.state import SmscState
from voiceplatform.testing.redis import RedisServer, _die_with_parent

ROOT = Path(__file__).resolve().parents[1]
OURS = "+12025559700"
FLOW = """spec_version: 1
name: bench_sms_campaign
channels: [sms]
start: reminder
nodes:
  - id: reminder
    type: say
    text: "Hello @first_name, your balance of @amount SAR is due on @due_date. Reply STOP to opt out."
"""
#: sent now, as fast as the campaign settings allow (their maxima)
SETTINGS = {"window": {"start": "00:00", "end": "24:00"}, "calls_per_second": 2000, "max_sessions_per_second": 5000}
SAMPLE_EVERY = 0.5
STALLED = 120.0  # seconds without progress: the run is given up (and its logs shown)


AREAS = (201, 202, 203, 205, 206, 207, 208, 209, 210, 212, 213, 214, 215, 216, 217, 218, 219, 224, 225, 228)


def phones(count: int) -> list[str]:
    """Distinct valid US numbers the handset network delivers (outside its scripted ranges)."""
    return [f"+1{AREAS[n % 20]}{200 + (n // 20) % 800}{n // 16000:04d}" for n in range(count)]


class Process:
    def __init__(self, name: str, argv: list[str], env: dict[str, str], log: Path) -> None:
        self.name = name
        self.log = log
        with log.open("w") as out:
            self.process = subprocess.Popen(argv, cwd=ROOT, env={**os.environ, "PYTHONUNBUFFERED": "1", **env},
                                            stdout=out, stderr=subprocess.STDOUT,
                                            preexec_fn=_die_with_parent)  # a killed benchmark leaves none behind

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]


def _backlog(sessions: sessionmaker[Session], campaign_id: int, account_id: int) -> tuple[int, int, bool]:
    """The contacts still pending, the messages not yet submitted (queued or being submitted),
    and whether the campaign has fanned out: counts of what is left, each read on its index."""
    with sessions() as db:
        pending = db.scalar(select(func.count()).select_from(CampaignContact).where(
            CampaignContact.campaign_id == campaign_id, CampaignContact.status == inline(CampaignContactStatus.PENDING.value)))
        unsent = sum(int(db.scalar(select(func.count()).select_from(SmsMessage).where(
            SmsMessage.send_state == inline(state), SmsMessage.account_id == account_id)) or 0)
            for state in (QUEUED, SUBMITTING))
        fanned_out = db.scalar(select(Campaign.fanned_out_at).where(Campaign.id == campaign_id))
    return int(pending or 0), unsent, fanned_out is not None


def _progress(sessions: sessionmaker[Session], campaign_id: int, account_id: int) -> dict[str, int]:
    with sessions() as db:
        contacts = dict(db.execute(select(CampaignContact.status, func.count()).where(
            CampaignContact.campaign_id == campaign_id).group_by(CampaignContact.status)).all())
        states = db.execute(select(SmsMessage.send_state, SmsMessage.status, func.count())
                            .where(SmsMessage.account_id == account_id)
                            .group_by(SmsMessage.send_state, SmsMessage.status)).all()
        fanned_out = db.scalar(select(Campaign.fanned_out_at).where(Campaign.id == campaign_id))
    found = {f"contacts_{getattr(status, 'value', status)}": int(n) for status, n in contacts.items()}
    found["messages"] = sum(int(n) for _, _, n in states)
    found["submitted"] = sum(int(n) for state, _, n in states if state == "submitted")
    found["delivered"] = sum(int(n) for state, status, n in states if status == "delivered")
    found["fanned_out"] = int(fanned_out is not None)
    return found


def run(url: str, state: SmscState, work: Path, count: int, timeout: float = 1800) -> dict[str, Any]:
    sessions = session_factory(make_engine(url))
    owner = sms_seed.sms_account(sessions, FLOW, "bench_sms_campaign", OURS, "bench-campaign")
    campaign_id, import_seconds = sms_seed.personalised_campaign(sessions, owner, phones(count), SETTINGS)
    handsets = state.handsets
    smpp_url = f"smpp://{handsets.system_id}:{handsets.password}@{state.host}:{handsets.smpp_port}"
    with RedisServer() as redis:
        common = {"DATABASE_URL": url, "VOICEPLATFORM_CHANNELS": "sms_bridge.driver:register"}
        bridge = Process("bridge", [sys.executable, "-m", "sms_bridge", "--database-url", url],
                         {**common, "VOICEPLATFORM_SMPP_URL": smpp_url}, work / "campaign-bridge.log")
        worker = Process("worker", [sys.executable, "-m", "voiceplatform", "worker", "--name", "bench"],
                         {**common, "REDIS_URL": redis.url, "VOICEPLATFORM_SWITCH": "none"},
                         work / "campaign-worker.log")
        try:
            measured = _measure(sessions, campaign_id, owner.account_id, count, bridge, worker, timeout)
            return {**measured, "import_seconds": round(import_seconds, 2)}
        finally:
            worker.stop()
            bridge.stop()


def _measure(sessions: sessionmaker[Session], campaign_id: int, account_id: int, count: int, bridge: Process,
             worker: Process, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while "bound to" not in bridge.log.read_text(errors="replace"):  # the bridge's binds are up
        if time.monotonic() > deadline or bridge.process.poll() is not None:
            raise RuntimeError(f"the bridge did not bind:\n{bridge.tail()}")
        time.sleep(0.1)
    peaks = {"worker": 0.0, "bridge": 0.0}
    last: dict[str, float | None] = {}
    marks: dict[str, float] = {}
    watch = CpuWatch({"worker": lambda: [worker.pid], "bridge": lambda: [bridge.pid]}).start()
    with sessions.begin() as db:
        db.execute(update(Campaign).where(Campaign.id == campaign_id)
                   .values(status=CampaignStatus.RUNNING, started_at=utcnow()))
    began = time.perf_counter()
    progress: dict[str, int] = {}
    moved_at, seen = began, (-1, -1, -1)
    while time.perf_counter() - began < timeout:
        for name, process in (("worker", worker), ("bridge", bridge)):
            last[name] = rss_mb(process.pid)
            peaks[name] = max(peaks[name], last[name] or 0.0)
            if process.process.poll() is not None:
                raise RuntimeError(f"the {name} exited:\n{process.tail()}")
        pending, unsent, fanned_out = _backlog(sessions, campaign_id, account_id)
        # a session exists if and only if its attempt is recorded, with its message, in one transaction
        if fanned_out and not pending and not unsent:
            progress = _progress(sessions, campaign_id, account_id)
        now = time.perf_counter() - began
        moved = (pending, unsent, progress.get("delivered", 0))
        if moved != seen:
            moved_at, seen = time.perf_counter(), moved
        elif time.perf_counter() - moved_at > STALLED:
            raise RuntimeError(f"the campaign made no progress for {STALLED:.0f} s: {moved} (pending, unsent, "
                               f"delivered)\nworker:\n{worker.tail()}\nbridge:\n{bridge.tail()}")
        if fanned_out:
            marks.setdefault("fanned_out", now)
            if not pending:
                marks.setdefault("attempts_recorded", now)
        if progress and progress["submitted"] >= count:
            marks.setdefault("submitted", now)
        if progress and progress["delivered"] >= count:
            marks.setdefault("delivered", now)
            break
        time.sleep(SAMPLE_EVERY)
    progress = _progress(sessions, campaign_id, account_id)
    machine = watch.stop()
    seconds = {name: round(at, 1) for name, at in marks.items()}
    return {"contacts": count, "seconds": seconds, "progress": progress,
            "submitted_per_s": round(count / marks["submitted"]) if "submitted" in marks else None,
            "worker_rss_mb": {"peak": peaks["worker"], "last": last.get("worker")},
            "bridge_rss_mb": {"peak": peaks["bridge"], "last": last.get("bridge")}, **machine}


def rows(result: dict[str, Any], target: str) -> list[tuple[str, str, str, str]]:
    seconds = result["seconds"]
    figure = (f"{seconds['submitted']} s to every message submitted, {seconds.get('delivered', '-')} s to every "
              f"receipt" if "submitted" in seconds else f"not done in time: {result['progress']}")
    stages = ", ".join(f"{name.replace('_', ' ')} at {at} s" for name, at in seconds.items())
    return [
        (f"a {result['contacts']:,}-contact personalised SMS campaign, straight (worker + bridge processes)", target,
         figure, f"{stages}; import {result['import_seconds']} s (not counted)"),
        ("  worker memory during that campaign", "report",
         f"RSS peak {result['worker_rss_mb']['peak']} MB (bridge {result['bridge_rss_mb']['peak']} MB)",
         f"worker {result['worker_cpu']:.0%}, bridge {result['bridge_cpu']:.0%} of a core; load "
         f"{result['load_before']:.1f}/{result['load_after']:.1f}, machine {result['machine_busy']:.0%}"),
    ]
