"""The customer's system, as the demo plays it: the endpoint the journey's flow calls when a
contact asks by SMS to be called back (``ivr_flows/missed_call_callback.yaml``, its webhook
``ask_crm``: ``POST /callbacks`` with the contact's phone and the session's id), which asks the
platform for the call through its API (``POST /calls`` with the same flow), as a CRM would, and
answers with the call's id (the flow keeps it in ``vars.callback_call``).

One call back per session: the webhook sent again (a retry) gets the same call. It listens on
loopback for the length of the demo. The flow's webhook is made by the process that runs the
session's step (the SMS bridge, for a reply that came through Jasmin), under the platform's
outbound HTTP policy, which refuses loopback unless ``VOICEPLATFORM_OUTBOUND_ALLOW`` names the
address: :attr:`CallbackDesk.address` is what to name there.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from gevent.lock import Semaphore
from gevent.pywsgi import WSGIServer

from voiceplatform.client.http import ApiClient, ApiClientError

log = logging.getLogger(__name__)

PATH = "/callbacks"
MAX_BODY = 4096
RING_SECONDS = 20
StartResponse = Callable[[str, list[tuple[str, str]]], Any]


@dataclass(frozen=True)
class CallbackRequest:
    """One request the flow made: for ``phone``, from session ``session``; the call placed."""

    phone: str
    session: str
    first_name: str
    call_id: str | None
    error: str | None = None


class CallbackDesk:
    def __init__(self, flow: str, host: str = "127.0.0.1") -> None:
        self.flow = flow
        self.client: ApiClient | None = None  # given once the API is up
        self.requests: list[CallbackRequest] = []
        self._server = WSGIServer((host, 0), self._app, log=None, error_log=log)
        self._one_at_a_time = Semaphore()

    def start(self) -> CallbackDesk:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop(timeout=2)

    @property
    def address(self) -> str:
        return f"{self._server.server_host}:{self._server.server_port}"

    @property
    def url(self) -> str:
        return f"http://{self.address}"

    def request_for(self, session: str) -> CallbackRequest | None:
        return next((found for found in self.requests if found.session == session), None)

    def _app(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != PATH:
            return _answer(start_response, "404 Not Found", {"error": "not found"})
        if environ.get("REQUEST_METHOD") != "POST":
            return _answer(start_response, "405 Method Not Allowed", {"error": "POST only"})
        raw = environ["wsgi.input"].read(MAX_BODY + 1)
        if len(raw) > MAX_BODY:
            return _answer(start_response, "413 Content Too Large", {"error": f"at most {MAX_BODY} bytes"})
        try:
            body = json.loads(raw or b"null")
        except ValueError:
            body = None
        if not isinstance(body, dict) or not all(isinstance(body.get(key), str) for key in ("phone", "session")):
            return _answer(start_response, "400 Bad Request", {"error": "a JSON object with phone and session"})
        with self._one_at_a_time:  # a retried webhook waits for the first one's call, and gets it
            done = self.request_for(body["session"])
            if done is None:
                done = self._call_back(body["phone"], body["session"], str(body.get("first_name") or ""))
                self.requests.append(done)
        if done.call_id is None:
            return _answer(start_response, "502 Bad Gateway", {"error": done.error})
        return _answer(start_response, "200 OK", {"call_id": done.call_id})

    def _call_back(self, phone: str, session: str, first_name: str) -> CallbackRequest:
        if self.client is None:
            return CallbackRequest(phone, session, first_name, None, "the platform's API is not up yet")
        try:
            call = self.client.post("/calls", {"to": phone, "flow": {"name": self.flow}, "ring_seconds": RING_SECONDS})
        except ApiClientError as exc:
            return CallbackRequest(phone, session, first_name, None, f"POST /calls: {exc.status} {exc.message}")
        return CallbackRequest(phone, session, first_name, str(call["id"]))


def _answer(start_response: StartResponse, status: str, body: dict[str, Any]) -> list[bytes]:
    data = json.dumps(body).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]
