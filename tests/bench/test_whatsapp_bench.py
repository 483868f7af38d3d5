"""bench/whatsapp.py runs in --quick mode (SQLite) and writes its report: the tier is never
exceeded by the limiter's own grants and the contract server refused nothing for throughput
(both properties of the limiter, not timings); every stored webhook event was applied, every
webhook POST answered 200, every waiting session got its reply. No timing is asserted."""

from __future__ import annotations

import json
from pathlib import Path

from tests.bench.quick_run import run_quick


def test_whatsapp_benchmark_runs_and_reports(tmp_path: Path) -> None:
    out = tmp_path / "whatsapp.json"
    done = run_quick("whatsapp.py", out, "--database", "sqlite", timeout=180)
    for label in ("send rate, tier 80", "send rate, tier 1,000", "two senders", "webhook events processed/s",
                  "webhook answer time p99", "inbound-to-reply latency p99", "load"):
        assert label in done.stdout, done.stdout
    report = json.loads(out.read_text())
    sizes = report["sizes"]
    [run] = report["runs"]
    assert run["database"] == "sqlite"
    rates = run["send_rate"]
    assert rates["server_130429"] == 0 and rates["server_refused"] == 0
    for key, tier in (("tier_80", 80), ("tier_1000", 1000), ("two_senders_tier_80", 80)):
        figures = rates["runs"][key]
        assert figures["tier"] == tier and figures["requests"] > 0
        assert figures["max_in_any_second"] > 0 and figures["load"]["before"] >= 0
    for key in ("tier_80", "tier_1000"):
        assert 0 < rates["runs"][key]["limiter_max_in_any_second"] <= rates["runs"][key]["tier"]
    shared = rates["runs"]["two_senders_tier_80"]
    assert sum(shared["by_sender"]) == shared["messages"] and shared["requests"] == shared["messages"]
    assert shared["distinct_recipients"] == shared["messages"]  # nothing sent twice
    inbox = run["inbox"]
    assert inbox["left"] == 0 and inbox["counters"]["event_failures"] == 0
    assert inbox["applied"] == inbox["events"] == 2 * sizes["inbox_messages"] + sizes["inbox_inbound"]
    assert inbox["baseline"]["events"] == inbox["events"] and inbox["per_s"] > 0 and inbox["ratio"] > 0
    answers = run["webhook_answer"]
    assert answers["codes"] == {"200": sizes["answers"]} and answers["baseline"]["codes"] == {"200": sizes["answers"]}
    assert answers["left"] == 0 and answers["p99_ms"] >= answers["p50_ms"] > 0
    latency = run["reply_latency"]
    assert latency["replies"] == latency["thanks_yes"] == sizes["replies"]
    assert latency["questions_as"] == ["template"] and latency["p99_ms"] >= latency["p50_ms"] > 0
