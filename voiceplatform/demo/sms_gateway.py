"""The demo's SMS: the real gateway of ``voiceplatform smsc`` (Jasmin, with the scripted handset
network behind it) and the SMS bridge process bound to it, for the length of the demo; or, when
the gateway cannot run on this machine (Jasmin could not be installed: no network), the ``dev``
channel, which the demo says.

- :func:`demo_sms` takes the smsc for the job (a lease: it is stopped at the end only if the demo
  started it, as the lab is) and gives a :class:`DemoSms`;
- :meth:`DemoSms.environment` is what the embedded server needs to queue SMS for the bridge
  (``VOICEPLATFORM_CHANNELS=sms_bridge.driver:register``) and what the sessions speak from when
  they have no number of their own (an unanswered call's session: ``VOICEPLATFORM_SMS_SENDER``);
- :meth:`DemoSms.bridge` runs ``python -m sms_bridge`` on the server's database, bound to Jasmin,
  until the block ends (SIGTERM: it writes the answers in flight and unbinds).

Nothing here imports the bridge (nothing in voiceplatform may): the demo runs it as a deployment
does, as its own process.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from voiceplatform.exceptions import SmscError
from voiceplatform.settings import paths
from voiceplatform.smsc import SmscSettings, SmscState
from voiceplatform.smsc.handset_network.client import HandsetNetworkClient
from voiceplatform.smsc.session import smsc_for_this_job

#: The demo account's SMS number: what its messages come from and replies go to (no script of
#: the handset network's: +1 202 555 9xxx).
OUR_NUMBER = "+12025559990"
BRIDGE_MODULE = "sms_bridge"
BRIDGE_HOOK = "sms_bridge.driver:register"
BIND_SECONDS = 30.0  # for the bridge process to start and bind to Jasmin
STOP_SECONDS = 20.0  # for it to stop after SIGTERM, before SIGKILL
BOUND = "bound to"  # the bridge's log line once a bind is up (sms_bridge.esme)


@dataclass(frozen=True)
class DemoSms:
    """Where the demo's SMS go: through ``smsc`` (the real Jasmin), or the dev channel when it is
    None (``reason`` says why)."""

    our_number: str
    smsc: SmscState | None
    reason: str = ""

    @property
    def via(self) -> str:
        return "jasmin" if self.smsc is not None else "dev"

    @property
    def handsets(self) -> HandsetNetworkClient | None:
        """The handset network's control port (what it received and sent), through Jasmin only."""
        return HandsetNetworkClient(self.smsc.handsets.control_url) if self.smsc is not None else None

    def environment(self) -> dict[str, str]:
        """The settings of every process that makes SMS (the embedded server, the bridge)."""
        if self.smsc is None:
            return {}
        return {"VOICEPLATFORM_CHANNELS": BRIDGE_HOOK, "VOICEPLATFORM_SMS_SENDER": self.our_number}

    def smpp_url(self) -> str:
        assert self.smsc is not None
        host, port = self.smsc.smpp_address
        return f"smpp://{quote(self.smsc.esme_username, safe='')}:{quote(self.smsc.esme_password, safe='')}@{host}:{port}"

    @contextmanager
    def bridge(self, database_url: str, log: Path | None = None,
               env: Mapping[str, str] | None = None) -> Iterator[subprocess.Popen[bytes] | None]:
        """``python -m sms_bridge`` on ``database_url``, bound to Jasmin, for the block (nothing
        on the dev channel); ``env`` last over its settings (e.g. the WhatsApp driver beside SMS:
        a reply by SMS can switch its session to WhatsApp)."""
        if self.smsc is None:
            yield None
            return
        log = log or paths().state_dir / "demo-sms-bridge.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        settings = {**os.environ, **self.environment(), **(env or {}), "VOICEPLATFORM_SMPP_URL": self.smpp_url(),
                    "PYTHONUNBUFFERED": "1"}
        with log.open("wb") as output:
            process = subprocess.Popen([sys.executable, "-m", BRIDGE_MODULE, "--database-url", database_url,
                                        "--stop-timeout", "10"], env=settings, stdout=output, stderr=subprocess.STDOUT)
        try:
            _wait_bound(process, log)
            yield process
        finally:
            _stop(process)


def _wait_bound(process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + BIND_SECONDS
    while BOUND not in log.read_text(errors="replace"):
        if process.poll() is not None or time.monotonic() > deadline:
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-15:])
            raise SmscError(f"the SMS bridge did not bind to Jasmin within {BIND_SECONDS:g} s "
                            f"(exit {process.poll()}); its log, {log}:\n{tail}")
        time.sleep(0.1)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(STOP_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(STOP_SECONDS)


@contextmanager
def demo_sms(say: Callable[[str], None], *, keep: bool = False,
             settings: SmscSettings | None = None) -> Iterator[DemoSms]:
    """The real SMS gateway for the block, or the dev channel when it cannot run here."""
    settings = settings or SmscSettings.from_env()
    say("sms        starting the SMS gateway: Jasmin and the scripted handset network (voiceplatform smsc)")
    with ExitStack() as stack:
        try:
            report = stack.enter_context(smsc_for_this_job(settings, keep=keep))
        except SmscError as exc:
            reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:160]
            say(f"sms        Jasmin cannot run on this machine ({reason}): the SMS part of the demo runs on the "
                "dev channel instead (its outbox: GET /dev/outbox)")
            yield DemoSms(OUR_NUMBER, None, reason)
            return
        state = report.state
        say(f"sms        Jasmin {state.jasmin_version} on {state.host}:{state.smpp_address[1]}, the handset network "
            f"behind it ({'already running' if report.already_running else f'up in {report.seconds:.1f} s'})")
        yield DemoSms(OUR_NUMBER, state)
        if report.already_running:
            say("sms        the SMS gateway is left running: it was running before the demo started")
        elif keep:
            say("sms        the SMS gateway is left running (--keep-lab); stop it with `voiceplatform smsc down`")
        else:
            say("sms        stopping the SMS gateway the demo started")
