"""``voiceplatform serve``: the HTTP API on gevent's WSGI server.

With no ``REDIS_URL`` this is the embedded mode: the same process runs the dialler (the switch
driver, the supervisor, in-process jobs), so one command needs nothing else. With ``REDIS_URL``
the API only enqueues prompts on rq; ``voiceplatform worker`` processes dial.
"""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gevent.pywsgi import WSGIServer

log = logging.getLogger(__name__)


class NoDelayWSGIServer(WSGIServer):
    """pywsgi writes a response's headers and body separately; with Nagle's algorithm on, the body
    waits for the client's delayed ACK (about 40 ms on a keep-alive connection)."""

    def handle(self, sock: Any, address: Any) -> None:
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass  # not a TCP socket
        super().handle(sock, address)


@dataclass
class RunningServer:
    url: str
    server: Any
    dialer: Any
    token: str
    sessions: Any

    def stop(self) -> None:
        self.server.stop(timeout=5)
        if self.dialer is not None:
            self.dialer.stop()


def start_server(host: str = "127.0.0.1", port: int = 8080, *, database_url: str | None = None,
                 redis_url: str | None = None, with_dialer: bool = True, switch: str | None = None,
                 token_file: Path | None = None) -> RunningServer:
    """Start serving in the background (this process must already use gevent)."""
    from voiceplatform.app import create_app
    from voiceplatform.processes.bootstrap import ensure_admin_token
    from voiceplatform.db import database_url as resolve_url
    from voiceplatform.db import make_engine, session_factory, upgrade
    from voiceplatform.dialer.jobs import InProcessJobs, RqJobs, serve_jobs_with

    url = resolve_url(database_url)
    upgrade(url)
    sessions = session_factory(make_engine(url))
    token = ensure_admin_token(sessions, token_file) if token_file else ensure_admin_token(sessions)
    redis_url = redis_url if redis_url is not None else os.environ.get("REDIS_URL")
    dialer = None
    if redis_url:
        jobs: Any = RqJobs(redis_url)
    else:
        jobs = InProcessJobs()
        if with_dialer:
            from voiceplatform.dialer.process import start_dialer

            dialer = start_dialer(sessions, switch=switch)
            serve_jobs_with(dialer.runtime)
    app = create_app({"DATABASE_URL": url, "MIGRATE_ON_START": False, "JOBS": jobs})
    server = NoDelayWSGIServer((host, port), app, log=None, error_log=log)
    server.start()
    bound_host, bound_port = server.server_host, server.server_port
    return RunningServer(f"http://{bound_host}:{bound_port}", server, dialer, token, sessions)
