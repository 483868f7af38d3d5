"""A webhook receiver the test controls: it keeps the exact bytes and headers of every POST and
answers as told (``fail_next(3, status=500)``, ``stall_next(1, seconds)`` for a timeout).

    with WebhookReceiver() as receiver, WhatsAppCloudServer(webhook_url=receiver.url) as wa:
        ...
        receiver.wait_for(lambda r: len(r.statuses()) >= 2)
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable

import gevent
from voiceplatform.testing.whatsapp_cloud.wsgi import NoDelayWSGIServer


@dataclass(frozen=True)
class ReceivedWebhook:
    body: bytes
    headers: dict[str, str]
    answered: int
    at: float

    def json(self) -> Any:
        return json.loads(self.body)

    def signature_valid(self, app_secret: str) -> bool:
        expected = "sha256=" + hmac.new(app_secret.encode("utf-8"), self.body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, self.headers.get("x-hub-signature-256", ""))

    def values(self) -> list[dict[str, Any]]:
        payload = self.json()
        return [change["value"] for entry in payload.get("entry", []) for change in entry.get("changes", [])]


class WebhookReceiver:
    def __init__(self, host: str = "127.0.0.1", port: int = 0, path: str = "/webhook") -> None:
        self.host = host
        self.path = path
        self._requested_port = port
        self.received: list[ReceivedWebhook] = []
        #: every answer given, including those to POSTs told to fail
        self.answers: list[int] = []
        self._plan: list[tuple[int, float]] = []
        self._server: NoDelayWSGIServer | None = None
        #: called with each received webhook (after it is recorded), e.g. to log order
        self.on_receive: Callable[[ReceivedWebhook], None] | None = None

    # ------------------------------------------------------------ answers
    def fail_next(self, count: int = 1, status: int = 500) -> None:
        self._plan.extend([(status, 0.0)] * count)

    def stall_next(self, count: int = 1, seconds: float = 2.0) -> None:
        """Answer the next ``count`` POSTs only after ``seconds`` (past the sender's timeout)."""
        self._plan.extend([(200, seconds)] * count)

    def _app(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") != "POST" or environ.get("PATH_INFO") != self.path:
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found"]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        headers = {k[5:].replace("_", "-").lower(): str(v) for k, v in environ.items() if k.startswith("HTTP_")}
        if environ.get("CONTENT_TYPE"):
            headers["content-type"] = str(environ["CONTENT_TYPE"])
        status, stall = self._plan.pop(0) if self._plan else (200, 0.0)
        self.answers.append(status)
        if stall:
            gevent.sleep(stall)
        if status == 200:
            webhook = ReceivedWebhook(body, headers, status, time.time())
            self.received.append(webhook)
            if self.on_receive is not None:
                self.on_receive(webhook)
        start_response(f"{status} {'OK' if status == 200 else 'Error'}", [("Content-Type", "text/plain")])
        return [b"EVENT_RECEIVED" if status == 200 else b"failed"]

    # ------------------------------------------------------------ reading
    def values(self) -> list[dict[str, Any]]:
        return [value for webhook in self.received for value in webhook.values()]

    def messages(self) -> list[dict[str, Any]]:
        return [m for value in self.values() for m in value.get("messages", [])]

    def statuses(self) -> list[dict[str, Any]]:
        return [s for value in self.values() for s in value.get("statuses", [])]

    def wait_for(self, condition: Callable[["WebhookReceiver"], bool], timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition(self):
            if time.monotonic() > deadline:
                raise TimeoutError(f"the webhook receiver did not see what was expected within {timeout} s "
                                   f"({len(self.received)} POSTs received)")
            gevent.sleep(0.005)

    # ------------------------------------------------------------ life cycle
    def start(self) -> "WebhookReceiver":
        self._server = NoDelayWSGIServer((self.host, self._requested_port), self._app, log=None)
        self._server.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop(timeout=1)
            self._server = None

    def __enter__(self) -> "WebhookReceiver":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._server is None or self._server.server_port is None:
            raise RuntimeError("the receiver is not started")
        return f"http://{self.host}:{self._server.server_port}{self.path}"
