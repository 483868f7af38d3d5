"""``voiceplatform serve --no-dialer`` in a child process on a free port, on a database of its own,
for tests and benchmarks that must talk to a real server over HTTP (the schemathesis run, the
hostile-inputs benchmark): the child does gevent's monkey patching first, as the console script
does, and nothing of the caller's process (pytest's own patching, plugins) leaks into it.

The server's first-start bootstrap writes its admin token to a file in ``work`` (not the
checkout's shared ``.state/api-token``). The child is stopped, by its own pid, on ``close()``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import IO

from voiceplatform.settings import paths

ROOT = paths().home  # the child runs in the instance folder (voiceplatform.settings)

# `voiceplatform serve`, as its console script runs it, except that the bootstrap writes its admin
# token to the file named by argv[1].
SERVE_SHIM = """\
import functools, sys
from pathlib import Path
from voiceplatform.processes import bootstrap
bootstrap.ensure_admin_token = functools.partial(bootstrap.ensure_admin_token, path=Path(sys.argv[1]))
from voiceplatform.cli import main
main(sys.argv[2:], prog_name="voiceplatform")
"""


class ServerProcess:
    """Start with ``ServerProcess(work)`` (SQLite in ``work`` unless ``database_url``); read
    ``url``, ``token`` and ``pid``; ``close()`` (or use it as a context manager)."""

    def __init__(self, work: Path, database_url: str | None = None, env: dict[str, str] | None = None,
                 start_seconds: float = 90) -> None:
        self.work = work
        self.database_url = database_url or f"sqlite:///{work / 'server.db'}"
        self.out_path, self.err_path = work / "serve.out", work / "serve.err"
        child_env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
        child_env.update(DATABASE_URL=self.database_url, PYTHONUNBUFFERED="1", **(env or {}))
        self._out: IO[bytes] = self.out_path.open("wb")
        self._err: IO[bytes] = self.err_path.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-c", SERVE_SHIM, str(work / "api-token"), "serve", "--host", "127.0.0.1", "--port", "0",
             "--no-dialer"], cwd=ROOT, env=child_env, stdout=self._out, stderr=self._err)
        self.pid = self.process.pid
        try:
            self.url = self._wait_for_url(start_seconds)
            self._wait_for_health(30)
        except BaseException:
            self.close()
            raise
        self.token = (work / "api-token").read_text().strip()

    def _wait_for_url(self, seconds: float) -> str:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            found = re.search(r"serving (http://[\d.]+:\d+)", self.out_path.read_text(errors="replace"))
            if found:
                return found.group(1)
            if self.process.poll() is not None:
                break
            time.sleep(0.05)  # polling a log file the child writes: there is nothing to wait on
        raise RuntimeError(f"the server did not start:\n{self.err_path.read_text(errors='replace')[-3000:]}")

    def _wait_for_health(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=5) as response:
                    if response.status == 200:
                        return
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def tracebacks(self) -> int:
        """How many Python tracebacks the server logged (each is a crash a client may not see)."""
        return self.err_path.read_text(errors="replace").count("Traceback (most recent call last)")

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=15)
        self._out.close()
        self._err.close()

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, trace: TracebackType | None) -> None:
        self.close()
