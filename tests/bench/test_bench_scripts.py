"""The benchmark scripts run and write their JSON report (no timing is asserted here: figures
are read from the benchmark's own output, never from a timed unit test)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.bench.quick_run import run_quick


def test_flow_engine_benchmark_runs_and_reports(tmp_path: Path) -> None:
    out = tmp_path / "flow_engine.json"
    done = run_quick("flow_engine.py", out)
    assert "transitions/s, no templates" in done.stdout
    report = json.loads(out.read_text())
    assert report["validate_500"]["nodes"] == 500
    assert report["transitions_no_templates"]["steps_per_resume"] == 51
    for key in ("transitions_no_templates", "transitions_templates", "resume", "validate_500"):
        assert report[key]["ratio_to_baseline"] > 0


def test_freeswitch_benchmark_runs_and_reports(tmp_path: Path) -> None:
    out = tmp_path / "freeswitch_calls.json"
    done = run_quick("freeswitch_calls.py", out)
    assert "concurrent sessions held" in done.stdout
    report = json.loads(out.read_text())
    assert report["run"]["calls"] == 40 and report["run"]["failures"] == 0
    assert report["emulator"] == "separate process"
    for key in ("driver_reader_per_s", "greenswitch_parser_per_s", "bare_loop_per_s"):
        assert report["parse_capacity"][key] > 0
