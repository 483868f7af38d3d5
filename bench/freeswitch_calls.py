"""Benchmark: one gevent worker driving FreeSWITCH (the emulator) over ESL with greenswitch.
Prints a table and writes bench/results/freeswitch_calls.json.

The emulator runs in a **separate process** (multiprocessing, spawn), so the worker's CPU, RSS
and latencies are its own. Each call runs bench/flows/bench_ivr_say.yaml against the
answer-press-1 callee: a prompt, one DTMF digit, a recording with a beep and silence detection,
goodbye, hang up. The emulator runs at --time-scale real seconds per emulated second (2.0 by
default: calls last twice as long as on a real switch, so that --calls of them are up at once).

Measured:
- concurrent sessions held: outbound sockets running a flow at the same time (peak);
- originate-to-answer handling: calls per second that went from ``bgapi originate`` to a
  running session, while placed at --cps (and the per-call latency, ring time included);
- ESL events parsed per second: (1) live, frames the worker parsed during the run, over its
  length (load-bound, not a capacity); (2) capacity, on the real event stream of a warm-up run
  (recorded from the emulator with ``event plain ALL``), parsed in this process by the driver's
  frame reader, by greenswitch's own parser, and by a bare framing loop as the baseline;
- command round trip p50 / p99 at the peak: every live session sends ``getvar`` about once a
  second for --probe-seconds (about --calls commands per second in all), beside the IVR's own
  ``sendmsg`` replies (reported too);
- worker RSS per 1,000 calls held (peak minus idle), and what stays after they end.

Targets: >= 1,000 concurrent sessions in one worker, >= 20,000 events/s parsed, command round
trip p99 < 10 ms at 1,000 sessions.

Usage: python bench/freeswitch_calls.py [--calls 1000] [--cps 200] [--quick]
"""

from __future__ import annotations

from voiceplatform.processes.runtime import use_gevent

use_gevent()  # as a worker does: monkey-patching, and GC tuned for many sessions

import argparse  # noqa: E402
import gc  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import multiprocessing  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import resource  # noqa: E402
import shutil  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any, Callable  # noqa: E402

import gevent  # noqa: E402
from gevent import socket  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from voiceplatform.flow import load_flow  # noqa: E402
from voiceplatform.switches.freeswitch import FreeSwitchConfig, FreeSwitchDriver  # noqa: E402
from voiceplatform.switches.freeswitch.esl_frames import FrameReader  # noqa: E402
from voiceplatform.calls.outcomes import CallOutcome  # noqa: E402
from voiceplatform.switches.services import default_services  # noqa: E402

CALLEE = "answer-press-1"
FLOW = ROOT / "bench" / "flows" / "bench_ivr_say.yaml"


def raise_file_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class GcPauses:
    """Collections of the cyclic garbage collector in this process, and how long each took."""

    def __init__(self) -> None:
        self.pauses: list[tuple[int, float]] = []
        self._began = 0.0
        gc.callbacks.append(self._callback)

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._began = time.perf_counter()
        else:
            self.pauses.append((info["generation"], time.perf_counter() - self._began))

    def summary(self) -> dict[str, Any]:
        full = [d for g, d in self.pauses if g == 2]
        return {"collections": len(self.pauses), "full_collections": len(full),
                "longest_ms": max((d for _, d in self.pauses), default=0.0) * 1000,
                "longest_full_ms": max(full, default=0.0) * 1000}


