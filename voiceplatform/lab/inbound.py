"""Inbound calls in the lab: which FastAGI server the lab's ``voiceplatform-inbound`` context
calls, and where sipp calls in.

Outbound calls name their FastAGI server in each Originate (``VP_AGI_ADDRESS``), so every test
driver can listen on a port of its own. A call coming in names nothing: the dialplan reads the
global ``VOICEPLATFORM_INBOUND_AGI_ADDRESS``. :func:`answer_inbound_at` sets it on the running lab
(``dialplan set global``, through the CLI socket in the chroot: root only, no AMI rights
needed), so a test's driver on a free port answers the lab's inbound calls. A ``core reload``
clears it (``clearglobalvars = yes``); the inbound context then falls back to
``VOICEPLATFORM_AGI_ADDRESS`` from the lab's globals.
"""

from __future__ import annotations

import subprocess

from voiceplatform.exceptions import LabError
from voiceplatform.lab.process import ASTERISK_BIN
from voiceplatform.lab.settings import LabSettings
from voiceplatform.lab.state import LabState
from voiceplatform.safety import switch_values

GLOBAL = "VOICEPLATFORM_INBOUND_AGI_ADDRESS"


def answer_inbound_at(settings: LabSettings, address: str, timeout: float = 30.0) -> None:
    """Make the lab's inbound calls go to the FastAGI server at ``address`` (host:port)."""
    value = switch_values.dial_target(address, "FastAGI address")
    try:
        done = subprocess.run(["chroot", str(settings.root), "/" + ASTERISK_BIN, "-rx",
                               f"dialplan set global {GLOBAL} {value}"],
                              capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise LabError(f"cannot set {GLOBAL} on the lab: {exc}") from exc
    if done.returncode != 0:
        raise LabError(f"`dialplan set global {GLOBAL}` failed ({done.returncode}): {(done.stderr or done.stdout).strip()}")


def sip_address(state: LabState) -> str:
    """Where a SIP caller reaches the lab's Asterisk (its PJSIP transport on loopback)."""
    if not state.sip_port:
        raise LabError("the running lab has no SIP port: restart it with `voiceplatform lab up`")
    return f"127.0.0.1:{state.sip_port}"
