"""Benchmark: concurrent IVR calls through the real lab Asterisk, against the same IVR written in
native dialplan. Prints a table and writes bench/results/asterisk_calls.json.

Each call: answer, a prompt, one DTMF digit (the lab's answer-press-1 callee), a short recording
with a beep and silence detection, goodbye, hang up. Measured:
- completed calls per second, and the peak number of calls held at once;
- AGI command round trip p50 / p99 (immediate commands, under the full load);
- CPU seconds per completed call, for Asterisk and for the worker, apart;
- the same with the native dialplan IVR (Read / Record, no AGI) as the floor, and the ratio of
  total CPU per call, ours over native.

Targets on 2 cores: >= 100 concurrent calls held with no failures, AGI p99 < 20 ms, CPU per call
<= 1.5x native. Calls are placed at --cps per second, as the campaign dialer paces them; the
same calls placed all in the same instant are reported too, as the worst case.

With ``--sip`` the same IVR also runs over real SIP and RTP in the same run: the lab's trunk
``lab-carrier`` dials ONE sipp UAS (``voiceplatform/lab/sipp/uas-answer.xml``, ``-m`` and ``-l``
set for all the calls) that answers every call and plays one RTP timeline (PCMU line noise,
the key 1 as an RFC 4733 event inside the gather's listening window, then quiet for the
recording's silence detection), until the platform's BYE. Reported besides: SIP calls held with
0 failures (target >= 100), the SIP run's AGI p99 at --cps (target < 20 ms), Asterisk CPU per
call over SIP against Local channels, sipp's own CPU, and what sipp saw (INVITEs, the
platform's BYEs). ``python bench/asterisk_calls.py --sip [--calls 100]``

Usage: python bench/asterisk_calls.py [--calls 100] [--probes 5]
       python bench/asterisk_calls.py --inbound [--calls 100] [--cps 25]   (calls coming in over SIP)
"""

from __future__ import annotations

from voiceplatform.processes.runtime import use_gevent

use_gevent()  # as a worker does: monkey-patching, and GC tuned for many sessions

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import gevent  # noqa: E402
from gevent.event import Event  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from voiceplatform.flow import load_flow  # noqa: E402
from voiceplatform.lab import LabSettings, up  # noqa: E402
from voiceplatform.lab.switch_config import lab_asterisk_config  # noqa: E402
from voiceplatform.switches.asterisk import AsteriskConfig, AsteriskDriver  # noqa: E402
from voiceplatform.calls.outcomes import CallOutcome  # noqa: E402
from voiceplatform.switches.services import default_services  # noqa: E402
from voiceplatform.lab.asterisk_config import LAB_SIP_DIAL_TEMPLATE  # noqa: E402
from voiceplatform.testing import rtp_pcap  # noqa: E402
from voiceplatform.testing.sipp import Sipp, scenario  # noqa: E402

CALLEE = "answer-press-1"
TICKS = os.sysconf("SC_CLK_TCK")


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) used so far by a process and all its threads."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Held:
    """Counts calls in progress and remembers the peak."""

    def __init__(self) -> None:
        self.now = 0
        self.peak = 0

    def enter(self) -> None:
        self.now += 1
        self.peak = max(self.peak, self.now)

    def leave(self) -> None:
        self.now -= 1


def paced(count: int, cps: float | None, action: Any) -> list[Any]:
    """Call ``action`` ``count`` times, ``cps`` per second (all at once when None), as a dialer does."""
    out = []
    began = time.perf_counter()
    for index in range(count):
        if cps:
            delay = began + index / cps - time.perf_counter()
            if delay > 0:
                gevent.sleep(delay)
        out.append(action())
    return out


