"""bench/hostile_inputs.py runs and writes its JSON report: every accepted input is accepted,
every hostile one refused with a 4xx, no server error and no traceback (CPU and memory figures are
read from the benchmark's own output, never asserted here: the machine is shared)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.bench.quick_run import run_quick


def test_hostile_inputs_benchmark_runs_and_reports(tmp_path: Path) -> None:
    out = tmp_path / "hostile_inputs.json"
    done = run_quick("hostile_inputs.py", out)
    assert "baseline: GET /health" in done.stdout and "worst accepted CPU" in done.stdout
    report = json.loads(out.read_text())
    assert report["quick"] is True and report["targets"] == {"accepted_max_bytes": 1_048_576, "server_cpu_s": 1.0,
                                                             "peak_rss_growth_mb": 100.0}
    assert report["baseline"]["status"] == 200
    assert report["server_errors"] == 0 and report["server_tracebacks_logged"] == 0
    names = {row["name"] for row in report["inputs"]}
    assert {"largest flow, created", "10 MB token name", "JSON nested 1,000 deep", "lone surrogate", "flow.version 2^63",
            "large CSV import"} <= names
    for row in report["inputs"]:
        if row["expected"] == "accepted":
            assert 200 <= row["status"] < 300, row
            assert row["bytes"] <= 1_048_576, row
        else:
            assert 400 <= row["status"] < 500 and row["error_code"], row
        assert row["server_cpu_s"] >= 0 and row["peak_rss_growth_mb"] >= 0 and isinstance(row["within_target"], bool)
    assert report["all_as_expected"] is True and isinstance(report["targets_met"], bool)
    assert report["worst_accepted_cpu"]["name"] in names and report["worst_accepted_memory"]["name"] in names
