"""Performs a flow's HttpRequest outputs (webhook nodes) and turns the answer into an input.

Every request goes through :mod:`voiceplatform.safety.outbound_http` (http(s) only, no private
or loopback destinations unless ``VOICEPLATFORM_OUTBOUND_ALLOW`` permits them, redirects checked
hop by hop, bounded size and time). Cooperative under gevent's monkey-patching; never raises for
network problems or refused destinations: those resume the flow with a timeout (the node's
``failure`` exit) and an error description for the call's record.
"""

from __future__ import annotations

from voiceplatform.exceptions import OutboundRequestFailed, OutboundRequestRefused
from voiceplatform.flow import Input
from voiceplatform.flow.outputs import HttpRequest
from voiceplatform.safety import outbound_http


def perform(request: HttpRequest) -> tuple[Input, str | None]:
    """The input to resume with, and an error description (None when the server answered)."""
    data = request.body.encode("utf-8") if request.body is not None else None
    try:
        response = outbound_http.request(request.method, request.url, body=data, headers=request.headers,
                                         timeout=request.timeout)
    except OutboundRequestRefused as exc:
        return Input.timeout(), f"{request.method} {request.url} refused: {exc}"
    except OutboundRequestFailed as exc:
        return Input.timeout(), f"{request.method} {request.url} failed: {exc}"
    body = response.body.decode("utf-8", errors="replace")
    return Input.http_response(response.status, body, response.header_dict()), None
