"""Benchmark: inbound calls answered per second into the IVR, over real SIP into the lab.

``python bench/asterisk_calls.py --inbound [--calls 100] [--cps 25]`` runs it (or this file on
its own). sipp calls the lab's Asterisk as a carrier would (a UAC, through the lab's trunk),
``--calls`` calls at ``--cps`` per second, and once more all offered at ``--burst-cps``; each
call dials a number of a benchmark account whose inbound flow is bench/flows/bench_ivr.yaml
(a prompt, one DTMF key typed ahead by the caller, a short recording, goodbye). The worker
routes every call through the database router (SQLite in a scratch folder: the number, its
account, the published flow, the caller's contact, the call's inbound row) and answers it.

Measured: calls answered per second (answered calls over the time from the first call's
arrival to the last call's answer), the time from a call's arrival at the worker (FastAGI) to
its answer (p50 / p99: the routing and the answer), the calls held at once, the AGI round trip
p99, and Asterisk's CPU per call. Not a timed test: figures for the closing note.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gevent

ROOT = Path(__file__).resolve().parents[1]
NUMBER = "+12025559990"
CALLER = "+12025559991"


@dataclass
class CollectingSink:
    """Keeps every finished record, and saves it through the real sink."""

    inner: Any
    records: list[Any] = field(default_factory=list)

    def call_ended(self, record: Any) -> None:
        self.records.append(record)
        self.inner.call_ended(record)


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) used so far by a process and all its threads."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _percentile(values: list[float], share: float) -> float | None:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))] if ordered else None


def _seed(sessions: Any) -> None:
    from decimal import Decimal

    from voiceplatform.models import Account, FlowStatus, FlowVersion, Number, NumberChannel
    from voiceplatform.models.base import utcnow

    definition = (ROOT / "bench" / "flows" / "bench_ivr.yaml").read_text()
    with sessions.begin() as session:
        owner = Account(name="bench-inbound", balance=Decimal("100"))
        session.add(owner)
        session.flush()
        session.add(FlowVersion(account_id=owner.id, name="bench_ivr", version=1, status=FlowStatus.PUBLISHED,
                                definition=definition, checksum=FlowVersion.checksum_of(definition), published_at=utcnow()))
        session.add(Number(account_id=owner.id, number=NUMBER, flow_name="bench_ivr", channels=[NumberChannel(channel="voice")]))


def _one_run(driver: Any, sink: CollectingSink, settings: Any, folder: Path, audio: Path, calls: int, cps: float,
             asterisk_pid: int) -> dict[str, Any]:
    from voiceplatform.lab.inbound import sip_address
    from voiceplatform.lab.control import running_state
    from voiceplatform.calls.outcomes import CallOutcome
    from voiceplatform.testing.sipp import Sipp, scenario

    state = running_state(settings)
    assert state is not None
    sink.records.clear()
    driver.agi_round_trips.clear()
    peak = 0
    ast0 = process_cpu(asterisk_pid)
    began = time.perf_counter()
    sipp = Sipp(scenario("uac-inbound"), folder / f"uac-{uuid.uuid4().hex[:6]}", role="uac", remote=sip_address(state),
                service=NUMBER, calls=calls, rate=cps, keys={"caller": CALLER, "payloads": "0 101", "audio": str(audio)},
                extra_args=("-l", str(calls))).start()
    try:
        while sipp.running() and time.perf_counter() - began < 300:
            peak = max(peak, driver.active_calls)
            gevent.sleep(0.05)
    finally:
        sipp.stop()
    for _ in range(200):
        if driver.active_calls == 0:
            break
        gevent.sleep(0.05)
    elapsed = time.perf_counter() - began
    ast1 = process_cpu(asterisk_pid)
    records = list(sink.records)
    answered = [r for r in records if r.outcome is CallOutcome.ANSWERED and "answered" in r.timestamps]
    good = [r for r in answered if r.path[-1:] == ["done"] and not r.errors and len(r.recordings) == 1]
    arrivals = [r.timestamps["queued"] for r in answered]
    answers = [r.timestamps["answered"] for r in answered]
    span = (max(answers) - min(arrivals)).total_seconds() if answered else 0.0
    latency = [(r.timestamps["answered"] - r.timestamps["queued"]).total_seconds() * 1000 for r in answered]
    trips = list(driver.agi_round_trips)
    return {
        "calls": calls, "offered_cps": cps, "answered": len(answered), "completed": len(good),
        "failures": calls - len(good), "failure_samples": [r.to_dict() for r in records if r not in good][:2],
        "answered_per_s": len(answered) / span if span else None, "span_s": span, "elapsed_s": elapsed,
        "arrival_to_answer_p50_ms": _percentile(latency, 0.5), "arrival_to_answer_p99_ms": _percentile(latency, 0.99),
        "peak_held": peak, "agi_p99_ms": (_percentile(trips, 0.99) or 0) * 1000,
        "asterisk_cpu_per_call_s": (ast1 - ast0) / calls,
    }


def run(calls: int = 100, cps: float = 25.0, burst_cps: float = 100.0, out: Path | None = None) -> dict[str, Any]:
    from voiceplatform.campaigns.pricing import Rates
    from voiceplatform.db import make_engine, session_factory, upgrade
    from voiceplatform.dialer.settle import DialerCallSink
    from voiceplatform.inbound.router import DatabaseInboundRouter
    from voiceplatform.lab import LabSettings, up
    from voiceplatform.lab.inbound import answer_inbound_at
    from voiceplatform.lab.switch_config import lab_asterisk_config
    from voiceplatform.switches.asterisk import AsteriskDriver
    from voiceplatform.switches.services import default_services
    from voiceplatform.testing import rtp_pcap

    settings = LabSettings.from_env()
    report = up(settings)
    with tempfile.TemporaryDirectory(prefix="bench-inbound-") as scratch:
        folder = Path(scratch)
        url = f"sqlite:///{folder / 'bench.db'}"
        upgrade(url)
        sessions = session_factory(make_engine(url))
        _seed(sessions)
        audio = rtp_pcap.write_pcap(folder / "caller.pcap", [rtp_pcap.Silence(0.6), rtp_pcap.Rfc4733("1"),
                                                             rtp_pcap.Silence(30)])
        config = lab_asterisk_config(account="bench-inbound", run_amd=False)
        sink = CollectingSink(DialerCallSink(sessions, Rates()))
        with AsteriskDriver(config, default_services(config.media_dir), sink, inbound=DatabaseInboundRouter(sessions)) as driver:
            answer_inbound_at(settings, f"127.0.0.1:{driver.agi_port}")
            _one_run(driver, sink, settings, folder, audio, 3, 3.0, report.state.pid)  # warm-up
            paced = _one_run(driver, sink, settings, folder, audio, calls, cps, report.state.pid)
            burst = _one_run(driver, sink, settings, folder, audio, calls, burst_cps, report.state.pid)
    result = {"paced": paced, "burst": burst, "asterisk": report.state.version}
    print(f"Inbound IVR benchmark: {calls} SIP calls from sipp into {NUMBER} (bench_ivr), {report.state.version}")
    print(f"{'offered':>10} {'answered/s':>11} {'answered':>9} {'failures':>9} {'held':>5} "
          f"{'arrival→answer p50/p99 ms':>27} {'AGI p99 ms':>11} {'Asterisk CPU s/call':>20}")
    for name, row in (("paced", paced), ("burst", burst)):
        print(f"{row['offered_cps']:>8g}/s {row['answered_per_s'] or 0:>11.1f} {row['answered']:>9} {row['failures']:>9} "
              f"{row['peak_held']:>5} {row['arrival_to_answer_p50_ms'] or 0:>13.1f} / {row['arrival_to_answer_p99_ms'] or 0:<11.1f} "
              f"{row['agi_p99_ms']:>11.2f} {row['asterisk_cpu_per_call_s']:>20.4f}   ({name})")
    target = out or ROOT / "bench" / "results" / "asterisk_inbound_calls.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(result, indent=2, default=str))
    print(f"wrote {target.relative_to(ROOT)}")
    return result


if __name__ == "__main__":
    from voiceplatform.processes.runtime import use_gevent

    use_gevent()
    import sys

    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "bench"))
    run()
