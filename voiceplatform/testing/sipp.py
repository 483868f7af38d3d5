"""sipp as a real SIP peer in tests: a UAS that answers the platform's calls, or a UAC that calls in.

Each :class:`Sipp` is one sipp process with one scenario, on a SIP port and an RTP port picked
free on loopback at start (a fresh pair every time: Asterisk retransmits an unanswered INVITE
for up to 32 s, and a late one must not reach the next test's sipp). sipp writes its SIP
message trace (``-trace_msg``) and its unexpected messages (``-trace_err``) into a folder of
the run's own; :meth:`Sipp.messages` parses the trace, so a test asserts the SIP exchange as
sipp itself saw it.

The process is known by its pid and stopped by its pid (``-m N`` sometimes leaves sipp
running): SIGUSR1 (sipp's "quit"), then SIGKILL. Every instance started here is also stopped
at interpreter exit, so none outlives the test run.

sipp 3.6 does not count the RTP it receives; :mod:`voiceplatform.testing.packet_tap` counts the
packets sent to :attr:`Sipp.media_port`.
"""

from __future__ import annotations

import atexit
import os
import re
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from voiceplatform.exceptions import LabError

SIPP = "sipp"
HOST = "127.0.0.1"
SCENARIOS = Path(__file__).resolve().parents[1] / "lab" / "sipp"  # package data
START_TIMEOUT = 5.0  # seconds for sipp to bind its SIP port
STOP_TIMEOUT = 3.0  # seconds for sipp to quit after SIGUSR1 before SIGKILL

_running: dict[int, subprocess.Popen[bytes]] = {}


