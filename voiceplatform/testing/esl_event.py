"""Events as FreeSWITCH builds them: the standard header block, then the event's own headers.

Header order follows ``switch_event_prep_for_delivery_detailed`` (``src/switch_event.c``): the
standard block is added when the event is created, so ``Event-Name`` comes first, then
``Core-UUID``, ``FreeSWITCH-Hostname``, ``FreeSWITCH-Switchname``, ``FreeSWITCH-IPv4``,
``FreeSWITCH-IPv6``, ``Event-Date-Local``, ``Event-Date-GMT``, ``Event-Date-Timestamp``,
``Event-Calling-File``, ``Event-Calling-Function``, ``Event-Calling-Line-Number`` and
``Event-Sequence``.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from email.utils import formatdate
from typing import Callable, Optional

from voiceplatform.testing.esl_wire import serialize_json, serialize_plain

# Where FreeSWITCH fires each event from (file, function, line of signalwire/freeswitch master).
CALLING_SITES: dict[str, tuple[str, str, int]] = {
    "CHANNEL_CREATE": ("switch_core_state_machine.c", "switch_core_session_run", 628),
    "CHANNEL_OUTGOING": ("switch_core_session.c", "switch_core_session_outgoing_channel", 739),
    "CHANNEL_PROGRESS": ("switch_channel.c", "switch_channel_perform_mark_ring_ready_value", 3650),
    "CHANNEL_ANSWER": ("switch_channel.c", "switch_channel_perform_mark_answered", 3955),
    "CHANNEL_PARK": ("switch_ivr.c", "switch_ivr_park", 998),
    "CHANNEL_EXECUTE": ("switch_core_session.c", "switch_core_session_exec", 2950),
    "CHANNEL_EXECUTE_COMPLETE": ("switch_core_session.c", "switch_core_session_exec", 2974),
    "DTMF": ("switch_channel.c", "switch_channel_dequeue_dtmf", 678),
    "RECORD_START": ("switch_ivr_play_say.c", "switch_ivr_record_file_event", 770),
    "RECORD_STOP": ("switch_ivr_play_say.c", "switch_ivr_record_file_event", 1033),
    "CHANNEL_HANGUP": ("switch_channel.c", "switch_channel_perform_hangup", 3493),
    "CHANNEL_HANGUP_COMPLETE": ("switch_core_state_machine.c", "switch_core_session_reporting_state", 939),
    "CHANNEL_DESTROY": ("switch_core_session.c", "switch_core_session_perform_destroy", 1730),
    "CHANNEL_DATA": ("mod_event_socket.c", "parse_command", 2028),
    "BACKGROUND_JOB": ("mod_event_socket.c", "api_exec", 1574),
    "API": ("switch_loadable_module.c", "switch_api_execute", 2949),
    "HEARTBEAT": ("switch_core.c", "send_heartbeat", 90),
}
_DEFAULT_SITE = ("switch_event.c", "switch_event_fire_detailed", 2000)


@dataclass
class EslEvent:
    """One event: an ordered header list, an optional body, and cached serialisations."""

    name: str
    headers: dict[str, str] = field(default_factory=dict)
    body: Optional[str] = None
    _plain: Optional[bytes] = field(default=None, repr=False, compare=False)
    _json: Optional[bytes] = field(default=None, repr=False, compare=False)

    def add(self, name: str, value: object) -> None:
        self.headers[name] = str(value)

    def get(self, name: str, default: Optional[str] = None) -> Optional[str]:
        if name in self.headers:
            return self.headers[name]
        wanted = name.lower()
        for key, value in self.headers.items():
            if key.lower() == wanted:
                return value
        return default

    def serialize(self, fmt: str) -> bytes:
        """The event body in ``plain`` or ``json`` (cached: one event goes to many listeners)."""
        if fmt == "json":
            if self._json is None:
                self._json = serialize_json(list(self.headers.items()), self.body)
            return self._json
        if self._plain is None:
            self._plain = serialize_plain(list(self.headers.items()), self.body)
        return self._plain


@dataclass
class CoreIdentity:
    """What a FreeSWITCH box says about itself in every event."""

    core_uuid: str
    hostname: str = "fs-emulator"
    switchname: str = "fs-emulator"
    ipv4: str = "127.0.0.1"
    ipv6: str = "::1"
    version: str = "1.10.12-release+git~20240802T210227Z~a88d069d6f~64bit"
    version_human: str = "git a88d069 2024-08-02 21:02:27Z 64bit"


class EventFactory:
    """Creates events with the standard header block and a global sequence number."""

    def __init__(self, identity: CoreIdentity, clock: Callable[[], float] = time.time) -> None:
        self.identity = identity
        self.clock = clock
        self._sequence = itertools.count(1)

    def create(self, name: str, subclass: Optional[str] = None) -> EslEvent:
        now = self.clock()
        site = CALLING_SITES.get(name, _DEFAULT_SITE)
        ident = self.identity
        ev = EslEvent(name)
        h = ev.headers
        h["Event-Name"] = name
        h["Core-UUID"] = ident.core_uuid
        h["FreeSWITCH-Hostname"] = ident.hostname
        h["FreeSWITCH-Switchname"] = ident.switchname
        h["FreeSWITCH-IPv4"] = ident.ipv4
        h["FreeSWITCH-IPv6"] = ident.ipv6
        h["Event-Date-Local"] = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(now))
        h["Event-Date-GMT"] = formatdate(now, usegmt=True)
        h["Event-Date-Timestamp"] = str(int(now * 1_000_000))
        h["Event-Calling-File"] = site[0]
        h["Event-Calling-Function"] = site[1]
        h["Event-Calling-Line-Number"] = str(site[2])
        h["Event-Sequence"] = str(next(self._sequence))
        if subclass:
            h["Event-Subclass"] = subclass
        return ev
