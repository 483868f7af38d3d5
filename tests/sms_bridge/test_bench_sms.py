"""bench/sms.py runs (--quick, with a gateway of its own) and writes its JSON report: every
message submitted and its receipt stored on both paths, none unanswered. No timing is asserted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.bench.quick_run import run_quick

pytestmark = pytest.mark.integration


def test_the_sms_benchmark_runs_and_reports(tmp_path: Path) -> None:
    out = tmp_path / "sms.json"
    done = run_quick("sms.py", out, timeout=600)
    assert "straight to the handset network" in done.stdout and "through Jasmin" in done.stdout
    report = json.loads(out.read_text())
    for key in ("straight_to_handsets", "through_jasmin_1_connector"):
        figures = report[key]
        assert figures["submitted_per_s"] > 0 and figures["delivered_per_s"] > 0, figures
        assert figures["counters"]["parts_accepted"] == figures["messages"]
        assert figures["counters"]["parts_unanswered"] == 0
