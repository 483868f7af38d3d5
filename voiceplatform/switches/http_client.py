"""Performs a flow's HttpRequest outputs (webhook nodes) and turns the answer into an input.
Cooperative under gevent's monkey-patching; never raises for network problems."""

from __future__ import annotations

import socket
import urllib.error
import urllib.request

from voiceplatform.flow import Input
from voiceplatform.flow.outputs import HttpRequest

MAX_BODY = 1_000_000


def perform(request: HttpRequest) -> tuple[Input, str | None]:
    """The input to resume with, and an error description (None when the server answered)."""
    data = request.body.encode("utf-8") if request.body is not None else None
    prepared = urllib.request.Request(request.url, data=data, method=request.method, headers=request.headers)
    try:
        with urllib.request.urlopen(prepared, timeout=request.timeout) as response:  # noqa: S310 (flows name their URLs)
            body = response.read(MAX_BODY).decode("utf-8", errors="replace")
            return Input.http_response(response.status, body, dict(response.headers)), None
    except urllib.error.HTTPError as exc:
        body = exc.read(MAX_BODY).decode("utf-8", errors="replace") if exc.fp else ""
        return Input.http_response(exc.code, body, dict(exc.headers or {})), None
    except (urllib.error.URLError, socket.timeout, TimeoutError, ConnectionError, ValueError) as exc:
        return Input.timeout(), f"{request.method} {request.url} failed: {exc}"
