"""The main job end to end, as `voiceplatform demo` runs it: the embedded server (API and dialler)
against the real lab, the demo campaign created over HTTP, followed to the end, the table, and the
recordings' transcripts: the callees that comment speak into the survey's record node, so each
recording holds seconds of speech and the review pipeline finds words in it."""

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
        code = run_campaign_demo(ApiClient(running.url, running.token, timeout=30), running.url, running.token, out,
                                 sessions=running.sessions)
    finally:
        running.stop()
    text = out.getvalue()
    assert code == 0, text
    rows = {line.split()[1]: line.split() for line in text.splitlines() if re.match(r"^\+1202555\d{4}\s", line)}
    assert set(rows) == set(CALLEES), text
    assert rows["press-1-and-comment"][2:5] == ["done", "1", "answered"], text
    assert '{"rating": "1"}' in " ".join(rows["press-1-and-comment"])
    assert '{"rating": "5"}' in " ".join(rows["press-5-and-comment"])
    assert Path(rows["press-1-and-comment"][-1]).is_file()  # the comment it recorded
    lines = text.splitlines()
    heard = {line.split()[0]: (float(line.split()[1]), lines[index + 1].strip())
             for index, line in enumerate(lines) if re.match(r"^  \S+ +\d+\.\d s  ", line)}
    assert {"press-1-and-comment", "press-5-and-comment"} <= set(heard), text
    for callee in ("press-1-and-comment", "press-5-and-comment"):
        seconds, words = heard[callee]
        assert seconds > 4.0, (callee, text)  # the comment, not a second of silence
        assert words.startswith('"') and len(words.strip('"').split()) >= 4, (callee, text)  # words were heard
    assert f"{running.url}/recordings/" in text
    assert rows["busy"][2:5] == ["done", "2", "busy"]  # retried once, as the demo's rules say
    assert rows["no-answer"][4] == "no-answer" and rows["machine"][4] == "machine"
    assert "completed 8/8 final" in text and f"{running.url}/campaigns/" in text
