"""bench/api.py runs and writes its JSON report (no timing is asserted here: figures are read from
the benchmark's own output, never from a timed unit test)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.bench.quick_run import run_quick


def test_api_benchmark_runs_and_reports(tmp_path: Path) -> None:
    out = tmp_path / "api.json"
    done = run_quick("api.py", out)
    assert "p95<20" in done.stdout
    report = json.loads(out.read_text())
    assert report["quick"] is True and report["targets"] == {"p95_ms": 20.0, "sla_p95_ms": 200.0}
    assert set(report["targets_met"]) == {"p95_20ms_all_loaded_runs", "p95_200ms_all_loaded_runs"}
    sqlite = report["databases"]["sqlite"]
    assert sqlite["seed"]["contacts"] == 1000 and sqlite["seed"]["calls"] > 0
    assert sqlite["server_tracebacks_logged"] == 0
    runs = {(r["scenario"], r["mode"]) for r in sqlite["runs"]}
    assert runs == {(scenario, mode) for scenario in ("stats", "call", "mixed") for mode in ("baseline", "closed", "open")}
    for run in sqlite["runs"]:
        assert run["requests"] > 0 and run["errors"] == 0 and run["unfinished"] == 0, run
        for key in ("throughput_per_s", "p50_ms", "p95_ms", "p99_ms", "ratio_to_baseline_p95"):
            assert run[key] > 0, (key, run)
        assert run["server_cpu_share"] >= 0  # /proc counts in 10 ms ticks: a short run may see none
        assert isinstance(run["target_p95_met"], bool) and isinstance(run["sla_p95_met"], bool)
        assert (run["offered_per_s"] is not None) == (run["mode"] == "open")
    mixed = next(r for r in sqlite["runs"] if r["scenario"] == "mixed" and r["mode"] == "closed")
    assert set(mixed["by_kind"]) == {"stats", "call"}
