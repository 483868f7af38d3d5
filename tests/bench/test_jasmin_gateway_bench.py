"""bench/jasmin_gateway.py runs in --quick mode against a real smsc instance of its own and writes
its report (no timing is asserted: the figures are the benchmark's, for the closing note)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.bench.quick_run import run_quick

pytestmark = pytest.mark.integration


def test_the_gateway_benchmark_runs_and_reports(tmp_path: Path) -> None:
    out = tmp_path / "gateway.json"
    done = run_quick("jasmin_gateway.py", out)
    assert "through Jasmin" in done.stdout
    report = json.loads(out.read_text())
    messages = report["sizes"]["messages"]
    for run in (report["handsets_direct"], report["through_jasmin"]):
        assert run["messages"] == messages and run["refused"] == 0
        assert run["receipts"] == messages  # every receipt came back
        assert run["accepted_per_s"] > 0
    assert report["up_seconds"] > 0 and report["jasmin_rss_mb_idle"] > 0