def run_ours(driver: AsteriskDriver, flow: Any, calls: int, asterisk_pid: int, cps: float | None = None,
             callee: str = CALLEE) -> dict[str, Any]:
    held = Held()
    driver.agi_round_trips.clear()
    ast0, own0, began = process_cpu(asterisk_pid), own_cpu(), time.perf_counter()
    placed = paced(calls, cps, lambda: driver.place_call(flow, callee, {}, timeout=30))

    def track(call: Any) -> None:
        if call.in_session.wait(120):
            held.enter()
            call.done.wait(240)
            held.leave()

    gevent.joinall([gevent.spawn(track, call) for call in placed], timeout=300)
    records = [call.wait(5) for call in placed]
    elapsed = time.perf_counter() - began
    ast1, own1 = process_cpu(asterisk_pid), own_cpu()
    good = [r for r in records if r.outcome is CallOutcome.ANSWERED and r.path[-1:] == ["done"] and not r.errors
            and r.final_state and r.final_state["status"] == "completed" and len(r.recordings) == 1]
    trips = sorted(driver.agi_round_trips)
    return {
        "calls": calls, "completed": len(good), "failures": calls - len(good),
        "failure_samples": [r.to_dict() for r in records if r not in good][:3],
        "elapsed_s": elapsed, "calls_per_s": len(good) / elapsed, "peak_held": held.peak,
        "agi_round_trips": len(trips),
        "agi_p50_ms": trips[len(trips) // 2] * 1000 if trips else None,
        "agi_p99_ms": trips[min(len(trips) - 1, int(len(trips) * 0.99))] * 1000 if trips else None,
        "asterisk_cpu_per_call_s": (ast1 - ast0) / calls, "worker_cpu_per_call_s": (own1 - own0) / calls,
    }


def run_native(driver: AsteriskDriver, calls: int, asterisk_pid: int, cps: float | None = None) -> dict[str, Any]:
    """The floor: the same IVR in dialplan. The worker only originates and waits for Hangup."""
    assert driver.ami is not None
    held = Held()
    ids = [f"native-{uuid.uuid4().hex}" for _ in range(calls)]
    ended = {call_id: Event() for call_id in ids}
    answered: set[str] = set()

    def on_event(_manager: Any, event: Any) -> None:
        unique = event.get("Uniqueid", "")
        if unique in ended:
            if event.get("Event") == "Newstate" and event.get("ChannelState") == "6" and unique not in answered:
                answered.add(unique)
                held.enter()
            elif event.get("Event") == "Hangup" and not ended[unique].is_set():
                if unique in answered:
                    held.leave()
                ended[unique].set()

    driver.ami.manager.register_event("Newstate", on_event)
    driver.ami.manager.register_event("Hangup", on_event)
    ast0, own0, began = process_cpu(asterisk_pid), own_cpu(), time.perf_counter()

    def originate(call_id: str) -> None:
        driver.ami.send({  # type: ignore[union-attr]
            "Action": "Originate", "Channel": f"Local/{CALLEE}@customers", "Context": "voiceplatform-native-ivr",
            "Exten": "s", "Priority": 1, "ChannelId": call_id, "OtherChannelId": f"{call_id}-peer",
            "Timeout": 30000, "Async": "true",
        }, timeout=60)

    pending = iter(ids)
    originating = paced(calls, cps, lambda: gevent.spawn(originate, next(pending)))
    gevent.joinall(originating, timeout=120)
    for event in ended.values():
        event.wait(240)
    elapsed = time.perf_counter() - began
    ast1, own1 = process_cpu(asterisk_pid), own_cpu()
    recordings = ROOT / "media" / "recordings" / "native"
    recorded = sum(1 for call_id in ids if (recordings / f"{call_id}.wav").exists())
    return {
        "calls": calls, "completed": recorded, "failures": calls - recorded, "elapsed_s": elapsed,
        "calls_per_s": recorded / elapsed, "peak_held": held.peak,
        "asterisk_cpu_per_call_s": (ast1 - ast0) / calls, "worker_cpu_per_call_s": (own1 - own0) / calls,
    }


# The SIP callee's side of every call (seconds from the ACK): the bench IVR's gather prompt
# (hello-world, ~1.2 s) then listens 5 s; the key comes 3.5 s in, inside that window (or typed
# ahead), and quiet follows for the recording to end on 2 s of silence, then the goodbye.
SIP_KEY_AT = 3.5
SIP_NOISE = 20  # RMS of the line noise in the callee's quiet parts (rtp_pcap.Silence.level)


def sip_callee(folder: Path, calls: int) -> Sipp:
    """One sipp UAS for every SIP call of the run: answers, plays the timeline, waits for BYE."""
    pcap = rtp_pcap.write_pcap(folder / "press-1.pcap", [
        rtp_pcap.Silence(SIP_KEY_AT, SIP_NOISE), rtp_pcap.Rfc4733("1"), rtp_pcap.Silence(60, SIP_NOISE)])
    return Sipp(scenario("uas-answer"), folder, keys={"payloads": "0 101", "audio": str(pcap)}, calls=calls,
                extra_args=("-l", str(calls))).start()


def run_sip(config: AsteriskConfig, flow: Any, calls: int, asterisk_pid: int, cps: float) -> dict[str, Any]:
    """The same IVR over SIP: warm-up, then ``calls`` at ``cps`` against one sipp UAS."""
    folder = ROOT / "media" / "tmp" / f"bench-sip-{uuid.uuid4().hex[:8]}"
    sipp = sip_callee(folder, calls + 3)
    try:
        assert sipp.pid is not None
        with AsteriskDriver(config, default_services(config.media_dir)) as driver:
            run_ours(driver, flow, 3, asterisk_pid, callee=str(sipp.port))  # warm-up
            sipp0 = process_cpu(sipp.pid)
            result = run_ours(driver, flow, calls, asterisk_pid, cps, callee=str(sipp.port))
            result["sipp_cpu_per_call_s"] = (process_cpu(sipp.pid) - sipp0) / calls
        requests = [m for m in sipp.messages() if m.is_request and m.direction == "received"]
        result["sipp_invites"] = sum(1 for m in requests if m.method == "INVITE")
        result["sipp_byes_from_platform"] = sum(1 for m in requests if m.method == "BYE")
        result["sipp_aborted_calls"] = sipp.errors().count("Aborting call")
    finally:
        sipp.stop()
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--probes", type=int, default=5, help="AGI round-trip probes per call")
    parser.add_argument("--cps", type=float, default=25.0, help="calls placed per second, as a paced dialer does")
    parser.add_argument("--sip", action="store_true", help="run the same IVR over real SIP (one sipp UAS) too")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "asterisk_calls.json")
    parser.add_argument("--inbound", action="store_true",
                        help="instead: inbound SIP calls answered per second into the IVR (bench/inbound_calls.py)")
    args = parser.parse_args()
    if args.inbound:
        from inbound_calls import run as run_inbound  # bench/ is this script's folder

        run_inbound(args.calls, args.cps)
        return 0

    settings = LabSettings.from_env()
    report = up(settings)
    pid = report.state.pid
    config = lab_asterisk_config(account="bench", run_amd=False, correlation_checks=args.probes)
    flow = load_flow(ROOT / "bench" / "flows" / "bench_ivr.yaml")
    with AsteriskDriver(config, default_services(config.media_dir)) as driver:
        run_ours(driver, flow, 3, pid)  # warm-up: caches, connections
        native = run_native(driver, args.calls, pid, args.cps)
        ours = run_ours(driver, flow, args.calls, pid, args.cps)
        burst = run_ours(driver, flow, args.calls, pid, None)  # worst case: every call at once
    sip = None
    if args.sip:
        sip_config = lab_asterisk_config(account="bench", run_amd=False, correlation_checks=args.probes,
                                             dial_template=LAB_SIP_DIAL_TEMPLATE)
        sip = run_sip(sip_config, flow, args.calls, pid, args.cps)
    native_cpu = native["asterisk_cpu_per_call_s"] + native["worker_cpu_per_call_s"]
    ours_cpu = ours["asterisk_cpu_per_call_s"] + ours["worker_cpu_per_call_s"]
    ratio = ours_cpu / native_cpu if native_cpu else float("inf")
    rows = [
        ("calls held at once (peak)", f"{ours['peak_held']} of {args.calls}", ">= 100, 0 failures",
         ours["peak_held"] >= 100 and ours["failures"] == 0, f"native {native['peak_held']}; failures {ours['failures']}"),
        ("completed calls / s", f"{ours['calls_per_s']:.2f}", "", True, f"native {native['calls_per_s']:.2f}"),
        ("AGI round trip p50 / p99 ms", f"{ours['agi_p50_ms']:.2f} / {ours['agi_p99_ms']:.2f}", "p99 < 20",
         (ours["agi_p99_ms"] or 1e9) < 20, f"{ours['agi_round_trips']} immediate commands"),
        ("CPU s / call: Asterisk", f"{ours['asterisk_cpu_per_call_s']:.4f}", "", True, f"native {native['asterisk_cpu_per_call_s']:.4f}"),
        ("CPU s / call: worker", f"{ours['worker_cpu_per_call_s']:.4f}", "", True, f"native {native['worker_cpu_per_call_s']:.4f}"),
        ("CPU / call, ours over native", f"{ratio:.2f}x", "<= 1.5x", ratio <= 1.5, f"{ours_cpu:.4f} s vs {native_cpu:.4f} s"),
        ("burst: all calls at once", f"{burst['peak_held']} held", "(worst case)", burst["failures"] == 0,
         f"failures {burst['failures']}; AGI p50 {burst['agi_p50_ms']:.2f} / p99 {burst['agi_p99_ms']:.2f} ms"),
    ]
    if sip is not None:
        local_cpu = ours["asterisk_cpu_per_call_s"]
        per_call = sip["asterisk_cpu_per_call_s"] / local_cpu if local_cpu else 0.0
        rows += [
            ("SIP calls held at once (peak)", f"{sip['peak_held']} of {args.calls}", ">= 100, 0 failures",
             sip["peak_held"] >= 100 and sip["failures"] == 0,
             f"failures {sip['failures']}; sipp saw {sip['sipp_invites']} INVITEs, {sip['sipp_byes_from_platform']} BYEs"),
            ("SIP AGI round trip p50 / p99 ms", f"{sip['agi_p50_ms']:.2f} / {sip['agi_p99_ms']:.2f}", "p99 < 20",
             (sip["agi_p99_ms"] or 1e9) < 20, f"{sip['agi_round_trips']} immediate commands at {args.cps:g}/s"),
            ("CPU s / call: Asterisk, SIP", f"{sip['asterisk_cpu_per_call_s']:.4f}", "(report)", True,
             f"Local {local_cpu:.4f}: SIP is {per_call:.2f}x Local"),
            ("CPU s / call: worker, SIP", f"{sip['worker_cpu_per_call_s']:.4f}", "", True,
             f"Local {ours['worker_cpu_per_call_s']:.4f}; sipp {sip['sipp_cpu_per_call_s']:.4f}"),
        ]
    print(f"Asterisk IVR benchmark: {args.calls} calls to {CALLEE}{' and over SIP' if sip else ''} "
          f"placed at {args.cps:g}/s, {report.state.version}")
    print(f"{'measure':<30} {'value':>16}  {'target':<20} {'ok':<4} note")
    for name, value, target, ok, note in rows:
        print(f"{name:<30} {value:>16}  {target:<20} {'yes' if ok else 'NO':<4} {note}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"calls": args.calls, "cps": args.cps, "ours": ours, "native": native, "burst": burst, "sip": sip, "cpu_ratio": ratio,
                                    "targets_met": all(r[3] for r in rows)}, indent=2, default=str))
    print(f"wrote {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
