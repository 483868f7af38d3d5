"""bench/sessions.py runs in --quick mode on both databases and writes its report (no timing is
asserted: the figures are the benchmark's, for the closing note)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.bench.quick_run import run_quick


def test_sessions_benchmark_runs_and_reports(tmp_path: Path) -> None:
    out = tmp_path / "sessions.json"
    done = run_quick("sessions.py", out, "--database", "both")
    assert "inbound messages resumed/s" in done.stdout and "bare UPDATE" in done.stdout
    report = json.loads(out.read_text())
    assert report["worker"] == "separate process"
    assert [run["database"] for run in report["runs"]] == ["sqlite", "postgresql"]
    for run in report["runs"]:
        assert run["resume"]["outcomes"] == {"resumed": report["sizes"]["sessions"]}
        assert run["latency"]["outcomes"] == {"resumed": report["sizes"]["latency_messages"]}
        assert run["sweep"]["swept"] == report["sizes"]["expired"] == run["sweep"]["seeded"]
        assert run["baseline_update"]["updates"] == run["baseline_update_batched"]["updates"] == report["sizes"]["baseline"]
        assert run["baseline_update_batched"]["per_commit"] > run["baseline_update"]["per_commit"] == 1
        assert min(run["memory"]["rss_before"], run["memory"]["rss_middle"], run["memory"]["rss_after"]) > 0
        for figure in (run["resume"]["per_s"], run["latency"]["p99_ms"], run["baseline_update"]["per_s"],
                       run["resume_to_baseline"], run["resume_to_batched_baseline"], run["sweep"]["cpu_seconds"],
                       run["sweep_to_batched_baseline"]):
            assert figure > 0
