"""Benchmark of the flow engine. Prints a table and writes bench/results/flow_engine.json.

Measures (targets on a 2-core machine):
- node transitions per second, without templates (>= 50,000) and with templates (>= 10,000);
- state serialise (JSON) plus resume, in microseconds (<= 100);
- validation of a 500-node flow, in milliseconds (<= 300).

Each figure comes with a baseline measured in the same process, so the ratio is meaningful on a
noisy machine: a bare loop following the same graph, json round trips of the same state, and
yaml.safe_load of the same document.

Usage: python bench/flow_engine.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from voiceplatform.flow import Input, Limits, dump_state, load_flow_text, resume, start  # noqa: E402

CHAIN = 50
LIMITS = Limits(max_steps_per_resume=10_000)


def chain_flow(templated: bool) -> str:
    """A loop: a gather, then CHAIN nodes (say / set / branch), then back to the gather."""
    nodes = [{
        "id": "ask", "type": "gather", "text": "Pick" if not templated else "Pick, {{ contact.first_name }}",
        "choices": [{"key": "1", "label": "Again"}], "next": "n0", "retries": 0,
    }]
    for i in range(CHAIN):
        following = f"n{i + 1}" if i + 1 < CHAIN else "ask"
        kind = i % 3
        if kind == 0:
            text = f"Line {i}" if not templated else f"Line {i} for {{{{ contact.first_name }}}} owing @amount"
            nodes.append({"id": f"n{i}", "type": "say", "text": text, "next": following})
        elif kind == 1:
            value = i if not templated else f"{{{{ contact.first_name }}}}-{{{{ vars.v{max(i - 3, 1)} }}}}"
            nodes.append({"id": f"n{i}", "type": "set", "vars": {f"v{i}": value}, "next": following})
        elif templated:
            nodes.append({"id": f"n{i}", "type": "branch", "cases": [{"when": "results.ask == '9'", "next": "ask"}], "default": following})
        else:
            nodes.append({"id": f"n{i}", "type": "say", "text": f"Plain {i}", "next": following})
    document = {"spec_version": 1, "name": "bench", "channels": ["sms"], "start": "ask", "nodes": nodes}
    if templated:
        document["vars"] = {f"v{i}": 0 for i in range(CHAIN)}
    return yaml.safe_dump(document, sort_keys=False)


def timed(function: Callable[[], Any], seconds: float) -> tuple[int, float]:
    count, began = 0, time.perf_counter()
    while True:
        function()
        count += 1
        elapsed = time.perf_counter() - began
        if elapsed >= seconds:
            return count, elapsed


def transitions(templated: bool, seconds: float) -> dict[str, Any]:
    flow = load_flow_text(chain_flow(templated), file="bench.yaml")
    contact = {"first_name": "Amira", "amount": "$120"}
    state = start(flow, contact, "sms", limits=LIMITS).state
    given = Input.text("1")
    steps_per_resume = len(resume(flow, state, given, limits=LIMITS).path)

    def one() -> None:
        resume(flow, state, given, limits=LIMITS)

    count, elapsed = timed(one, seconds)
    rate = count * steps_per_resume / elapsed

    graph = {node_id: node.target("next") or node.target("default") for node_id, node in flow.nodes.items()}

    def bare_walk() -> None:  # the floor: follow the same pointers, touch a dict per node
        node, visited = "n0", {}
        while node != "ask":
            visited[node] = True
            node = graph[node]

    base_count, base_elapsed = timed(bare_walk, seconds / 2)
    base_rate = base_count * CHAIN / base_elapsed
    return {"transitions_per_s": rate, "steps_per_resume": steps_per_resume, "baseline_walk_per_s": base_rate,
            "ratio_to_baseline": base_rate / rate}


def resume_latency(seconds: float) -> dict[str, Any]:
    flow = load_flow_text((ROOT / "ivr_flows" / "payment_reminder.yaml").read_text(), file="payment_reminder.yaml",
                          base_dir=ROOT / "ivr_flows")
    contact = {"first_name": "Amira", "amount": "$120.50", "due_date": "1 December", "account_id": "AC-1", "phone": "+1555"}
    waiting = start(flow, contact, "sms").state
    stored = dump_state(waiting)
    given = Input.text("neither")  # a no-match: re-asks, stays at the same node

    samples = []
    for _ in range(2000):
        began = time.perf_counter()
        step = resume(flow, stored, given)
        dump_state(step.state)
        samples.append(time.perf_counter() - began)
    count, elapsed = timed(lambda: dump_state(resume(flow, stored, given).state), seconds)
    base_count, base_elapsed = timed(lambda: json.dumps(json.loads(stored)), seconds / 2)
    mean_us = elapsed / count * 1e6
    base_us = base_elapsed / base_count * 1e6
    samples.sort()
    return {"mean_us": mean_us, "p50_us": samples[len(samples) // 2] * 1e6, "p99_us": samples[int(len(samples) * 0.99)] * 1e6,
            "state_bytes": len(stored), "baseline_json_roundtrip_us": base_us, "ratio_to_baseline": mean_us / base_us}


def big_flow_text(size: int) -> str:
    nodes: list[dict[str, Any]] = []
    for i in range(size):
        following = f"n{i + 1}" if i + 1 < size else None
        kind = i % 5
        node: dict[str, Any] = {"id": f"n{i}"}
        if kind == 0:
            node.update(type="say", text=f"Step {i}: hello {{{{ contact.first_name }}}}, you owe @amount")
        elif kind == 1:
            node.update(type="gather", text=f"Question {i}?", input=["dtmf", "speech"], store=f"q{i}",
                        choices=[{"key": "1", "label": "Yes", "synonyms": ["yeah"]}, {"key": "2", "label": "No"}],
                        exits={"no_input": following, "no_match": following})
        elif kind == 2:
            node.update(type="branch", cases=[{"when": f"results.q{i - 1} == '1'", "next": following}])
            node["default"] = following
        elif kind == 3:
            node.update(type="set", vars={f"v{i}": f"{{{{ results.q{i - 2}.label }}}}"})
        else:
            node.update(type="webhook", url=f"https://api.example.com/step/{i}?who={{{{ contact.id }}}}",
                        body={"answer": f"{{{{ vars.v{i - 1} }}}}"}, save={f"r{i}": "response.json.ok"})
        if following is not None and node["type"] not in ("branch",):
            node["next"] = following
        nodes.append(node)
    nodes[-1].pop("next", None)
    document = {"spec_version": 1, "name": "big", "channels": ["voice", "sms", "whatsapp"], "start": "n0", "nodes": nodes}
    return yaml.safe_dump(document, sort_keys=False)


def validation(size: int, repeats: int) -> dict[str, Any]:
    text = big_flow_text(size)
    from voiceplatform.flow import templates

    times, base = [], []
    for _ in range(repeats):
        templates.compile_text.cache_clear()
        templates.compile_condition.cache_clear()
        templates._parse.cache_clear()
        began = time.perf_counter()
        flow = load_flow_text(text, file="big.yaml")
        times.append(time.perf_counter() - began)
        began = time.perf_counter()
        yaml.safe_load(text)
        base.append(time.perf_counter() - began)
    assert len(flow.nodes) == size
    median = statistics.median(times) * 1000
    base_median = statistics.median(base) * 1000
    return {"nodes": size, "median_ms": median, "best_ms": min(times) * 1000, "baseline_yaml_safe_load_ms": base_median,
            "ratio_to_baseline": median / base_median, "document_bytes": len(text)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="shorter runs (for smoke tests)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "flow_engine.json")
    args = parser.parse_args()
    seconds = 0.3 if args.quick else 2.0

    plain = transitions(False, seconds)
    templated = transitions(True, seconds)
    latency = resume_latency(seconds)
    validated = validation(500, 3 if args.quick else 7)

    rows = [
        ("transitions/s, no templates", plain["transitions_per_s"], ">= 50000", plain["transitions_per_s"] >= 50_000,
         f"bare walk {plain['baseline_walk_per_s']:,.0f}/s ({plain['ratio_to_baseline']:.0f}x)"),
        ("transitions/s, templates", templated["transitions_per_s"], ">= 10000", templated["transitions_per_s"] >= 10_000,
         f"bare walk {templated['baseline_walk_per_s']:,.0f}/s ({templated['ratio_to_baseline']:.0f}x)"),
        ("serialise + resume, mean us", latency["mean_us"], "<= 100", latency["mean_us"] <= 100,
         f"p50 {latency['p50_us']:.0f} / p99 {latency['p99_us']:.0f} us; json round trip {latency['baseline_json_roundtrip_us']:.1f} us ({latency['ratio_to_baseline']:.1f}x)"),
        ("validate 500 nodes, median ms", validated["median_ms"], "<= 300", validated["median_ms"] <= 300,
         f"yaml.safe_load {validated['baseline_yaml_safe_load_ms']:.0f} ms ({validated['ratio_to_baseline']:.1f}x)"),
    ]
    print(f"flow engine benchmark  (python {platform.python_version()}, {platform.machine()})")
    print(f"{'measure':<32} {'value':>12}  {'target':<10} {'ok':<4} baseline in the same process")
    for name, value, target, ok, note in rows:
        print(f"{name:<32} {value:>12,.1f}  {target:<10} {'yes' if ok else 'NO':<4} {note}")
    report = {
        "python": platform.python_version(),
        "quick": args.quick,
        "transitions_no_templates": plain,
        "transitions_templates": templated,
        "resume": latency,
        "validate_500": validated,
        "targets_met": all(row[3] for row in rows),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(f"wrote {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
