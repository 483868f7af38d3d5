"""Count UDP packets on this machine as they are sent, with no tcpdump: an AF_PACKET raw socket.

Tests use it for what sipp and Asterisk do not report themselves: how many RTP packets (and of
which payload type) reached a sipp callee's media port, and whether anything sent a DNS query
to the lab's resolver address. It needs root (CAP_NET_RAW), which the lab needs anyway.

Each packet is counted once, as it leaves (``PACKET_OUTGOING``): on loopback the kernel shows
every packet twice, outgoing and incoming.

The kernel passes the socket only IPv4 UDP (to the tap's port, when it has one): a classic BPF
filter (``SO_ATTACH_FILTER``). Without it the reader parsed every packet on the machine in
Python, and with a test suite's database and HTTP traffic beside it, fell behind or had its
buffer overflow: a CI run on a slower machine missed the DNS tap's own test query.
"""

from __future__ import annotations

import ctypes
import socket
import struct
from collections import Counter
from dataclasses import dataclass, field
from types import TracebackType

import gevent

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4
SO_ATTACH_FILTER = 26


def udp_filter(port: int | None) -> list[tuple[int, int, int, int]]:
    """A classic BPF program (code, jt, jf, k) passing IPv4 UDP frames that are not later
    fragments, to ``port`` if given (tcpdump -dd 'ip and udp [dst port N]')."""
    accept, drop = (0x06, 0, 0, 0x40000), (0x06, 0, 0, 0)
    if port is None:
        return [(0x28, 0, 0, 12), (0x15, 0, 3, 0x0800), (0x30, 0, 0, 23), (0x15, 0, 1, 17), accept, drop]
    return [(0x28, 0, 0, 12), (0x15, 0, 8, 0x0800), (0x30, 0, 0, 23), (0x15, 0, 6, 17), (0x28, 0, 0, 20),
            (0x45, 4, 0, 0x1FFF), (0xB1, 0, 0, 14), (0x48, 0, 0, 16), (0x15, 0, 1, port), accept, drop]


def attach_filter(sock: socket.socket, program: list[tuple[int, int, int, int]]) -> None:
    code = ctypes.create_string_buffer(b"".join(struct.pack("HBBI", *op) for op in program))
    sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, struct.pack("HL", len(program), ctypes.addressof(code)))


@dataclass
class UdpTap:
    """Counts outgoing UDP packets to ``port`` (and optionally ``host``), by RTP payload type."""

    port: int
    host: str | None = None
    packets: int = 0
    payload_types: Counter[int] = field(default_factory=Counter)
    _sock: socket.socket | None = None
    _reader: gevent.Greenlet | None = None

    def start(self) -> UdpTap:
        self._sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        attach_filter(self._sock, udp_filter(self.filter_port()))
        self._reader = gevent.spawn(self._read)
        return self

    def filter_port(self) -> int | None:
        return self.port

    def _read(self) -> None:
        assert self._sock is not None
        while True:
            try:
                frame, address = self._sock.recvfrom(65535)
            except OSError:
                return
            if address[2] != PACKET_OUTGOING:
                continue
            try:
                self._count(frame)
            except (struct.error, IndexError, OSError):
                continue  # a truncated or odd frame: not one of ours

    def _count(self, frame: bytes) -> None:
        seen = udp_destination(frame)
        if seen is None:
            return
        destination, dport, payload = seen
        if dport != self.port or (self.host is not None and destination != self.host):
            return
        self.packets += 1
        kind = rtp_payload_type(payload)
        if kind is not None:
            self.payload_types[kind] += 1

    def stop(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        if self._reader is not None:
            self._reader.kill(block=True, timeout=2)
            self._reader = None

    def __enter__(self) -> UdpTap:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


def udp_destination(frame: bytes) -> tuple[str, int, bytes] | None:
    """(destination address, destination port, UDP payload) of an Ethernet/IPv4/UDP frame."""
    # Ethernet framing on eth* and on lo (ARPHRD_LOOPBACK carries a zeroed Ethernet header).
    if len(frame) < 14 + 20 + 8 or frame[12:14] != b"\x08\x00":
        return None
    ip = frame[14:]
    if ip[9] != 17:  # UDP
        return None
    header = (ip[0] & 0x0F) * 4
    _sport, dport = struct.unpack("!HH", ip[header:header + 4])
    return socket.inet_ntoa(ip[16:20]), dport, ip[header + 8:]


def rtp_payload_type(payload: bytes) -> int | None:
    """The RTP payload type of a UDP payload that looks like RTP (version 2), else None."""
    if len(payload) >= 12 and payload[0] >> 6 == 2:
        return payload[1] & 0x7F
    return None


@dataclass
class PortsTap(UdpTap):
    """One raw socket counting outgoing UDP packets for MANY ports at once (one sipp callee each):
    a raw socket sees every packet on the machine, so one tap per port would read them all N
    times. ``per_port[port]`` counts by RTP payload type; ``port`` and ``host`` are unused."""

    port: int = 0
    ports: frozenset[int] = frozenset()
    per_port: dict[int, Counter[int]] = field(default_factory=dict)

    def filter_port(self) -> int | None:
        return None  # many ports: the kernel passes UDP, the reader picks the ports

    def _count(self, frame: bytes) -> None:
        seen = udp_destination(frame)
        if seen is None or seen[1] not in self.ports:
            return
        self.packets += 1
        counter = self.per_port.setdefault(seen[1], Counter())
        kind = rtp_payload_type(seen[2])
        counter[-1 if kind is None else kind] += 1
