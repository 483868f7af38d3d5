"""A client for jCli, Jasmin's configuration console: a line protocol over telnet.

jCli is a Twisted conch terminal: it opens with telnet negotiation (IAC DO/WILL ...), echoes
what it is sent, draws with ANSI escapes, ends lines with ``\\r\\r\\r\\n``, and prompts with
``jcli : `` (a command), ``> `` (a field of an object being added) or ``Password: ``. The client
strips the telnet and terminal noise, sends one line at a time and reads up to the next prompt:

    with JCliClient("127.0.0.1", port) as jcli:
        jcli.login("jcliadmin", password)
        jcli.add("group -a", {"gid": "platform"})      # fields, then "ok"
        print(jcli.command("smppccm -l"))
"""

from __future__ import annotations

import re
import socket
import time
from types import TracebackType

from voiceplatform.exceptions import SmscError

PROMPTS = ("jcli : ", "> ", "Password: ")
#: Telnet: IAC, then a 3-byte option command, a sub-negotiation, or a 2-byte command.
_TELNET = re.compile(rb"\xff(?:[\xfb-\xfe].|\xfa.*?\xff\xf0|[^\xff])", re.DOTALL)
#: ANSI: ESC [ ... final byte, or ESC and one character (ESC c resets the terminal).
_ANSI = re.compile(r"\x1b(?:\[[0-9;?]*[A-Za-z]|.)")


def clean(raw: bytes) -> str:
    text = _TELNET.sub(b"", raw).decode("utf-8", "replace")
    text = _ANSI.sub("", text)
    return re.sub(r"\r+\n", "\n", text)


class JCliClient:
    def __init__(self, host: str, port: int, timeout: float = 10.0) -> None:
        self.timeout = timeout
        try:
            self.sock = socket.create_connection((host, port), timeout=timeout)
        except OSError as exc:
            raise SmscError(f"cannot reach jCli on {host}:{port}: {exc}") from exc
        self._buffer = b""
        #: The prompt the last answer ended with: "jcli : " at the top, "> " inside an add.
        self.prompt = ""

    def _read_until(self, predicate: "re.Pattern[str] | tuple[str, ...]") -> str:
        deadline = time.monotonic() + self.timeout
        while True:
            text = clean(self._buffer)
            if isinstance(predicate, tuple):
                ending = next((p for p in predicate if text.endswith(p)), None)
                if ending is not None:
                    self._buffer = b""
                    self.prompt = ending
                    return text
            else:
                match = predicate.search(text)
                if match:
                    self._buffer = b""
                    return text
            if time.monotonic() > deadline:
                raise SmscError(f"jCli did not answer within {self.timeout} s; it said: {text[-300:]!r}")
            try:
                chunk = self.sock.recv(65536)
            except OSError as exc:
                raise SmscError(f"jCli connection failed: {exc}") from exc
            if not chunk:
                raise SmscError(f"jCli closed the connection; it said: {text[-300:]!r}")
            self._buffer += chunk

    def _send(self, line: str) -> str:
        if "\n" in line or "\r" in line:
            raise SmscError(f"a jCli line cannot hold a line break: {line!r}")
        try:
            self.sock.sendall(line.encode("utf-8") + b"\r\n")
        except OSError as exc:
            raise SmscError(f"jCli connection failed: {exc}") from exc
        answer = self._read_until(PROMPTS)
        # Drop the echo of the line and the prompt that ends the answer.
        lines = answer.split("\n")
        if lines and lines[0].strip() == line.strip():
            lines = lines[1:]
        return "\n".join(lines[:-1]).strip()

    def login(self, username: str, password: str) -> None:
        self._read_until(re.compile(r"Authentication required\.\s*$"))
        self._send(username)
        answer = self._send(password)
        if "Welcome" not in answer:
            raise SmscError(f"jCli refused the login of {username!r}: {answer}")

    def command(self, line: str) -> str:
        """Run one command; its output, without echo and prompt."""
        return self._send(line)

    def add(self, command: str, fields: dict[str, str], success: str = "Successfully") -> str:
        """An interactive add (``group -a``, ``user -a``, ``smppccm -a``, ``mtrouter -a``...):
        the command, one ``key value`` line a field, then ``ok``. SmscError unless it says
        ``success``, with what jCli answered."""
        answers = [self._send(command)]
        for key, value in fields.items():
            answers.append(self._send(f"{key} {value}"))
        final = self._send("ok")
        if success not in final:
            if self.prompt == "> ":
                self._send("ko")  # leave the half-made object
            raise SmscError(f"jCli `{command}` failed: {' / '.join(a for a in answers + [final] if a)}")
        return final

    def close(self) -> None:
        try:
            self.sock.sendall(b"quit\r\n")
        except OSError:
            pass
        self.sock.close()

    def __enter__(self) -> JCliClient:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()
