"""gevent's WSGI server with ``TCP_NODELAY`` on every connection: pywsgi writes a response's
headers and body separately, and with Nagle's algorithm against the client's delayed ACK each
keep-alive request would wait some 40 ms."""

from __future__ import annotations

from typing import Any

from gevent import socket
from gevent.pywsgi import WSGIServer


class NoDelayWSGIServer(WSGIServer):
    def handle(self, sock: socket.socket, address: Any) -> None:
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        super().handle(sock, address)
