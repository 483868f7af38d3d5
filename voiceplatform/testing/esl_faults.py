"""Fault injection: what a misbehaving FreeSWITCH or network does to an ESL client."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Optional

if TYPE_CHECKING:
    from voiceplatform.testing.esl_call import Call
    from voiceplatform.testing.esl_listener import Listener
    from voiceplatform.testing.freeswitch import FreeSwitchEmulator

log = logging.getLogger(__name__)

#: Frames that break ESL framing in different ways (``send_malformed(kind=...)``).
MALFORMED_FRAMES: dict[str, bytes] = {
    # Content-Length promises more bytes than arrive before the connection closes.
    "truncated": b"Content-Length: 512\nContent-Type: text/event-plain\n\nEvent-Name: CHANNEL_ANSWER\nUnique-ID: ",
    # A Content-Length that is not a number.
    "bad-content-length": b"Content-Length: twelve\nContent-Type: text/event-plain\n\nEvent-Name: DTMF\n\n",
    # Bytes that are not ESL at all (no header structure).
    "garbage": b"\x00\xff\xfeSIP/2.0 500 Oops\r\n\x01\x02\n\n",
    # A plain event whose body is not valid UTF-8.
    "bad-utf8": b"Content-Length: 23\nContent-Type: text/event-plain\n\nEvent-Name: \xff\xfe\xfdCUSTOM\n\n\n",
    # An event frame without a Content-Type.
    "no-content-type": b"Content-Length: 24\n\nEvent-Name: HEARTBEAT\n\n\n",
}


class FaultInjector:
    def __init__(self, emulator: "FreeSwitchEmulator") -> None:
        self.emulator = emulator
        self._close_outbound_after: Optional[float] = None
        self._close_outbound_remaining = 0

    def drop_inbound_connections(self) -> int:
        """Drop every inbound ESL connection at once, with no disconnect notice (a crash or a
        network cut). Calls keep running. Returns how many were dropped."""
        dropped = 0
        for listener in self.emulator.inbound_listeners():
            listener.abort()
            dropped += 1
        return dropped

    def close_outbound_socket(self, uuid: str) -> bool:
        """Close one call's outbound socket now, with no notice; the call then hangs up as
        FreeSWITCH hangs up a call whose controlling socket went away."""
        call = self.emulator.find_call(uuid)
        if call is None:
            return False
        for listener in call.listeners:
            listener.abort()
        return bool(call.listeners)

    def close_outbound_mid_prompt(self, after_seconds: float = 1.0, calls: int = 1) -> None:
        """Arm: for the next ``calls`` calls, close the outbound socket ``after_seconds``
        (emulated) into their first prompt (playback, play_and_get_digits, read)."""
        self._close_outbound_after = after_seconds
        self._close_outbound_remaining = calls

    def send_malformed(self, kind: str = "truncated", *, uuid: Optional[str] = None, close: bool = True) -> int:
        """Send a malformed frame to every inbound connection (or to the outbound socket of
        call ``uuid``), then close those connections if ``close``. Returns how many got it."""
        frame = MALFORMED_FRAMES[kind]
        targets: list["Listener"]
        if uuid is not None:
            call = self.emulator.find_call(uuid)
            targets = list(call.listeners) if call else []
        else:
            targets = self.emulator.inbound_listeners()
        for listener in targets:
            listener.send(frame)
            if close:
                listener.close(message=None)
        return len(targets)

    def on_prompt(self, call: "Call", seconds: float) -> None:
        if self._close_outbound_remaining <= 0 or call.prompt_count != 1 or not call.listeners:
            return
        self._close_outbound_remaining -= 1
        after = self._close_outbound_after or 0.0
        log.info("fault: closing outbound socket of %s %.1fs into its first prompt", call.uuid, after)
        call.spawn_helper(after, self.close_outbound_socket, call.uuid)