def percentile(values: list[float], share: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


# ---- the emulator, in its own process ---------------------------------------------------------

def emulator_process(conn: Any, time_scale: float) -> None:
    from gevent import monkey as child_monkey

    child_monkey.patch_all()
    raise_file_limit()
    from voiceplatform.testing.freeswitch import FreeSwitchEmulator

    with FreeSwitchEmulator(time_scale=time_scale, max_sessions=100_000) as fs:
        conn.send((fs.port, fs.password))
        socket.wait_read(conn.fileno())
        conn.recv()
        conn.send({"events_fired": fs.events_fired, "peak_sessions": fs.peak_sessions,
                   "sessions": fs.session_count})


class Emulator:
    def __init__(self, time_scale: float) -> None:
        context = multiprocessing.get_context("spawn")
        self.conn, child = context.Pipe()
        self.process = context.Process(target=emulator_process, args=(child, time_scale), daemon=True)

    def __enter__(self) -> "Emulator":
        self.process.start()
        socket.wait_read(self.conn.fileno(), timeout=60)
        port, self.password = self.conn.recv()
        self.port = int(port)
        self.pid = int(self.process.pid or 0)
        return self

    def stop(self) -> dict[str, Any]:
        self.conn.send("stop")
        socket.wait_read(self.conn.fileno(), timeout=60)
        stats: dict[str, Any] = self.conn.recv()
        self.process.join(timeout=30)
        return stats

    def __exit__(self, *_exc: object) -> None:
        if self.process.is_alive():
            self.process.terminate()


# ---- the event stream, recorded -------------------------------------------------------------

class StreamTap:
    """A plain inbound ESL client that keeps every byte of ``event plain ALL``."""

    def __init__(self, port: int, password: str) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.chunks: list[bytes] = []
        self._expect(b"auth/request")
        self.sock.sendall(f"auth {password}\n\n".encode())
        self._expect(b"+OK accepted")
        self.sock.sendall(b"event plain ALL\n\n")
        self._expect(b"+OK event listener enabled")
        self.reader = gevent.spawn(self._read)

    def _expect(self, marker: bytes) -> None:
        data = b""
        while marker not in data:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError("the emulator closed the tap")
            data += chunk

    def _read(self) -> None:
        while True:
            chunk = self.sock.recv(262144)
            if not chunk:
                return
            self.chunks.append(chunk)

    def close(self) -> bytes:
        self.reader.kill()
        self.sock.close()
        return b"".join(self.chunks)


class _Replay:
    """A socket stand-in that hands out a recorded stream in 64 KB reads."""

    def __init__(self, data: bytes) -> None:
        self.stream = io.BytesIO(data)

    def recv(self, size: int) -> bytes:
        return self.stream.read(min(size, 65536))

    # greenswitch reads through a file object
    def readline(self) -> bytes:
        return self.stream.readline()

    def read(self, size: int) -> bytes:
        return self.stream.read(size)


def parse_ours(data: bytes) -> int:
    reader = FrameReader(_Replay(data))  # type: ignore[arg-type]
    count = 0
    while reader.next_frame() is not None:
        count += 1
    return count


def parse_greenswitch(data: bytes) -> int:
    from greenswitch.esl import ESLProtocol

    protocol = ESLProtocol()
    protocol.sock_file = _Replay(data)
    protocol.sock = _Replay(b"")  # receive_events closes it on errors only
    protocol.connected = True
    count = 0

    class Counter:
        def put(self, _event: Any) -> None:
            nonlocal count
            count += 1

    protocol._esl_event_queue = Counter()  # type: ignore[assignment]
    protocol.receive_events()
    return count


def parse_bare(data: bytes) -> int:
    """The ceiling of any Python parser: only cut frames by the blank line and Content-Length
    (no header split, no decoding, no objects)."""
    count = 0
    pos = 0
    end = len(data)
    while pos < end:
        head_end = data.find(b"\n\n", pos)
        if head_end < 0:
            break
        head = data[pos:head_end]
        pos = head_end + 2
        at = head.find(b"Content-Length: ")
        if at >= 0:
            stop = head.find(b"\n", at)
            size = int(head[at + 16 : stop if stop >= 0 else len(head)])
            pos += size
        count += 1
    return count


def events_per_second(parse: Callable[[bytes], int], data: bytes, min_seconds: float = 1.0) -> tuple[float, int]:
    frames, runs = 0, 0
    began = time.perf_counter()
    while True:
        frames += parse(data)
        runs += 1
        elapsed = time.perf_counter() - began
        if elapsed >= min_seconds:
            return frames / elapsed, frames // runs


# ---- the run --------------------------------------------------------------------------------

class Held:
    def __init__(self) -> None:
        self.now = 0
        self.peak = 0
        self.reached = gevent.event.Event()
        self.target = 0

    def enter(self) -> None:
        self.now += 1
        self.peak = max(self.peak, self.now)
        if self.target and self.now >= self.target:
            self.reached.set()

    def leave(self) -> None:
        self.now -= 1


def run(driver: FreeSwitchDriver, flow: Any, calls: int, cps: float, probe_seconds: float,
        emulator_pid: int) -> dict[str, Any]:
    assert driver.link is not None and driver.link.esl is not None and driver.server is not None
    held = Held()
    held.target = calls
    driver.round_trips.clear()
    frames0 = driver.link.esl.frames_in + driver.server.frames_in
    rss0, cpu0, emu0 = rss_mb(), own_cpu(), process_cpu(emulator_pid)
    latencies: list[float] = []
    pauses = GcPauses()
    began = time.perf_counter()
    placed = []

    def track(call: Any, placed_at: float) -> None:
        if call.in_session.wait(120):
            latencies.append(time.perf_counter() - placed_at)
            held.enter()
            call.done.wait(600)
            held.leave()

    trackers = []
    for index in range(calls):
        delay = began + index / cps - time.perf_counter()
        if delay > 0:
            gevent.sleep(delay)
        call = driver.place_call(flow, CALLEE, {}, timeout=30)
        placed.append(call)
        trackers.append(gevent.spawn(track, call, time.perf_counter()))
    placing_s = time.perf_counter() - began

    # the probe: while (nearly) every call is up, each live session sends getvar ~once a second
    held.reached.wait(120)
    at_peak = held.now
    rss_peak = rss_mb()
    tracked_at_peak = len(gc.get_objects())
    cpu_probe0, emu_probe0, probe_began = own_cpu(), process_cpu(emulator_pid), time.perf_counter()
    probes: list[float] = []

    def probe(control: Any) -> None:
        deadline = time.perf_counter() + probe_seconds
        gevent.sleep(random.random())
        while time.perf_counter() < deadline and control.hangup_cause is None:
            sent = time.perf_counter()
            try:
                control.getvar("vp_call_id")
            except Exception:  # noqa: BLE001 - the call ended meanwhile: stop probing it
                return
            probes.append(time.perf_counter() - sent)
            gevent.sleep(max(0.0, 1.0 - (time.perf_counter() - sent)))

    live = [c.control for c in driver.calls if c.control is not None and c.in_session.is_set()]
    probers = [gevent.spawn(probe, control) for control in live]
    gevent.joinall(probers, timeout=probe_seconds + 30)
    probe_wall = time.perf_counter() - probe_began
    worker_busy = (own_cpu() - cpu_probe0) / probe_wall
    emulator_busy = (process_cpu(emulator_pid) - emu_probe0) / probe_wall
    probed_sessions = len(live)

    gevent.joinall(trackers, timeout=600)
    gc.callbacks.remove(pauses._callback)
    records = [call.wait(5) for call in placed]
    elapsed = time.perf_counter() - began
    frames = driver.link.esl.frames_in + driver.server.frames_in - frames0
    cpu = own_cpu() - cpu0
    emulator_cpu = process_cpu(emulator_pid) - emu0
    rss_after = rss_mb()
    good = [r for r in records if r.outcome is CallOutcome.ANSWERED and r.path[-1:] == ["done"] and not r.errors
            and r.final_state and r.final_state["status"] == "completed" and len(r.recordings) == 1]
    trips = list(driver.round_trips)
    first_session = min(latencies) if latencies else 0.0
    answer_span = max(latencies) + placing_s - first_session if latencies else 0.0
    return {
        "calls": calls, "cps": cps, "completed": len(good), "failures": calls - len(good),
        "failure_samples": [r.to_dict() for r in records if r not in good][:3],
        "elapsed_s": elapsed, "placing_s": placing_s, "peak_held": held.peak, "held_at_probe": at_peak,
        "answer_handling_per_s": len(latencies) / answer_span if answer_span else 0.0,
        "originate_to_session_p50_ms": (percentile(latencies, 0.5) or 0) * 1000,
        "originate_to_session_p99_ms": (percentile(latencies, 0.99) or 0) * 1000,
        "probe_sessions": probed_sessions, "probe_commands": len(probes),
        "probe_p50_ms": (percentile(probes, 0.5) or 0) * 1000, "probe_p99_ms": (percentile(probes, 0.99) or 0) * 1000,
        "ivr_commands": len(trips),
        "ivr_p50_ms": (percentile(trips, 0.5) or 0) * 1000, "ivr_p99_ms": (percentile(trips, 0.99) or 0) * 1000,
        "frames_parsed_live": frames, "frames_per_s_live": frames / elapsed,
        "worker_cpu_s": cpu, "emulator_cpu_s": emulator_cpu, "worker_gc": {**pauses.summary(), "tracked_objects_at_peak": tracked_at_peak},
        "worker_cpu_share_during_probe": worker_busy, "emulator_cpu_share_during_probe": emulator_busy, "worker_cpu_per_call_ms": cpu / calls * 1000,
        "rss_idle_mb": rss0, "rss_peak_mb": rss_peak, "rss_after_mb": rss_after,
        "rss_per_1000_held_mb": (rss_peak - rss0) / max(1, at_peak) * 1000,
        "rss_left_per_1000_calls_mb": (rss_after - rss0) / calls * 1000,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--cps", type=float, default=200.0, help="calls placed per second")
    parser.add_argument("--time-scale", type=float, default=2.0, help="emulator: real seconds per emulated second")
    parser.add_argument("--probe-seconds", type=float, default=5.0)
    parser.add_argument("--quick", action="store_true", help="a small run (for the test suite)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "freeswitch_calls.json")
    args = parser.parse_args()
    if args.quick:
        args.calls, args.cps, args.probe_seconds, args.time_scale = 40, 40.0, 1.0, 0.5
    raise_file_limit()
    media = Path(tempfile.mkdtemp(prefix="vp-bench-fs-"))
    flow = load_flow(FLOW)
    try:
        with Emulator(args.time_scale) as emulator:
            config = FreeSwitchConfig(esl_port=emulator.port, media_dir=media, account="bench", run_amd=False,
                                      max_sessions=100_000)
            with FreeSwitchDriver(config, default_services(media)) as driver:
                tap = StreamTap(emulator.port, emulator.password)
                warm = run(driver, flow, min(100, args.calls), 100.0, 0.5, emulator.pid)  # caches, connections; the stream
                stream = tap.close()
                result = run(driver, flow, args.calls, args.cps, args.probe_seconds, emulator.pid)
            emulator_stats = emulator.stop()
    finally:
        shutil.rmtree(media, ignore_errors=True)

    ours, frames_in_stream = events_per_second(parse_ours, stream)
    stock, stock_frames = events_per_second(parse_greenswitch, stream)
    bare, _ = events_per_second(parse_bare, stream)
    capacity = {
        "stream_bytes": len(stream), "stream_frames": frames_in_stream,
        "bytes_per_frame": len(stream) / max(1, frames_in_stream),
        "driver_reader_per_s": ours, "greenswitch_parser_per_s": stock, "greenswitch_frames": stock_frames,
        "bare_loop_per_s": bare,
    }
    held_ok = result["held_at_probe"] >= min(1000, args.calls) and result["failures"] == 0
    rows = [
        ("concurrent sessions held", f"{result['peak_held']} of {args.calls}", ">= 1,000, 0 failures", held_ok,
         f"{result['held_at_probe']} at the probe; failures {result['failures']}"),
        ("originate → session handled / s", f"{result['answer_handling_per_s']:.0f}", "", True,
         f"placed at {args.cps:g}/s; latency p50 {result['originate_to_session_p50_ms']:.0f} / p99 "
         f"{result['originate_to_session_p99_ms']:.0f} ms (ring {1.0 * args.time_scale:g} s included)"),
        ("ESL events parsed / s (reader)", f"{ours:,.0f}", ">= 20,000", ours >= 20_000,
         f"greenswitch's parser {stock:,.0f}; framing-only loop {bare:,.0f}; {capacity['bytes_per_frame']:.0f} B/frame"),
        ("ESL frames parsed live / s", f"{result['frames_per_s_live']:,.0f}", "(load-bound)", True,
         f"{result['frames_parsed_live']:,} frames in {result['elapsed_s']:.1f} s"),
        ("command round trip p50 / p99 ms", f"{result['probe_p50_ms']:.2f} / {result['probe_p99_ms']:.2f}", "p99 < 10",
         result["probe_p99_ms"] < 10, f"getvar from {result['probe_sessions']} live sessions, {result['probe_commands']} commands; "
         f"CPU busy: worker {result['worker_cpu_share_during_probe']:.0%}, emulator {result['emulator_cpu_share_during_probe']:.0%}"),
        ("worker GC: full collections, longest", f"{result['worker_gc']['full_collections']}, "
         f"{result['worker_gc']['longest_full_ms']:.0f} ms", "", True,
         f"{result['worker_gc']['collections']} collections; {result['worker_gc']['tracked_objects_at_peak']:,} objects tracked at the peak"),
        ("IVR sendmsg round trip p50 / p99 ms", f"{result['ivr_p50_ms']:.2f} / {result['ivr_p99_ms']:.2f}", "", True,
         f"{result['ivr_commands']} commands over the whole run"),
        ("worker RSS per 1,000 calls held", f"{result['rss_per_1000_held_mb']:.1f} MB", "", True,
         f"idle {result['rss_idle_mb']:.0f} MB, peak {result['rss_peak_mb']:.0f} MB, after {result['rss_after_mb']:.0f} MB"),
        ("worker CPU per call", f"{result['worker_cpu_per_call_ms']:.2f} ms", "", True,
         f"{result['worker_cpu_s']:.1f} s for {args.calls} calls (emulator {result['emulator_cpu_s']:.1f} s)"),
    ]
    print(f"FreeSWITCH ESL benchmark: {args.calls} calls to {CALLEE} at {args.cps:g}/s, one gevent worker; "
          f"emulator in a separate process at time scale {args.time_scale:g}")
    width = max(len(r[0]) for r in rows)
    print(f"{'measure':<{width}}  {'value':>14}  {'target':<22} ok   notes")
    for name, value, target, ok, notes in rows:
        print(f"{name:<{width}}  {value:>14}  {target:<22} {'yes' if ok else 'NO ':<4} {notes}")
    report = {"calls": args.calls, "cps": args.cps, "time_scale": args.time_scale, "emulator": "separate process",
              "run": result, "warm_up": {k: warm[k] for k in ("calls", "completed", "failures")},
              "parse_capacity": capacity, "emulator_stats": emulator_stats,
              "targets_met": {"sessions": held_ok, "events_per_s": ours >= 20_000, "rtt_p99": result["probe_p99_ms"] < 10}}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, default=str))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
