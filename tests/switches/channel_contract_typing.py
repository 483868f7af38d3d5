"""Checked by mypy, never run (tests/switches/test_channel_contract.py runs mypy on it): every
voice driver and the simulator is a ChannelDriver, a switch driver is what make_driver gives, and
make_driver's callers get a typed driver (no Any)."""

from __future__ import annotations

from pathlib import Path

from voiceplatform.channels.contract import ChannelDriver
from voiceplatform.dialer.switch import make_driver
from voiceplatform.simulator import SimulatedChannel
from voiceplatform.switches.asterisk import AsteriskConfig, AsteriskDriver
from voiceplatform.switches.freeswitch import FreeSwitchConfig, FreeSwitchDriver
from voiceplatform.switches.voice_channel import SwitchDriver
from voiceplatform.switches.voice_runner import VoiceServices


def drivers(config: AsteriskConfig, fs_config: FreeSwitchConfig, services: VoiceServices) -> list[ChannelDriver]:
    asterisk: ChannelDriver = AsteriskDriver(config, services)
    freeswitch: ChannelDriver = FreeSwitchDriver(fs_config, services)
    simulated_call: ChannelDriver = SimulatedChannel("voice")
    simulated_sms: ChannelDriver = SimulatedChannel("sms")
    switches: list[SwitchDriver] = [AsteriskDriver(config, services), FreeSwitchDriver(fs_config, services)]
    return [asterisk, freeswitch, simulated_call, simulated_sms, *switches]


def placed_calls(media: Path) -> int:
    driver = make_driver("freeswitch")
    with driver.start() as started:
        live: bool = started.capabilities.live
        count: int = started.active_calls
        return count + int(live)
