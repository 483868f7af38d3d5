"""A one-call FastAGI server on a socket, for checking the outbound context's hand-over.

The platform's real FastAGI server is panoramisk's; this one only has to accept one request,
show its headers and run a short script of AGI commands in plain blocking code.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable

Session = Callable[[dict[str, str], "AgiChannel"], None]


class AgiChannel:
    """One FastAGI connection: send a command, get its ``200 result=...`` line."""

    def __init__(self, conn: socket.socket) -> None:
        self._file = conn.makefile("rwb")

    def read_headers(self) -> dict[str, str]:
        headers = {}
        for raw in iter(self._file.readline, b""):
            line = raw.decode().rstrip("\n")
            if not line:
                break
            key, _, value = line.partition(": ")
            headers[key] = value
        return headers

    def command(self, text: str) -> str:
        self._file.write(text.encode() + b"\n")
        self._file.flush()
        reply = self._file.readline().decode().strip()
        if not reply:
            raise ConnectionError(f"AGI connection closed after {text!r}")
        return reply


class OneCallAgiServer:
    """Listens on a free loopback port; runs ``session`` for the first request in a thread."""

    def __init__(self, session: Session) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(60)
        self.address = f"127.0.0.1:{self._listener.getsockname()[1]}"
        self.headers: dict[str, str] = {}
        self.replies: list[str] = []
        self.error: Exception | None = None
        self._session = session
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        try:
            conn, _ = self._listener.accept()
            with conn:
                channel = AgiChannel(conn)
                self.headers = channel.read_headers()
                self._session(self.headers, channel)
        except Exception as exc:  # handed to the test by join()
            self.error = exc
        finally:
            self._listener.close()

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise TimeoutError("the FastAGI session did not finish")
        if self.error:
            raise self.error
