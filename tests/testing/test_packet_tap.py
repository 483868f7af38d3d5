"""The packet taps count what they are for and nothing else: a tap of one port and host counts
the UDP datagrams sent there (not those to another port or host, not TCP), and a many-ports tap
counts each of its ports. Raw sockets need CAP_NET_RAW (root), as the lab does."""

from __future__ import annotations

import os
import socket

import gevent
import pytest

from voiceplatform.testing.packet_tap import PortsTap, UdpTap

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="a raw socket (AF_PACKET) needs root")


def _wait_for(check: object, seconds: float = 3.0) -> None:
    for _ in range(int(seconds / 0.02)):
        if callable(check) and check():
            return
        gevent.sleep(0.02)


def test_a_port_tap_counts_its_datagrams_and_nothing_else() -> None:
    with UdpTap(port=53, host="127.0.0.153") as dns, PortsTap(ports=frozenset({47001, 47002})) as media, \
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp, socket.create_server(("127.0.0.1", 0)) as server:
        for _ in range(200):  # traffic beside it: other ports, another host
            udp.sendto(b"x" * 32, ("127.0.0.1", 47003))
            udp.sendto(b"x" * 32, ("127.0.0.153", 54))
        with socket.create_connection(server.getsockname()) as tcp:
            tcp.sendall(b"y" * 4096)
        udp.sendto(b"\x12\x34" + b"\0" * 10, ("127.0.0.153", 53))
        udp.sendto(b"\x80\x00" + b"\0" * 10, ("127.0.0.1", 47001))
        udp.sendto(b"\x80\x00" + b"\0" * 10, ("127.0.0.1", 47002))
        udp.sendto(b"\x80\x00" + b"\0" * 10, ("127.0.0.1", 47002))
        _wait_for(lambda: dns.packets >= 1 and media.packets >= 3)
        gevent.sleep(0.1)  # anything else would have arrived by now
        assert dns.packets == 1
        assert media.packets == 3 and sum(media.per_port[47001].values()) == 1
        assert sum(media.per_port[47002].values()) == 2

