"""``python -m whatsapp_bridge`` as its own process (voiceplatform.testing.whatsapp_bridge_process):
it serves the webhook handshake on the port it printed, refuses to start without its settings,
and SIGTERM stops it cleanly with its counters logged. On SQLite (the process's own database
file): what it does with the database is tested on both databases in-process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx

from voiceplatform.testing.whatsapp_bridge_process import ROOT, WhatsAppBridgeProcess

ENV = {"VOICEPLATFORM_WHATSAPP_TOKEN": "t", "VOICEPLATFORM_WHATSAPP_APP_SECRET": "s",
       "VOICEPLATFORM_WHATSAPP_VERIFY_TOKEN": "v", "VOICEPLATFORM_WHATSAPP_NUMBERS": "106540352242922=+12026669999",
       "VOICEPLATFORM_WHATSAPP_GRAPH_URL": "http://127.0.0.1:9/v23.0"}


def test_the_process_serves_the_handshake_and_stops_on_sigterm(tmp_path: Path) -> None:
    bridge = WhatsAppBridgeProcess(tmp_path, f"sqlite:///{tmp_path / 'bridge.db'}", env=ENV)
    try:
        url = bridge.webhook_url
        answer = httpx.get(url, params={"hub.mode": "subscribe", "hub.verify_token": "v", "hub.challenge": "42"})
        assert (answer.status_code, answer.text) == (200, "42"), bridge.output()
        assert httpx.post(url, content=b"{}").status_code == 401
        counters = bridge.stop()
    finally:
        bridge.kill()
    assert bridge.process.returncode == 0, bridge.output()
    assert counters.get("sent") == 0 and "events" in counters, bridge.output()


def test_the_process_refuses_to_start_without_its_settings(tmp_path: Path) -> None:
    env = {key: value for key, value in ENV.items() if key != "VOICEPLATFORM_WHATSAPP_APP_SECRET"}
    inherited = {key: value for key, value in os.environ.items() if not key.startswith("VOICEPLATFORM_WHATSAPP_")}
    run = subprocess.run([sys.executable, "-m", "whatsapp_bridge", "--database-url", f"sqlite:///{tmp_path / 'x.db'}"],
                         cwd=ROOT, env={**inherited, **env}, capture_output=True, text=True, timeout=60)
    assert run.returncode == 2 and "VOICEPLATFORM_WHATSAPP_APP_SECRET is not set" in run.stderr
