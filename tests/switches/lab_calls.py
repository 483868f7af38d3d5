"""Shared set-up for the integration tests that place real calls through the Asterisk lab."""

from __future__ import annotations

import json
import shutil
import threading
import uuid
from pathlib import Path
from typing import Any

from gevent.pywsgi import WSGIServer

REPO = Path(__file__).resolve().parents[2]
FLOWS = REPO / "ivr_flows"
CONTACT = {
    "first_name": "Ann", "amount": "$5", "due_date": "Monday", "account_id": "A1", "phone": "+15550100",
    "appointment_date": "3 May", "appointment_time": "10:00", "appointment_id": "77", "ticket_id": "T1",
}


class WebhookServer:
    """A local HTTP endpoint standing in for a customer's system."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self.server = WSGIServer(("127.0.0.1", 0), self._app, log=None)

    def _app(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length).decode() if length else ""
        with self._lock:
            self.requests.append({"method": environ["REQUEST_METHOD"], "path": environ["PATH_INFO"], "body": body})
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps({"code": "CONF-42"}).encode()]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    def __enter__(self) -> WebhookServer:
        self.server.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.stop()


def flow_with_api(tmp: Path, api_url: str) -> Path:
    """The appointment flow, calling ``api_url`` instead of the example clinic."""
    text = (FLOWS / "appointment_confirmation.yaml").read_text()
    text = text.replace("https://clinic.example.com/api", f"{api_url}/api")
    # Prompt catalogues must lie inside the flow's folders: a copy beside it is found as usual.
    shutil.copytree(REPO / "prompts", tmp / "prompts", dirs_exist_ok=True)
    path = tmp / "appointment_confirmation.yaml"
    path.write_text(text)
    return path


def services_with_shared_tts(media_dir: Path) -> Any:
    """Voice services for a test's own media directory, with the repository's TTS cache
    (media/tts-cache), so prompts are synthesised once per checkout rather than per test."""
    from voiceplatform.speech.tts import TextToSpeech, gevent_offload
    from voiceplatform.switches.services import default_services

    services = default_services(media_dir)
    services.tts = TextToSpeech(REPO / "media" / "tts-cache", offload=gevent_offload())
    return services


def unique_account() -> str:
    return f"test-{uuid.uuid4().hex[:8]}"