@dataclass(frozen=True)
class SipMessage:
    """One SIP message as sipp sent or received it."""

    direction: str  # "sent" or "received" (from sipp's side)
    start_line: str
    headers: tuple[tuple[str, str], ...]
    body: str
    at: str  # sipp's timestamp line

    @property
    def is_request(self) -> bool:
        return not self.start_line.startswith("SIP/2.0")

    @property
    def method(self) -> str:
        """The request's method, or for a response the method its CSeq names."""
        if self.is_request:
            return self.start_line.split(" ", 1)[0]
        return (self.header("CSeq") or " ").split()[-1]

    @property
    def status(self) -> int | None:
        return None if self.is_request else int(self.start_line.split()[1])

    @property
    def label(self) -> str:
        """"INVITE", "ACK" for requests; "180", "487 INVITE" style is in :meth:`describe`."""
        return self.method if self.is_request else str(self.status)

    def describe(self) -> str:
        """Direction and label in one string: "<INVITE", ">180", ">487" (> is sipp sending)."""
        return ("<" if self.direction == "received" else ">") + self.label

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (case-insensitive), or None."""
        wanted = name.lower()
        return next((value for key, value in self.headers if key.lower() == wanted), None)

    @property
    def call_id(self) -> str:
        return self.header("Call-ID") or self.header("i") or ""


_SEPARATOR = re.compile(r"^-{20,} (.+)$", re.MULTILINE)
_DIRECTION = re.compile(r"^\w+ message (sent|received)")


def parse_trace(text: str) -> list[SipMessage]:
    """The messages of a sipp ``-trace_msg`` file, in order."""
    messages: list[SipMessage] = []
    parts = _SEPARATOR.split(text)
    # parts: [preamble, stamp1, block1, stamp2, block2, ...]
    for stamp, block in zip(parts[1::2], parts[2::2]):
        lines = block.strip("\n").split("\n")
        match = _DIRECTION.match(lines[0]) if lines else None
        if match is None:
            continue
        rest = [line.rstrip("\r") for line in lines[1:]]
        while rest and not rest[0].strip():
            rest.pop(0)
        if not rest:
            continue
        start, headers, body_lines = rest[0], [], []
        in_body = False
        for line in rest[1:]:
            if in_body:
                body_lines.append(line)
            elif not line.strip():
                in_body = True
            else:
                key, _, value = line.partition(":")
                headers.append((key.strip(), value.strip()))
        messages.append(SipMessage(match.group(1), start, tuple(headers), "\n".join(body_lines).strip(), stamp))
    return messages


def free_udp_port(host: str = HOST) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _udp_port_taken(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return True
        return False


def free_media_port(host: str = HOST) -> int:
    """An even port with itself and port + 2 free: sipp binds both (audio and video)."""
    for _ in range(50):
        port = free_udp_port(host) & ~1
        if port < 65530 and not _udp_port_taken(host, port) and not _udp_port_taken(host, port + 2):
            return port
    raise LabError("no free even UDP port pair on loopback for sipp's media")


@dataclass
class Sipp:
    """One sipp process. ``role`` is "uas" (answers) or "uac" (calls ``remote``).

    ``keys`` become ``-key NAME VALUE`` (``[NAME]`` in the scenario). For a UAC, ``service`` is
    the Request-URI's user, ``calls`` the number of calls (``-m``) and ``rate`` calls per second.
    """

    scenario: Path
    folder: Path
    role: str = "uas"
    keys: dict[str, str] = field(default_factory=dict)
    remote: str | None = None
    service: str = "s"
    calls: int | None = None
    rate: float = 10.0
    host: str = HOST
    port: int = 0
    media_port: int = 0
    extra_args: tuple[str, ...] = ()
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def name(self) -> str:
        return self.scenario.stem

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def message_file(self) -> Path:
        return self.folder / f"{self.name}.messages.log"

    @property
    def error_file(self) -> Path:
        return self.folder / f"{self.name}.errors.log"

    @property
    def output_file(self) -> Path:
        return self.folder / f"{self.name}.out"

    def command(self) -> list[str]:
        args = [SIPP, "-sf", str(self.scenario), "-i", self.host, "-p", str(self.port),
                "-mi", self.host, "-mp", str(self.media_port), "-nostdin",
                "-trace_msg", "-message_file", str(self.message_file),
                "-trace_err", "-error_file", str(self.error_file)]
        for key, value in self.keys.items():
            args += ["-key", key, value]
        if self.role == "uac":
            if not self.remote:
                raise LabError("a sipp UAC needs a remote address")
            args += ["-s", self.service, "-r", str(self.rate)]
            args += ["-m", str(self.calls or 1), self.remote]
        elif self.calls:
            args += ["-m", str(self.calls)]
        return args + list(self.extra_args)

    def start(self) -> Sipp:
        if not self.scenario.is_file():
            raise LabError(f"no sipp scenario {self.scenario}")
        self.folder.mkdir(parents=True, exist_ok=True)
        self.port = self.port or free_udp_port(self.host)
        self.media_port = self.media_port or free_media_port(self.host)
        try:
            with open(self.output_file, "wb") as out:
                self.process = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL, stdout=out,
                                                stderr=subprocess.STDOUT, cwd=self.folder, start_new_session=True)
        except OSError as exc:
            raise LabError(f"cannot start sipp ({exc}); install the Debian package sip-tester") from exc
        _running[self.process.pid] = self.process
        deadline = time.monotonic() + START_TIMEOUT
        while not _udp_port_taken(self.host, self.port):
            if self.process.poll() is not None:
                raise LabError(f"sipp exited at start (rc {self.process.returncode}): {self.output()[-2000:]}")
            if time.monotonic() > deadline:
                self.stop()
                raise LabError(f"sipp did not bind {self.address} within {START_TIMEOUT:.0f} s")
            time.sleep(0.02)
        return self

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def wait(self, timeout: float) -> int:
        """Wait for sipp to exit by itself (a UAC after its calls); returns its exit status."""
        assert self.process is not None
        try:
            return self.process.wait(timeout=timeout)
        finally:
            if self.process.poll() is not None:
                _running.pop(self.process.pid, None)

    def stop(self) -> int | None:
        """Stop this sipp by its pid: SIGUSR1 (quit), then SIGKILL. Returns its exit status."""
        process = self.process
        if process is None:
            return None
        code = _stop(process)
        _running.pop(process.pid, None)
        return code

    def output(self) -> str:
        try:
            return self.output_file.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def messages(self) -> list[SipMessage]:
        """The SIP messages sipp has written to its trace so far."""
        try:
            return parse_trace(self.message_file.read_text(errors="replace"))
        except FileNotFoundError:
            return []

    def exchange(self, call_id: str | None = None) -> list[str]:
        """The exchange as short labels ("<INVITE", ">100", ">180", "<CANCEL", ...), for one
        Call-ID if given (else all), without retransmissions of the same message."""
        labels: list[str] = []
        seen: set[tuple[str, str, str, str]] = set()
        for message in self.messages():
            if call_id is not None and message.call_id != call_id:
                continue
            key = (message.direction, message.start_line, message.header("CSeq") or "", message.call_id)
            if key in seen:
                continue
            seen.add(key)
            labels.append(message.describe())
        return labels

    def call_ids(self) -> list[str]:
        """The Call-IDs in the trace, in the order they first appeared."""
        return list(dict.fromkeys(m.call_id for m in self.messages() if m.call_id))

    def errors(self) -> str:
        try:
            return self.error_file.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def __enter__(self) -> Sipp:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


def _stop(process: subprocess.Popen[bytes]) -> int | None:
    if process.poll() is not None:
        return process.returncode
    for sig, timeout in ((signal.SIGUSR1, STOP_TIMEOUT), (signal.SIGUSR1, STOP_TIMEOUT), (signal.SIGKILL, 5.0)):
        try:
            os.kill(process.pid, sig)
        except ProcessLookupError:
            break
        try:
            return process.wait(timeout=timeout / 2 if sig == signal.SIGUSR1 else timeout)
        except subprocess.TimeoutExpired:
            continue
    return process.poll()


def scenario(name: str) -> Path:
    """A scenario shipped with the package (voiceplatform/lab/sipp/NAME.xml)."""
    return SCENARIOS / f"{name}.xml"


@atexit.register
def _stop_all() -> None:
    for process in list(_running.values()):
        _stop(process)
    _running.clear()
