"""Which switch a process drives, from the environment: ``asterisk`` (the one given by
``VOICEPLATFORM_AMI_*``, else the running lab) or ``freeswitch`` (``VOICEPLATFORM_ESL_*``). It is
composition, so it lives with the dialler, not in ``switches`` (which know nothing of the lab)."""

from __future__ import annotations

import os
from typing import Callable

from voiceplatform.flow.outputs import Send
from voiceplatform.switches.call_record import CallRecord, CallSink
from voiceplatform.switches.inbound import InboundRouter
from voiceplatform.switches.services import default_services
from voiceplatform.switches.voice_channel import SwitchDriver

SWITCHES = ("asterisk", "freeswitch")


def switch_name(name: str | None = None) -> str:
    chosen = name or os.environ.get("VOICEPLATFORM_SWITCH", "asterisk")
    if chosen not in SWITCHES:
        raise ValueError(f"unknown switch {chosen!r}; choose one of {', '.join(SWITCHES)}")
    return chosen


def make_driver(name: str | None = None, sink: CallSink | None = None, inbound: InboundRouter | None = None,
                send_message: Callable[[CallRecord, Send], None] | None = None) -> SwitchDriver:
    """An unstarted driver (use it as a context manager, or call ``start()``): a live voice
    channel of the channel contract (switches/voice_channel.py) that places calls. ``inbound``
    answers calls coming in (voiceplatform.switches.inbound); without it they are refused.
    ``send_message`` delivers a live call's ``send`` outputs (voiceplatform.sessions.calls)."""
    if switch_name(name) == "freeswitch":
        from voiceplatform.switches.freeswitch import FreeSwitchConfig, FreeSwitchDriver

        fs_config = FreeSwitchConfig.from_env()
        fs_services = default_services(fs_config.media_dir)
        fs_services.send_message = send_message
        return FreeSwitchDriver(fs_config, fs_services, sink, inbound=inbound)
    from voiceplatform.switches.asterisk import AsteriskConfig, AsteriskDriver

    from voiceplatform.lab.switch_config import lab_asterisk_config, lab_generated_ami_secret

    if os.environ.get("VOICEPLATFORM_AMI_USERNAME"):
        config = AsteriskConfig.from_env(ami_secret_fallback=lab_generated_ami_secret)
    else:
        config = lab_asterisk_config()
    services = default_services(config.media_dir)
    services.send_message = send_message
    return AsteriskDriver(config, services, sink, inbound=inbound)
