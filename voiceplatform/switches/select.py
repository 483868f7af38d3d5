"""Which switch a process drives, from the environment: ``asterisk`` (the one given by
``VOICEPLATFORM_AMI_*``, else the running lab) or ``freeswitch`` (``VOICEPLATFORM_ESL_*``)."""

from __future__ import annotations

import os
from typing import Any

from voiceplatform.switches.call_record import CallSink
from voiceplatform.switches.inbound import InboundRouter
from voiceplatform.switches.services import default_services

SWITCHES = ("asterisk", "freeswitch")


def switch_name(name: str | None = None) -> str:
    chosen = name or os.environ.get("VOICEPLATFORM_SWITCH", "asterisk")
    if chosen not in SWITCHES:
        raise ValueError(f"unknown switch {chosen!r}; choose one of {', '.join(SWITCHES)}")
    return chosen


def make_driver(name: str | None = None, sink: CallSink | None = None, inbound: InboundRouter | None = None) -> Any:
    """An unstarted driver (use it as a context manager, or call ``start()``). ``inbound``
    answers calls coming in (voiceplatform.switches.inbound); without it they are refused."""
    if switch_name(name) == "freeswitch":
        from voiceplatform.switches.freeswitch import FreeSwitchConfig, FreeSwitchDriver

        fs_config = FreeSwitchConfig.from_env()
        return FreeSwitchDriver(fs_config, default_services(fs_config.media_dir), sink, inbound=inbound)
    from voiceplatform.switches.asterisk import AsteriskConfig, AsteriskDriver

    config = AsteriskConfig.from_env() if os.environ.get("VOICEPLATFORM_AMI_USERNAME") else AsteriskConfig.from_lab()
    return AsteriskDriver(config, default_services(config.media_dir), sink, inbound=inbound)
