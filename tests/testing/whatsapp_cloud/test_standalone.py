"""``python -m voiceplatform.testing.whatsapp_cloud`` on its own: prints its URL, serves, posts
signed webhooks, stops on SIGTERM; and the control endpoints refuse bad input with a 400."""

from __future__ import annotations

import signal
import subprocess
import sys

import httpx
import pytest

from voiceplatform.testing.whatsapp_cloud import ZOE, ControlCallError, WebhookReceiver, WhatsAppCloudClient, WhatsAppCloudServer


def test_runs_alone_and_stops_on_sigterm(whatsapp_webhooks: WebhookReceiver) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "voiceplatform.testing.whatsapp_cloud", "--port", "0",
         "--webhook-url", whatsapp_webhooks.url, "--app-secret", "alone-secret", "--token", "alone-token"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), url
        with WhatsAppCloudClient(url, "alone-token") as client:
            client.inject_text(ZOE, "hi \U0001f600")
            assert client.send_text("106540352242922", ZOE, "hello").status_code == 200
            client.wait_for_webhooks()
        whatsapp_webhooks.wait_for(lambda r: len(r.messages()) == 1)
        assert all(w.signature_valid("alone-secret") for w in whatsapp_webhooks.received)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()
        if process.stderr is not None:
            process.stderr.close()


@pytest.mark.parametrize("path, body", [
    ("/inbound", {"kind": "telepathy", "from": ZOE}),
    ("/inbound", {"kind": "text", "from": "not-a-number", "text": "x"}),
    ("/inbound", {"kind": "text"}),
    ("/inbound", {"kind": "location", "from": ZOE, "latitude": "north"}),
    ("/clock", {"advance": -5}),
    ("/clock", {"advance": "soon"}),
    ("/errors", {"code": 131056, "mode": "sometimes"}),
    ("/errors", {"code": "x"}),
    ("/statuses", {"wamid": "wamid.unknown", "status": "read"}),
])
def test_control_refuses_bad_input_with_a_4xx(quiet_cloud: WhatsAppCloudServer, path: str, body: dict[str, object]) -> None:
    response = httpx.post(f"{quiet_cloud.url}/_control{path}", json=body, trust_env=False)
    assert 400 <= response.status_code < 500, response.text
    assert "message" in response.json()["error"]


def test_bad_settings_are_refused(quiet_cloud: WhatsAppCloudServer) -> None:
    for changes in ({"duplicates": 2}, {"retry_schedule": "fast"}, {"no_such": 1}, {"window_error_mode": "maybe"},
                    {"batch_max": 0}):
        with pytest.raises(ControlCallError):
            quiet_cloud.client.settings(**changes)
    assert quiet_cloud.client.settings()["batch_max"] == 1
