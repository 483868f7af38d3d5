"""Pacing accuracy of the dialler against the real Asterisk lab (part of bench/campaign.py).

For each configured rate, a campaign of short calls (the lab's busy numbers: the call is over as
soon as it is placed, so concurrency never limits the rate) is dialled by the embedded runtime
through the real AsteriskDriver. The achieved rate is measured two ways: from the dispatcher's own
dial times, and from the ``dialling`` timestamps the calls recorded. Then a campaign of longer
calls (hang up mid-prompt, a few seconds each) at a rate the cap must hold back: the most calls
ever open at once, from the calls' own start and end times, against ``max_concurrent``.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from voiceplatform.lab.numbers import numbers_like
from voiceplatform.models import Call, Campaign, CampaignStatus
from voiceplatform.testing.campaign_seed import seed_campaign
from voiceplatform.testing.overlap import max_overlap


@dataclass
class PacingRun:
    purpose: str  # "rate": is the configured rate achieved? "cap": does the cap hold?
    configured_cps: float
    contacts: int
    achieved_cps_dispatcher: float
    achieved_cps_switch: float
    error_percent: float
    within_5_percent: bool
    max_concurrent: int
    peak_concurrent_seen: int
    cap_held: bool
    seconds: float


def _wait_completed(sessions: sessionmaker[Session], campaign_id: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with sessions() as session:
            if session.get(Campaign, campaign_id).status == CampaignStatus.COMPLETED:
                return
        time.sleep(0.25)
    raise TimeoutError(f"campaign {campaign_id} did not complete in {timeout}s")


def _rate(times: list[float]) -> float:
    times = sorted(times)
    return (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 and times[-1] > times[0] else 0.0


def run_one(sessions: sessionmaker[Session], dialer: Any, callee: str, count: int, cps: float, cap: int,
            offset: int, purpose: str = "rate") -> PacingRun:
    settings = {"calls_per_second": cps, "max_concurrent": cap, "ring_seconds": 10,
                "retries": {"busy": {"retries": 0}, "failed": {"retries": 0}, "congestion": {"retries": 0}}}
    seeded = seed_campaign(sessions, numbers_like(callee, count, offset), settings=settings,
                           name=f"pacing-{callee}-{cps}", balance="1000")
    began = time.monotonic()
    dialer.runtime.wake()
    _wait_completed(sessions, seeded.campaign_id, timeout=count / cps * 3 + 60)
    seconds = time.monotonic() - began
    dispatcher_times: list[float] = []
    for dispatcher, _ in dialer.runtime.dispatchers.values():
        if dispatcher.campaign_id == seeded.campaign_id:
            dispatcher_times = dispatcher.stats.dial_times
    with sessions() as session:
        calls = session.scalars(select(Call).where(Call.campaign_id == seeded.campaign_id)).all()
        switch_times = [call.dialling_at.timestamp() for call in calls if call.dialling_at]
        spans = [(call.dialling_at, call.ended_at) for call in calls if call.dialling_at and call.ended_at]
    achieved = _rate(dispatcher_times) if dispatcher_times else _rate(switch_times)
    error = 100.0 * (achieved - cps) / cps
    peak = max_overlap(spans)
    return PacingRun(purpose, cps, count, round(achieved, 3), round(_rate(switch_times), 3), round(error, 2),
                     abs(error) <= 5.0, cap, peak, peak <= cap, round(seconds, 1))


def measure_pacing(database_url: str, rates: tuple[float, ...] = (2.0, 5.0, 10.0), seconds_per_rate: float = 12.0) -> dict[str, Any]:
    """Start the lab if needed, run the embedded dialler on it, and measure each rate and the cap."""
    from voiceplatform.db import make_engine, session_factory, upgrade
    from voiceplatform.dialer.process import start_dialer
    from voiceplatform.lab import LabSettings, up

    up(LabSettings.from_env())
    upgrade(database_url)
    sessions = session_factory(make_engine(database_url))
    dialer = start_dialer(sessions, switch="asterisk", capacity=200)
    runs: list[PacingRun] = []
    try:
        offset = int(time.time()) % 500
        for cps in rates:
            count = max(10, int(cps * seconds_per_rate))
            runs.append(run_one(sessions, dialer, "busy", count, cps, cap=50, offset=offset))
        runs.append(run_one(sessions, dialer, "hangup-mid-prompt", 20, 5.0, cap=4, offset=offset, purpose="cap"))
    finally:
        dialer.stop(timeout=60)
    return {"runs": [asdict(run) for run in runs],
            "rates_within_5_percent": all(run.within_5_percent for run in runs if run.purpose == "rate"),
            "cap_held": all(run.cap_held for run in runs)}


def print_pacing(result: dict[str, Any]) -> None:
    print("pacing against the lab (busy numbers for the rate; hang-up-mid-prompt calls against a cap of 4)")
    print(f"{'configured/s':>12} {'contacts':>8} {'achieved/s':>10} {'by switch':>9} {'error %':>8} {'<=5%':>5} "
          f"{'cap':>4} {'peak':>5} {'held':>5}")
    for run in result["runs"]:
        print(f"{run['configured_cps']:>12.1f} {run['contacts']:>8} {run['achieved_cps_dispatcher']:>10.3f} "
              f"{run['achieved_cps_switch']:>9.3f} {run['error_percent']:>8.2f} {_verdict(run):>5} "
              f"{run['max_concurrent']:>4} {run['peak_concurrent_seen']:>5} {'yes' if run['cap_held'] else 'NO':>5}")


def _verdict(run: dict[str, Any]) -> str:
    if run["purpose"] == "cap":
        return "capped"  # offered faster than the cap allows: the rate is the cap's
    return "yes" if run["within_5_percent"] else "NO"
