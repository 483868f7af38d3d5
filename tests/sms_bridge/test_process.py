"""``python -m sms_bridge`` as a process: it refuses to start without an SMSC, binds to the one it
is given, sends what is queued in its database, and on SIGTERM stops cleanly (exit 0, unbound)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.sms_bridge.scripted import account, queue
from tests.sms_bridge.world import wait_for
from voiceplatform.db import make_engine, session_factory, upgrade
from voiceplatform.models.sms import SmsMessage
from voiceplatform.smsc.handset_network.numbers import HANDSET_NUMBERS
from voiceplatform.smsc.handset_network.records import Recorder
from voiceplatform.smsc.handset_network.server import HandsetNetwork

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def network(tmp_path: Path) -> Iterator[HandsetNetwork]:
    server = HandsetNetwork("127.0.0.1", 0, Recorder(tmp_path / "records.jsonl"), receipt_seconds=0)
    server.start()
    yield server
    server.stop()
    server.recorder.close()


def environment(**extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("VOICEPLATFORM_SMPP")}
    return {**env, **extra}


def test_without_an_smsc_it_refuses_to_start(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "sms_bridge", "--database-url", f"sqlite:///{tmp_path / 'x.db'}"],
                          cwd=REPO, env=environment(), capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "VOICEPLATFORM_SMPP_URL" in done.stderr


def test_the_process_sends_what_is_queued_and_stops_cleanly(tmp_path: Path, network: HandsetNetwork) -> None:
    url = f"sqlite:///{tmp_path / 'bridge.db'}"
    upgrade(url)
    sessions = session_factory(make_engine(url))
    queue(sessions, account(sessions, "process"), {HANDSET_NUMBERS["delivered"]: "from the bridge process"})
    host, port = network.address
    bridge = subprocess.Popen([sys.executable, "-m", "sms_bridge", "--database-url", url], cwd=REPO,
                              env=environment(VOICEPLATFORM_SMPP_URL=f"smpp://platform:secret@{host}:{port}?binds=2"),
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        def delivered() -> bool | None:
            with sessions() as db:
                status = db.scalar(select(SmsMessage.status))
            return True if status == "delivered" else None

        wait_for(delivered, 30, "the delivery")
        assert len(network.binds()) == 2
        bridge.send_signal(signal.SIGTERM)
        output, _ = bridge.communicate(timeout=30)
    finally:
        if bridge.poll() is None:
            bridge.kill()
            bridge.wait()
    assert bridge.returncode == 0, output
    assert "stopped" in output and "'parts_accepted': 1" in output
    unbinds = wait_for(lambda: True if not network.binds() else None, 5, "the unbinds")
    assert unbinds
