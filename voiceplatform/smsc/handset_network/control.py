"""The handset network's control port: a small HTTP/JSON interface on loopback, for tests, the
benchmark and ``voiceplatform smsc status``.

    GET  /health                       {"ok": true, "binds": [...], "records": n}
    GET  /messages?kind=&after=&destination=&source=&message_id=&script=&status=&text=
                                       {"records": [...], "next": n}  (this run's records)
    POST /mo  {"source": "+12025550700", "destination": "+15550100", "text": "hi"}
                                       {"parts": 1}; 409 when no gateway is bound to receive it

Anything else is a 404; a body that is not that JSON is a 400.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

from voiceplatform.smsc.handset_network.server import HandsetNetwork, NoReceiverError

StartResponse = Callable[[str, list[tuple[str, str]]], Any]
#: The largest request body the control port reads.
MAX_BODY = 64 * 1024
FILTERS = ("destination", "source", "message_id", "script", "status", "text", "system_id")


class ControlApp:
    def __init__(self, network: HandsetNetwork) -> None:
        self.network = network

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "")
        try:
            if method == "GET" and path == "/health":
                status, answer = "200 OK", self._health()
            elif method == "GET" and path == "/messages":
                status, answer = "200 OK", self._messages(environ.get("QUERY_STRING", ""))
            elif method == "POST" and path == "/mo":
                status, answer = self._mo(_read_json(environ))
            else:
                status, answer = "404 Not Found", {"error": f"no {method} {path}"}
        except ValueError as exc:
            status, answer = "400 Bad Request", {"error": str(exc)}
        body = json.dumps(answer, ensure_ascii=False).encode("utf-8")
        start_response(status, [("Content-Type", "application/json"),
                                ("Content-Length", str(len(body)))])
        return [body]

    def _health(self) -> dict[str, Any]:
        recorder = self.network.recorder
        return {"ok": True, "binds": self.network.binds(),
                "records": recorder.offset + len(recorder.records)}

    def _messages(self, query_string: str) -> dict[str, Any]:
        query = {name: values[-1] for name, values in parse_qs(query_string).items()}
        try:
            after = int(query.pop("after", "0"))
        except ValueError as exc:
            raise ValueError("after must be a record number") from exc
        kind = query.pop("kind", None)
        unknown = set(query) - set(FILTERS)
        if unknown:
            raise ValueError(f"unknown filters: {', '.join(sorted(unknown))}")
        recorder = self.network.recorder
        return {"records": recorder.query(kind, after, **query),
                "next": recorder.offset + len(recorder.records)}

    def _mo(self, body: Any) -> tuple[str, dict[str, Any]]:
        if not isinstance(body, dict) or not all(isinstance(body.get(k), str) for k in ("source", "destination", "text")):
            raise ValueError('POST /mo takes {"source": str, "destination": str, "text": str}')
        if not body["text"] or len(body["text"]) > 2000:
            raise ValueError("text must hold 1 to 2000 characters")
        for name in ("source", "destination"):
            if not body[name].lstrip("+").isalnum() or len(body[name]) > 20:
                raise ValueError(f"{name} must be a number or a short alphanumeric address")
        try:
            parts = self.network.inject_mo(body["source"], body["destination"], body["text"])
        except NoReceiverError as exc:
            return "409 Conflict", {"error": str(exc)}
        return "200 OK", {"parts": parts}


def _read_json(environ: dict[str, Any]) -> Any:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError as exc:
        raise ValueError("bad Content-Length") from exc
    if length > MAX_BODY:
        raise ValueError(f"the body is over {MAX_BODY} bytes")
    raw = environ["wsgi.input"].read(length)
    try:
        return json.loads(raw or b"null")
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"the body is not JSON: {exc}") from exc
