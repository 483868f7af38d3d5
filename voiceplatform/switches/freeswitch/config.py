"""How the worker reaches a FreeSWITCH: the Event Socket (inbound ESL), where the worker's
outbound socket server listens and how FreeSWITCH reaches it, and the dial-string templates."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from voiceplatform.settings import Paths
from voiceplatform.switches.credentials import esl_password

EMULATOR_DIAL_TEMPLATE = "loopback/{number}"  # the emulator (and a loopback lab) route by name


@dataclass(frozen=True)
class FreeSwitchConfig:
    esl_host: str = "127.0.0.1"
    esl_port: int = 8021
    # No shipped default: $VOICEPLATFORM_ESL_PASSWORD, else one generated into .state/esl-password
    # (0600), which the emulator reads too (voiceplatform.switches.credentials).
    esl_password: str = field(default_factory=esl_password)
    media_dir: Path = Path("media")
    # The outbound socket server FreeSWITCH connects to for every answered call
    # (`&socket(host:port async full)`): where it binds (0 = any free port) ...
    socket_host: str = "127.0.0.1"
    socket_port: int = 0
    # ... and the address FreeSWITCH dials (the worker's address as FreeSWITCH sees it).
    socket_advertise_host: str = "127.0.0.1"
    dial_template: str = EMULATOR_DIAL_TEMPLATE  # "sofia/gateway/<gateway>/{number}" in production
    transfer_template: str = EMULATOR_DIAL_TEMPLATE  # a bridge target for transfers to a number
    queue_template: str = "{queue}@default"  # mod_callcenter queue for transfers to a queue
    account: str = "default"
    originate_timeout: float = 30.0
    run_amd: bool = True  # mod_amd's `amd` application; VP_AMD=no on a call skips it
    # Optional: originate to this dialplan extension ("<exten> XML <context>") instead of
    # straight to `&socket(...)`; dialplans/freeswitch/voiceplatform.xml has one.
    originate_extension: str | None = None
    # Each session reads vp_call_id back with `getvar` and refuses a mismatch (one round trip);
    # diagnostics may repeat it to measure command round trips (bench/freeswitch_calls.py).
    correlation_checks: int = 1
    connect_timeout: float = 5.0
    max_sessions: int = 5000  # outbound sockets one worker accepts at once
    reconnect_first: float = 0.2  # seconds before the first reconnect; doubles up to the next
    reconnect_max: float = 30.0

    @classmethod
    def from_env(cls, **overrides: object) -> FreeSwitchConfig:
        """Settings from VOICEPLATFORM_ESL_* (and the shared VOICEPLATFORM_MEDIA_DIR)."""
        env = os.environ
        values: dict[str, object] = {
            "esl_host": env.get("VOICEPLATFORM_ESL_HOST", "127.0.0.1"),
            "esl_port": int(env.get("VOICEPLATFORM_ESL_PORT", "8021")),
            "esl_password": esl_password(env),
            "media_dir": Paths.from_env(env).media_dir,  # VOICEPLATFORM_MEDIA_DIR, else the instance's media/
            "socket_host": env.get("VOICEPLATFORM_ESL_SOCKET_HOST", "127.0.0.1"),
            "socket_port": int(env.get("VOICEPLATFORM_ESL_SOCKET_PORT", "0")),
            "socket_advertise_host": env.get("VOICEPLATFORM_ESL_SOCKET_ADVERTISE", "127.0.0.1"),
            "dial_template": env.get("VOICEPLATFORM_ESL_DIAL_TEMPLATE", EMULATOR_DIAL_TEMPLATE),
            "transfer_template": env.get("VOICEPLATFORM_ESL_TRANSFER_TEMPLATE",
                                         env.get("VOICEPLATFORM_ESL_DIAL_TEMPLATE", EMULATOR_DIAL_TEMPLATE)),
            "queue_template": env.get("VOICEPLATFORM_ESL_QUEUE_TEMPLATE", "{queue}@default"),
            "account": env.get("VOICEPLATFORM_ACCOUNT", "default"),
            "run_amd": env.get("VOICEPLATFORM_ESL_AMD", "yes").lower() not in ("no", "false", "0"),
            "originate_extension": env.get("VOICEPLATFORM_ESL_ORIGINATE_EXTENSION") or None,
        }
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]
