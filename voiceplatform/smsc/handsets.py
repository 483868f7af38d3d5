"""Starting the handset network (``python -m voiceplatform.smsc.handset_network``) as a process
of the smsc, and knowing when it is ready: its control port answers."""

from __future__ import annotations

import sys

from voiceplatform.exceptions import SmscError
from voiceplatform.lab.polling import poll
from voiceplatform.smsc import defaults, processes
from voiceplatform.smsc.handset_network.client import HandsetNetworkClient
from voiceplatform.smsc.handset_network.server import CREDENTIALS_ENV
from voiceplatform.smsc.processes import ProcessRecord
from voiceplatform.smsc.settings import SmscSettings
from voiceplatform.smsc.state import HandsetState


def start(settings: SmscSettings, handsets: HandsetState) -> ProcessRecord:
    env = processes.clean_environment(**{CREDENTIALS_ENV: f"{handsets.system_id}:{handsets.password}"})
    command = [sys.executable, "-m", "voiceplatform.smsc.handset_network",
               "--host", defaults.HOST, "--port", str(handsets.smpp_port),
               "--control-port", str(handsets.control_port), "--records", handsets.records,
               "--slow-receipt-seconds", str(defaults.SLOW_RECEIPT_SECONDS)]
    settings.handset_dir.mkdir(parents=True, exist_ok=True)
    return processes.spawn("handset network", command, settings.handset_dir / "handsets.log", env)


def wait_ready(settings: SmscSettings, handsets: HandsetState, record: ProcessRecord) -> None:
    client = HandsetNetworkClient(handsets.control_url, timeout=2.0)

    def ready() -> bool | None:
        if not processes.is_running(record):
            raise SmscError("the handset network exited while starting; see "
                            f"{settings.handset_dir / 'handsets.log'}")
        try:
            client.health()
        except SmscError:
            return None
        return True

    if not poll(ready, defaults.START_TIMEOUT):
        raise SmscError(f"the handset network's control port {handsets.control_url} did not answer "
                        f"within {defaults.START_TIMEOUT:.0f} s")
