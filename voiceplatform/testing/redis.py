"""A private Redis server for tests: ``redis-server`` from PATH (Debian's ``redis-server``
package), on a free 127.0.0.1 port, in its own temporary directory, keeping nothing on disk
(``--save "" --appendonly no``), so a restart comes back empty, as a production Redis without
persistence does.

    with RedisServer() as server:
        client = server.client()
        ...
        server.restart()          # same port, empty; clients reconnect on their next command

The server dies with the process that started it (``PR_SET_PDEATHSIG`` on Linux), so a test run
that is killed leaves no server behind.
"""

from __future__ import annotations

import ctypes
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import redis

from voiceplatform.exceptions import VoicePlatformError

#: Seconds to wait for a server to answer PING after it is started.
STARTUP_TIMEOUT = 10.0
#: Seconds between two PINGs while waiting (polling with a deadline, not a fixed sleep).
POLL_INTERVAL = 0.005
#: Seconds a server gets to exit after SIGTERM before it is killed.
STOP_TIMEOUT = 5.0
#: How many free ports to try when another process takes the chosen one first.
PORT_ATTEMPTS = 5


class RedisServerError(VoicePlatformError):
    """The private Redis server cannot be found, started or reached."""


def redis_server_binary() -> str | None:
    """The path of ``redis-server`` on PATH, or None."""
    return shutil.which("redis-server")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


class RedisServer:
    """One private ``redis-server`` process. ``port`` is chosen on the first start (or given) and
    kept across :meth:`restart`."""

    def __init__(self, port: int | None = None, *, binary: str | None = None) -> None:
        self.binary = binary or redis_server_binary()
        if self.binary is None:
            raise RedisServerError("redis-server is not on PATH (apt-get install redis-server)")
        self.host = "127.0.0.1"
        self.port = port
        self._fixed_port = port is not None
        self.directory = Path(tempfile.mkdtemp(prefix="vp-redis-"))
        self._process: subprocess.Popen[bytes] | None = None
        self._clients: list[redis.Redis] = []

    # ---- addresses and clients ----

    @property
    def url(self) -> str:
        if self.port is None:
            raise RedisServerError("the server has not been started yet")
        return f"redis://{self.host}:{self.port}/0"

    @property
    def log_file(self) -> Path:
        return self.directory / "redis.log"

    def client(self, **options: Any) -> redis.Redis:
        """A new client of this server; ``options`` go to :meth:`redis.Redis.from_url` (e.g.
        ``retry=Retry(NoBackoff(), 0)`` to see a failure at once). Closed by :meth:`close`."""
        options.setdefault("socket_timeout", 5.0)
        options.setdefault("socket_connect_timeout", 5.0)
        client = redis.Redis.from_url(self.url, **options)
        self._clients.append(client)
        return client

    # ---- life cycle ----

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> RedisServer:
        """Start the server (a free port the first time) and wait until it answers."""
        if self.running:
            raise RedisServerError(f"the server on port {self.port} is already running")
        attempts = 1 if self._fixed_port else PORT_ATTEMPTS
        for attempt in range(attempts):
            if not self._fixed_port:
                self.port = _free_port()
            try:
                self._spawn()
                self.wait_ready()
            except RedisServerError:
                address_taken = "Address already in use" in self._log_tail()
                self._reap()
                if address_taken and attempt + 1 < attempts:
                    continue
                raise
            # Once a port has served, restarts must come back on it.
            self._fixed_port = True
            return self
        raise AssertionError("unreachable")  # pragma: no cover

    def _spawn(self) -> None:
        self.log_file.unlink(missing_ok=True)
        command = [
            str(self.binary),
            "--port", str(self.port),
            "--bind", self.host,
            "--save", "",
            "--appendonly", "no",
            "--dir", str(self.directory),
            "--logfile", str(self.log_file),
            "--daemonize", "no",
            "--protected-mode", "yes",
        ]
        self._process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=self.directory,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )

    def wait_ready(self, timeout: float = STARTUP_TIMEOUT) -> None:
        """Return once the server answers PING with PONG; raise :class:`RedisServerError` (with
        the end of its log) if it exits or does not answer within ``timeout`` seconds."""
        if self.port is None:
            raise RedisServerError("the server has not been started yet")
        deadline = time.monotonic() + timeout
        while True:
            if self._process is not None and self._process.poll() is not None:
                raise RedisServerError(
                    f"redis-server exited with status {self._process.returncode} on port {self.port}:\n"
                    f"{self._log_tail()}")
            if self._answers_ping():
                return
            if time.monotonic() > deadline:
                raise RedisServerError(f"redis-server on port {self.port} did not answer PING within "
                                       f"{timeout} s:\n{self._log_tail()}")
            time.sleep(POLL_INTERVAL)

    def _answers_ping(self) -> bool:
        try:
            with socket.create_connection((self.host, self.port), timeout=1.0) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(64).startswith(b"+PONG")
        except OSError:
            return False

    def _log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def _reap(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.kill()
        process.wait()

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL after :data:`STOP_TIMEOUT` s). Nothing is saved."""
        process = self._process
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
        self._reap()

    def kill(self) -> None:
        """Kill the server at once (SIGKILL), as a crash would."""
        process = self._process
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGKILL)
        self._reap()

    def restart(self) -> None:
        """Stop the server if it runs and start an empty one on the same port."""
        self.stop()
        self.start()

    def close(self) -> None:
        """Stop the server, close the clients made by :meth:`client`, remove the directory."""
        try:
            self.stop()
        finally:
            for client in self._clients:
                client.close()
            self._clients.clear()
            shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> RedisServer:
        if not self.running:
            try:
                self.start()
            except BaseException:
                self.close()
                raise
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<RedisServer {self.host}:{self.port} {state}>"

