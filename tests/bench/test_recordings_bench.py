"""bench/recordings.py runs and writes its JSON report (no timing is asserted here: figures are
read from the benchmark's own output, never from a timed unit test)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.bench.quick_run import run_quick
SCENARIOS = {
    "no filter (landing page)", "date range (7 days) + outcome", "campaign", "qa status", "number", "sort by duration",
    "sort by QA score", "search: common word", "search: rare word", "search: two words, one month",
}


def test_recordings_benchmark_runs_and_reports(tmp_path: Path) -> None:
    out = tmp_path / "recordings.json"
    done = run_quick("recordings.py", out, "--database", "both", timeout=600)
    assert "baseline: SELECT count(*)" in done.stdout and "pipeline child process" in done.stdout
    report = json.loads(out.read_text())
    assert report["quick"] is True and report["recordings"] == 3000
    assert report["targets"] == {"filters_p95_ms": 150.0, "search_p95_ms": 300.0}
    assert set(report["targets_met"]) == {"filters_p95", "search_p95", "judged_on"} and report["targets_met"]["judged_on"] == "postgresql"
    assert set(report["databases"]) == {"postgresql", "sqlite"}
    for database in report["databases"].values():
        assert database["seed"]["recordings"] == 3000 and database["seed"]["common_words"]
        assert database["baseline_count_star"]["p95_ms"] > 0
        assert {run["name"] for run in database["scenarios"]} == SCENARIOS
        for run in database["scenarios"]:
            assert run["kind"] in ("filters", "search") and run["runs"] == 10
            for key in ("p50_ms", "p95_ms", "p99_ms", "mean_ms", "ratio_to_baseline_p95"):
                assert run[key] > 0, (key, run)
            assert run["mean_page_rows"] <= 50 and isinstance(run["target_met"], bool)
        assert all(run["mean_total"] > 0 for run in database["scenarios"] if run["name"] != "search: rare word")
    speed = report["transcription"]
    assert speed["pocketsphinx"]["real_time_factor"] > 0 and speed["pocketsphinx"]["audio_seconds"] > 5
    assert speed["pipeline_child_process"]["engine"] in ("pocketsphinx", "vosk") and speed["pipeline_child_process"]["wall_seconds"] > 0
    if "vosk" in speed:
        assert speed["vosk"]["real_time_factor"] > 0 and speed["vosk"]["model_load_seconds"] > 0
