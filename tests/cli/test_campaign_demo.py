"""The main job end to end, as `voiceplatform demo` runs it: the embedded server (API and dialler)
against the real lab, the demo campaign created over HTTP, followed to the end, and the table."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from voiceplatform.client.http import ApiClient
from voiceplatform.demo.campaign import CALLEES, run_campaign_demo
from voiceplatform.processes.server import start_server

pytestmark = pytest.mark.integration


def test_the_demo_campaign_runs_to_the_end_against_the_lab(asterisk_lab, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    running = start_server("127.0.0.1", 0, database_url=f"sqlite:///{tmp_path / 'demo.db'}", redis_url="",
                           token_file=tmp_path / "api-token")
    out = io.StringIO()
    try:
        code = run_campaign_demo(ApiClient(running.url, running.token, timeout=30), running.url, running.token, out)
    finally:
        running.stop()
    text = out.getvalue()
    assert code == 0, text
    rows = {line.split()[1]: line.split() for line in text.splitlines() if re.match(r"^\+1202555\d{4}\s", line)}
    assert set(rows) == set(CALLEES), text
    assert rows["answer-press-1"][2:5] == ["done", "1", "answered"] and '{"rating": "1"}' in " ".join(rows["answer-press-1"])
    assert Path(rows["answer-press-1"][-1]).is_file()  # the comment it recorded
    assert rows["busy"][2:5] == ["done", "2", "busy"]  # retried once, as the demo's rules say
    assert rows["no-answer"][4] == "no-answer" and rows["machine"][4] == "machine"
    assert "completed 8/8 final" in text and f"{running.url}/campaigns/" in text
