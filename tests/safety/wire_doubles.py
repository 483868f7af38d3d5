"""Stand-ins for the sockets under the drivers' real serialisation code: they keep the bytes (or
AGI lines) that would have been written and answer at once, so a property test can run hundreds
of originates and transfers without a switch."""

from __future__ import annotations

import re
from typing import Any, Callable

from voiceplatform.switches.freeswitch.esl_connection import FramedConnection
from voiceplatform.switches.freeswitch.esl_frames import EslFrame


class CountingBridge:
    """AsyncBridge.call without a loop: the "coroutine" is already the answer."""

    def __init__(self) -> None:
        self.calls = 0

    def call(self, result: Any, timeout: float | None = None) -> Any:
        self.calls += 1
        return result


class FakeTransport:
    """An asyncio transport that keeps what panoramisk writes."""

    def __init__(self) -> None:
        self.written = b""

    def write(self, data: bytes) -> None:
        self.written += data


class RecordingAgiRequest:
    """panoramisk's FastAGI Request: keeps each command line, answers ``200 result=1``."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def send_command(self, line: str) -> dict[str, Any]:
        self.lines.append(line)
        return {"result": ("1", "")}


class RecordingEsl(FramedConnection):
    """FramedConnection with a socket that keeps the bytes and answers ``+OK`` at once."""

    def __init__(self) -> None:
        self._framed_init()
        self.connected = True
        self._commands_sent = []
        self.sock = self
        self.written = b""
        self.commands = 0

    def sendall(self, data: bytes) -> None:
        self.written += data
        self.commands += 1
        self._commands_sent.pop(0).set(EslFrame({"Content-Type": "command/reply", "Reply-Text": "+OK"}))


class RecordingSendmsg:
    """A call's outbound session: commands go through the real FramedConnection.send, and each
    executed application completes at once (its CHANNEL_EXECUTE_COMPLETE names its Event-UUID)."""

    def __init__(self) -> None:
        self.esl = RecordingEsl()
        self.handlers: dict[str, list[Callable[[EslFrame], None]]] = {}

    def register_handle(self, name: str, handler: Callable[[EslFrame], None]) -> None:
        self.handlers.setdefault(name, []).append(handler)

    def send(self, data: str, timeout: float | None = 10.0) -> EslFrame:
        reply = self.esl.send(data, timeout)
        found = re.search(r"^Event-UUID: (.+)$", data, re.MULTILINE)
        if found:
            done = EslFrame({"Application-UUID": found.group(1), "variable_originate_disposition": "SUCCESS"})
            for handler in self.handlers.get("CHANNEL_EXECUTE_COMPLETE", []):
                handler(done)
        return reply
