"""What the worst inputs cost the server. Prints a table and writes bench/results/hostile_inputs.json.

The server is ``voiceplatform serve --no-dialer`` in a child process on a free port, on a fresh
SQLite database (voiceplatform.testing.server_process). A catalogue of inputs is sent to it, one
request at a time:

- the worst *accepted* inputs of at most 1 MB: the largest flow the limits allow (validated, and
  created), the deepest JSON accepted (``max_json_depth``), a body at the size limit made of one
  long string, of many short strings, of many numbers and of many keys, a template near the
  template limits (validated), the longest column value, a 1 MB CSV import (an upload: sent once);
- the *refused* hostile ones: a 10 MB token name, JSON nested 1,000 and 100,000 deep, a lone
  surrogate, ``flow.version`` 2^63, NaN, a YAML alias bomb, a too-long column value.

Per input: the HTTP status, the server's CPU time (utime + stime from /proc/<pid>/stat, in 10 ms
ticks: each input is sent ``--repeat`` times and the mean is reported) and its peak RSS growth
(the peak is reset through /proc/<pid>/clear_refs before each request, then VmHWM - VmRSS before).
A trivial ``GET /health`` measured the same way, in the same run, is the baseline.

Target (issue 10): no accepted input of 1 MB or less costs more than 1 s of server CPU or 100 MB
of memory; every refused input gets a 4xx, and the server logs no traceback.

Usage: python bench/hostile_inputs.py [--quick] [--repeat N] [--out PATH]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from voiceplatform import limits as resource_limits  # noqa: E402
from voiceplatform.testing.server_process import ServerProcess  # noqa: E402

MB = 1_048_576
AREAS = (212, 312, 415, 617, 702, 305, 404, 206)
CPU_TARGET_S = 1.0
MEMORY_TARGET_MB = 100.0
TICK = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Input:
    name: str
    method: str
    path: str
    body: bytes
    content_type: str = "application/json"
    accepted: bool = True  # expected to be accepted (2xx) and of at most 1 MB; else expected 4xx
    auth: bool = True
    once: bool = False  # sent once whatever --repeat says (a second import of the same file is a replay)


# ---- the server's costs ------------------------------------------------------------------------

def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def memory_kb(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise KeyError(key)


def reset_peak(pid: int) -> bool:
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")  # resets VmHWM to the current RSS (Linux >= 4.0)
        return True
    except OSError:
        return False


class Client:
    def __init__(self, url: str, token: str) -> None:
        parts = urlsplit(url)
        self.host, self.port, self.token = parts.hostname or "127.0.0.1", parts.port or 80, token

    def send(self, item: Input) -> tuple[int, bytes]:
        connection = http.client.HTTPConnection(self.host, self.port, timeout=120)
        headers = {"Content-Type": item.content_type, "Content-Length": str(len(item.body))}
        if item.auth:
            headers["Authorization"] = f"Bearer {self.token}"
        try:
            connection.request(item.method, item.path, body=item.body if item.body else None, headers=headers)
            response = connection.getresponse()
            return response.status, response.read()
        except (ConnectionError, http.client.HTTPException) as exc:  # a server that cuts a 413 short
            return 0, str(exc).encode()
        finally:
            connection.close()


def measure(server: ServerProcess, client: Client, item: Input, repeat: int) -> dict[str, Any]:
    statuses, cpu, peaks, walls, answer = [], [], [], [], b""
    repeat = 1 if item.once else repeat
    for _ in range(repeat):
        peak_reset = reset_peak(server.pid)
        rss_before = memory_kb(server.pid, "VmRSS")
        hwm_before = memory_kb(server.pid, "VmHWM")
        cpu_before, began = cpu_seconds(server.pid), time.perf_counter()
        status, answer = client.send(item)
        walls.append(time.perf_counter() - began)
        cpu.append(cpu_seconds(server.pid) - cpu_before)
        peak = memory_kb(server.pid, "VmHWM")
        peaks.append(max(0, peak - (rss_before if peak_reset else hwm_before)) / 1024)
        statuses.append(status)
    code = None
    try:
        code = json.loads(answer).get("error", {}).get("code")
    except (ValueError, AttributeError):
        pass
    return {"name": item.name, "method": item.method, "path": item.path, "bytes": len(item.body),
            "expected": "accepted" if item.accepted else "refused", "status": statuses[-1], "statuses": sorted(set(statuses)),
            "error_code": code, "server_cpu_s": sum(cpu) / repeat, "server_cpu_max_s": max(cpu),
            "peak_rss_growth_mb": max(peaks), "wall_s": sum(walls) / repeat}


# ---- the catalogue -----------------------------------------------------------------------------

def chain_flow(name: str, nodes: int, text: str = "Hello") -> str:
    lines = ["spec_version: 1", f"name: {name}", "language: en", "channels: [voice, sms]",
             "contact_fields: [first_name]", "start: n0", "nodes:"]
    for i in range(nodes):
        following = f"n{i + 1}" if i + 1 < nodes else None
        lines.append(f"  - id: n{i}\n    type: say\n    text: {json.dumps(text + ' ' + str(i))}")
        lines.append(f"    next: {following}" if following else "    next: end")
    lines.append("  - id: end\n    type: hangup")
    return "\n".join(lines) + "\n"


def largest_flow(limits: Any, name: str) -> str:
    """As many nodes as the node limit allows, padded with text to just under the byte limit."""
    nodes = limits.max_flow_nodes - 2
    bare = chain_flow(name, nodes)
    pad = max(0, min(limits.max_flow_bytes, MB - 1024) - len(bare) - 64) // nodes
    return chain_flow(name, nodes, "x" * max(1, pad - 1))


def template_flow(limits: Any) -> str:
    loops = int(limits.max_template_loop_iterations ** 0.5) - 1
    text = ("{% for i in range(" + str(loops) + ") %}{% for j in range(" + str(loops) + ") %}"
            "{{ (i * j) % 10 }}{% endfor %}{% endfor %}")
    return chain_flow("bench_template", 3, "") .replace('text: " 0"', f"text: {json.dumps(text)}")


def deep_json(depth: int, filler: int = 0) -> bytes:
    inner: Any = "x" * filler
    for _ in range(depth - 1):
        inner = [inner]
    return json.dumps({"yaml": "spec_version: 1\n", "extra": inner}).encode()


def at_size(prefix: bytes, unit: bytes, suffix: bytes, size: int, separator: bytes = b",") -> bytes:
    count = (size - len(prefix) - len(suffix)) // (len(unit) + len(separator))
    return prefix + separator.join([unit] * count) + suffix


def csv_import(size: int) -> tuple[bytes, str]:
    boundary = "benchhostile"
    header = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"list\"\r\n\r\nbench-hostile\r\n"
              f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"c.csv\"\r\n"
              "Content-Type: text/csv\r\n\r\n").encode()
    rows = [b"phone,first_name,amount"]
    total, i = 0, 0
    while total < size - 200:
        rest = i // len(AREAS)  # a distinct valid US number per row
        row = b"+1%d%03d%04d,Name%d,%d.00" % (AREAS[i % len(AREAS)], 200 + rest % 800, (rest // 800) % 10000, i, i % 500)
        rows.append(row)
        total += len(row) + 1
        i += 1
    return header + b"\n".join(rows) + f"\r\n--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def catalogue(limits: Any, quick: bool) -> list[Input]:
    body = limits.max_request_bytes
    flow = largest_flow(limits, "bench_largest")
    csv_body, csv_type = csv_import(MB - 4096 if not quick else 200_000)
    bomb = "a: &a [x,x,x,x,x,x,x,x,x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},"
        f"*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)}]\n" for i in range(8))
    items = [
        Input("baseline: GET /health", "GET", "/health", b"", auth=False),
        Input("largest flow, validated", "POST", "/flows/validate", json.dumps({"yaml": flow}).encode()),
        Input("largest flow, created", "POST", "/flows", json.dumps({"yaml": flow}).encode()),
        Input(f"deepest accepted JSON ({limits.max_json_depth} levels)", "POST", "/flows/validate",
              deep_json(limits.max_json_depth)),
        Input("deepest accepted JSON, 1 MB", "POST", "/flows/validate",
              deep_json(limits.max_json_depth, body - 2 * limits.max_json_depth - 200)),
        Input("one string at the body limit", "POST", "/flows/validate",
              json.dumps({"yaml": "spec_version: 1\n", "pad": "x" * (body - 64)}).encode()),
        Input("many short strings at the limit", "POST", "/flows/validate",
              at_size(b'{"yaml": "spec_version: 1\\n", "pad": [', b'"\\u00e9"', b"]}", body)),
        Input("many numbers at the limit", "POST", "/flows/validate",
              at_size(b'{"yaml": "spec_version: 1\\n", "pad": [', b"9223372036854775807", b"]}", body)),
        Input("many keys at the limit", "POST", "/flows/validate",
              b'{"yaml": "spec_version: 1\\n", ' + b", ".join(b'"k%d": 0' % i for i in range(body // 14)) + b"}"),
        Input("template near the limits, validated", "POST", "/flows/validate", json.dumps({"yaml": template_flow(limits)}).encode()),
        Input("longest accepted column value (token name)", "POST", "/tokens",
              json.dumps({"role": "operator", "name": "é" * 200}).encode()),
        Input("large CSV import", "POST", "/contacts/import", csv_body, content_type=csv_type, once=True),
        # ---- refused ----
        Input("10 MB token name", "POST", "/tokens", json.dumps({"role": "operator", "name": "x" * (10 * MB)}).encode(),
              accepted=False),
        Input("JSON nested 1,000 deep", "POST", "/flows/validate", b'{"a": ' + b"[" * 1000 + b"]" * 1000 + b"}", accepted=False),
        Input("JSON nested 500,000 deep (1 MB of [)", "POST", "/flows/validate", b"[" * (body - 16), accepted=False),
        Input("lone surrogate", "POST", "/flows/validate", b'{"yaml": "\\ud800"}', accepted=False),
        Input("flow.version 2^63", "POST", "/calls",
              json.dumps({"to": "+12025550112", "flow": {"name": "bench_largest", "version": 2**63}}).encode(), accepted=False),
        Input("flow.version 2^31", "POST", "/campaigns",
              json.dumps({"name": "x", "flow": {"name": "bench_largest", "version": 2**31}, "contact_list_id": 1}).encode(),
              accepted=False),
        Input("NaN", "POST", "/flows/validate", b'{"yaml": "x", "n": NaN}', accepted=False),
        Input("9,000-digit integer", "POST", "/flows/validate", b'{"yaml": "x", "n": ' + b"9" * 9000 + b"}", accepted=False),
        Input("YAML alias bomb", "POST", "/flows/validate", json.dumps({"yaml": bomb}).encode(), accepted=False),
        Input("column value one too long (token name 201)", "POST", "/tokens",
              json.dumps({"role": "operator", "name": "n" * 201}).encode(), accepted=False),
        Input("2 MB body", "POST", "/dnc", json.dumps({"phone": "+12025550113", "reason": "r" * (2 * MB)}).encode(), accepted=False),
    ]
    return items


# ---- the run -----------------------------------------------------------------------------------

def run(quick: bool, repeat: int) -> dict[str, Any]:
    limits = resource_limits.current()
    with tempfile.TemporaryDirectory(prefix="bench-hostile-") as work, ServerProcess(Path(work)) as server:
        client = Client(server.url, server.token)
        client.send(Input("warm-up", "GET", "/flows", b""))
        results = [measure(server, client, item, repeat) for item in catalogue(limits, quick)]
        tracebacks = server.tracebacks()
    baseline = results[0]
    for row in results:
        row["cpu_over_baseline_s"] = row["server_cpu_s"] - baseline["server_cpu_s"]
        ok = 200 <= row["status"] < 300
        if row["expected"] == "accepted":
            row["as_expected"] = ok
            row["within_target"] = (row["bytes"] <= MB and row["server_cpu_max_s"] <= CPU_TARGET_S
                                    and row["peak_rss_growth_mb"] <= MEMORY_TARGET_MB)
        else:
            row["as_expected"] = 400 <= row["status"] < 500
            row["within_target"] = row["server_cpu_max_s"] <= CPU_TARGET_S and row["peak_rss_growth_mb"] <= MEMORY_TARGET_MB
    accepted = [r for r in results[1:] if r["expected"] == "accepted" and r["as_expected"]]
    worst_cpu = max(accepted, key=lambda r: r["server_cpu_max_s"], default=None)
    worst_memory = max(accepted, key=lambda r: r["peak_rss_growth_mb"], default=None)
    return {
        "benchmark": "hostile_inputs", "quick": quick, "repeat": repeat, "python": platform.python_version(),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "limits": {k: getattr(limits, k) for k in ("max_request_bytes", "max_upload_bytes", "max_json_depth",
                                                   "max_flow_bytes", "max_flow_nodes")},
        "targets": {"accepted_max_bytes": MB, "server_cpu_s": CPU_TARGET_S, "peak_rss_growth_mb": MEMORY_TARGET_MB},
        "baseline": baseline, "inputs": results[1:], "server_tracebacks_logged": tracebacks,
        "worst_accepted_cpu": worst_cpu and {"name": worst_cpu["name"], "server_cpu_s": worst_cpu["server_cpu_max_s"]},
        "worst_accepted_memory": worst_memory and {"name": worst_memory["name"], "peak_rss_growth_mb": worst_memory["peak_rss_growth_mb"]},
        "server_errors": sum(1 for r in results if r["status"] >= 500 or r["status"] == 0 and r["expected"] == "accepted"),
        "targets_met": all(r["within_target"] for r in results[1:]) and tracebacks == 0,
        "all_as_expected": all(r["as_expected"] for r in results[1:]),
    }


def table(report: dict[str, Any]) -> str:
    lines = [f"{'input':48} {'bytes':>9} {'status':>6} {'code':24} {'cpu s':>7} {'+rss MB':>8} {'ok':>3}",
             "-" * 112]
    for row in [report["baseline"], *report["inputs"]]:
        mark = "" if row is report["baseline"] else ("yes" if row["as_expected"] and row["within_target"] else "NO")
        lines.append(f"{row['name'][:48]:48} {row['bytes']:>9,} {row['status']:>6} {str(row['error_code'] or '')[:24]:24} "
                     f"{row['server_cpu_s']:>7.3f} {row['peak_rss_growth_mb']:>8.1f} {mark:>3}")
    lines.append("-" * 112)
    lines.append(f"targets: accepted <= 1 MB costs <= {CPU_TARGET_S} s CPU and <= {MEMORY_TARGET_MB:.0f} MB; "
                 f"met: {report['targets_met']}; all as expected: {report['all_as_expected']}; "
                 f"server errors: {report['server_errors']}; tracebacks: {report['server_tracebacks_logged']}")
    if report["worst_accepted_cpu"]:
        lines.append(f"worst accepted CPU: {report['worst_accepted_cpu']['name']} ({report['worst_accepted_cpu']['server_cpu_s']:.3f} s); "
                     f"worst accepted memory: {report['worst_accepted_memory']['name']} "
                     f"({report['worst_accepted_memory']['peak_rss_growth_mb']:.1f} MB)")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smaller CSV, one request per input (a smoke test)")
    parser.add_argument("--repeat", type=int, default=None, help="requests per input (default 3, --quick 1)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "hostile_inputs.json")
    args = parser.parse_args()
    report = run(args.quick, args.repeat or (1 if args.quick else 3))
    print(table(report))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
