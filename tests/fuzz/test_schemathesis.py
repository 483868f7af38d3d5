"""schemathesis (v4) against ``/openapi.json`` of a real ``voiceplatform serve --no-dialer``, with
a valid admin token, checking ``not_a_server_error``: no generated request may get a 5xx.

Both run in processes of their own (voiceplatform.testing.server_process; the ``schemathesis``
CLI): the server does gevent's monkey patching first, as the console script does, and
schemathesis's hypothesis plugin never loads into this gevent-patched test process. Bounded: a few
examples per operation and a time budget for the whole run (SCHEMATHESIS_SECONDS). It prints the
number of generated cases; a previous run of it found the ``flow.version`` overflow.

``DELETE /tokens/{id}`` and ``POST /tokens/{id}/regenerate`` are left out: generated ids reach the
run's own token (id 1) and revoke it, after which every other operation only sees 401s. They are
fuzzed in-process by tests/fuzz/test_api_bodies.py.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from voiceplatform.testing.server_process import ServerProcess

SCHEMATHESIS_SECONDS = 70  # the CLI's --max-time: the whole run, all phases
EXAMPLES_PER_OPERATION = 5


def schemathesis_cli() -> list[str]:
    beside = Path(sys.executable).with_name("schemathesis")
    if beside.exists():
        return [str(beside)]
    found = shutil.which("schemathesis")
    if found is None:
        pytest.fail("schemathesis is a test dependency (setup.cfg [options.extras_require] test)")
    return [found]


def test_schemathesis_finds_no_server_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with ServerProcess(tmp_path) as server:
        done = subprocess.run(
            [*schemathesis_cli(), "run", f"{server.url}/openapi.json", "--header", f"Authorization: Bearer {server.token}",
             "--checks", "not_a_server_error", "--max-examples", str(EXAMPLES_PER_OPERATION),
             "--max-time", str(SCHEMATHESIS_SECONDS), "--seed", "10", "--no-shrink",
             "--exclude-path-regex", r"^/tokens/[{]", "--request-timeout", "30"],
            capture_output=True, text=True, timeout=SCHEMATHESIS_SECONDS + 120, cwd=tmp_path)
        tracebacks = server.tracebacks()
        server_log = server.err_path.read_text(errors="replace")[-3000:]
    counted = re.search(r"Test cases:\s*\n\s*(\d+) generated, (\d+) passed", done.stdout)
    with capsys.disabled():
        print(f"\nschemathesis: {counted.group(1) if counted else '?'} generated cases, exit {done.returncode}, "
              f"{tracebacks} server tracebacks")
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    assert counted is not None, done.stdout[-3000:]
    generated, passed = int(counted.group(1)), int(counted.group(2))
    assert generated >= 500 and passed == generated, done.stdout[-3000:]
    assert "Authentication failed" not in done.stdout, done.stdout[-3000:]  # the token held for the whole run
    assert tracebacks == 0, server_log
