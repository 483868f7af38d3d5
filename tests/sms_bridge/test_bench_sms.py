"""bench/sms.py runs (--quick, with a gateway of its own) and writes its JSON report: on every
path each message is submitted and its receipt stored, none unanswered; the flooded receipts are
all applied and answered; every reply to a session got its next question; the campaign's
contacts each got their message. No timing is asserted."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.bench.quick_run import run_quick

pytestmark = pytest.mark.integration


def _sent_whole(run: dict[str, Any]) -> None:
    assert run["all_delivered"], run["final"]
    assert run["counters"]["parts_accepted"] == run["messages"], run["counters"]
    assert run["counters"]["parts_unanswered"] == 0, run["counters"]
    assert run["end_to_end_per_s"] > 0 and run["load_before"] >= 0


def test_the_sms_benchmark_runs_and_reports(tmp_path: Path) -> None:
    out = tmp_path / "sms.json"
    done = run_quick("sms.py", out, timeout=900)
    for label in ("straight to the handset network", "through Jasmin, 4 connector(s)", "receipts processed",
                  "MO-to-reply", "personalised SMS campaign", "worker memory"):
        assert label in done.stdout, done.stdout
    report = json.loads(out.read_text())
    sizes = report["sizes"]
    assert set(report["straight"]["runs"]) == {"binds_1", "binds_2", "binds_4"}
    for run in report["straight"]["runs"].values():
        _sent_whole(run)
    assert report["straight"]["bare_esme"]["receipts"] == sizes["messages"]
    for key, run in report["jasmin"]["runs"].items():
        _sent_whole(run["bridge"])
        assert run["bare_esme"]["receipts"] == run["bridge"]["messages"], key
    receipts = report["receipts"]["bridge"]
    assert receipts["all_delivered"] and receipts["answered"] == sizes["receipts"] and receipts["refused"] == 0
    assert report["latency"]["straight"]["replies"] == sizes["latency"]
    assert report["latency"]["through_jasmin"]["replies"] == sizes["jasmin_latency"]
    campaign = report["campaign"]
    assert campaign["progress"]["delivered"] == sizes["campaign"], campaign["progress"]
    assert campaign["worker_rss_mb"]["peak"] > 0
