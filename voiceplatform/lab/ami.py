"""A small blocking AMI client: the lab's readiness check, and its tests.

The platform's own driver uses panoramisk. This one exists so that the lab can check, with
nothing but a socket, that Asterisk answers a real AMI login, and so that the lab's tests can
originate calls and wait for their events in plain code.

Replies are matched to actions by ActionID; events that arrive meanwhile are kept, in order,
for ``wait_event``.
"""

from __future__ import annotations

import itertools
import socket
import time
from collections import deque
from collections.abc import Callable
from types import TracebackType

from voiceplatform.exceptions import SwitchCommandError, SwitchConnectionError
from voiceplatform.safety import switch_values

Message = dict[str, str]
_ids = itertools.count(1)


def parse_message(block: str) -> Message:
    """One AMI message (the lines before a blank line) as a dict; a repeated key keeps the last."""
    message: Message = {}
    for line in block.split("\r\n"):
        key, sep, value = line.partition(":")
        if sep:
            message[key.strip()] = value.strip()
    return message


class AmiClient:
    """One AMI connection. Use as a context manager, or call ``close``."""

    def __init__(self, host: str, port: int, timeout: float = 5.0) -> None:
        self.host, self.port = host, port
        try:
            self._sock = socket.create_connection((host, port), timeout=timeout)
        except OSError as exc:
            raise SwitchConnectionError(f"cannot connect to AMI at {host}:{port}: {exc}") from exc
        self._buffer = b""
        self._events: deque[Message] = deque(maxlen=10000)
        self.banner = self._read_line(time.monotonic() + timeout)
        if not self.banner.startswith("Asterisk Call Manager"):
            self.close()
            raise SwitchConnectionError(f"not an AMI server at {host}:{port}: {self.banner!r}")

    def __enter__(self) -> AmiClient:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._sock.close()

    # -- reading ------------------------------------------------------------------------

    def _fill(self, deadline: float) -> None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"no AMI data from {self.host}:{self.port} in time")
        self._sock.settimeout(remaining)
        try:
            chunk = self._sock.recv(65536)
        except TimeoutError:
            raise
        except OSError as exc:
            raise SwitchConnectionError(f"AMI connection failed: {exc}") from exc
        if not chunk:
            raise SwitchConnectionError(f"AMI at {self.host}:{self.port} closed the connection")
        self._buffer += chunk

    def _read_line(self, deadline: float) -> str:
        while b"\r\n" not in self._buffer:
            self._fill(deadline)
        line, self._buffer = self._buffer.split(b"\r\n", 1)
        return line.decode("utf-8", errors="replace")

    def read_message(self, timeout: float) -> Message:
        """The next message off the wire (response or event), waiting up to ``timeout``."""
        deadline = time.monotonic() + timeout
        while b"\r\n\r\n" not in self._buffer:
            self._fill(deadline)
        block, self._buffer = self._buffer.split(b"\r\n\r\n", 1)
        return parse_message(block.decode("utf-8", errors="replace"))

    # -- actions ------------------------------------------------------------------------

    def send(self, action: str, **fields: str | int | list[str]) -> str:
        """Send an action; returns its ActionID. Keyword ``Variable`` may be a list."""
        action_id = fields.pop("ActionID", None) or f"lab-{next(_ids)}"
        # the one validator: no header can carry CR/LF into a second action
        switch_values.ami_action({"Action": action, "ActionID": action_id, **fields})
        lines = [f"Action: {action}", f"ActionID: {action_id}"]
        for key, value in fields.items():
            values = value if isinstance(value, list) else [value]
            lines += [f"{key}: {item}" for item in values]
        data = ("\r\n".join(lines) + "\r\n\r\n").encode()
        try:
            self._sock.sendall(data)
        except OSError as exc:
            raise SwitchConnectionError(f"cannot send to AMI: {exc}") from exc
        return str(action_id)

    def request(
        self, action: str, timeout: float = 10.0, **fields: str | int | list[str]
    ) -> Message:
        """Send an action and return its response; raises SwitchCommandError on Error."""
        action_id = self.send(action, **fields)
        deadline = time.monotonic() + timeout
        while True:
            message = self.read_message(max(deadline - time.monotonic(), 0.0))
            if message.get("ActionID") == action_id and "Response" in message:
                if message["Response"] == "Error":
                    raise SwitchCommandError(f"{action}: {message.get('Message', message)}")
                return message
            if "Event" in message:
                self._events.append(message)

    def login(self, username: str, secret: str, events: str = "on") -> Message:
        return self.request("Login", Username=username, Secret=secret, Events=events)

    def wait_event(self, match: Callable[[Message], bool], timeout: float) -> Message:
        """The first event (kept or new) for which ``match`` is true; TimeoutError at the end."""
        for index, event in enumerate(self._events):
            if match(event):
                del self._events[index]
                return event
        deadline = time.monotonic() + timeout
        while True:
            message = self.read_message(max(deadline - time.monotonic(), 0.0))
            if "Event" not in message:
                continue
            if match(message):
                return message
            self._events.append(message)
