"""The one policy every outbound HTTP request passes: webhook deliveries
(:mod:`voiceplatform.webhooks.delivery`) and the flow ``webhook`` node
(:mod:`voiceplatform.switches.http_client`).

A URL someone else typed must not let them reach what only the server can reach: the metadata
service at 169.254.169.254, an admin port on 127.0.0.1, a database on the private network. So:

- **http and https only.** ``file://``, ``ftp://``, ``gopher://`` ... are refused.
- **The destination is checked after DNS resolution**, never by looking at the string:
  ``2130706433``, ``0x7f000001``, ``017700000001``, ``127.1``, ``0`` and ``localhost`` all
  resolve to loopback or unspecified addresses and are refused for that. Every address the name
  resolves to must be globally routable: loopback, private (RFC 1918, ULA), link-local,
  multicast, unspecified, broadcast, reserved, shared (CGNAT 100.64/10), documentation ranges
  and IPv4-mapped, -compatible, NAT64, 6to4 and Teredo forms of these are refused.
- **The connection goes to the address that was checked** (it is pinned), so a DNS answer that
  changes between the check and the connect cannot reach a private address. The ``Host`` header,
  TLS SNI and certificate verification still use the URL's host name.
- **Redirects are followed by hand** (at most ``max_outbound_redirects``), each hop's scheme and
  destination checked again; credentials (Authorization, Cookie) are not sent to another origin.
- **Bounded cost:** at most ``max_outbound_response_bytes`` of a body are read and the whole
  exchange, redirects included, takes at most ``max_outbound_seconds`` (a caller may ask for
  less). See :mod:`voiceplatform.limits`.
- **No port scanner:** a refused destination is refused before any connection is attempted,
  and a failed connection is reported the same way whether the port was closed, filtered or
  unreachable.

On-premises installations that must call internal services name them in
``VOICEPLATFORM_OUTBOUND_ALLOW``: comma-separated entries, each an address or CIDR network
(``10.1.2.3``, ``10.0.0.0/8``, ``fd00::/8``), a host name (``hooks.corp.example``, or
``*.corp.example`` for its sub-domains), optionally with ``:port`` (``127.0.0.1:8080``,
``[::1]:8080``, ``hooks.corp.example:8443``) to permit that port only. A destination an entry
matches is permitted even if it is private or loopback. The scheme rule still applies.

Plain ``socket``/``ssl``/``http.client``, so it is cooperative under gevent's monkey-patching.
"""

from __future__ import annotations

import http.client
import io
import ipaddress
import os
import socket
import ssl
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Callable, Mapping, Union
from urllib.parse import urljoin, urlsplit

from voiceplatform import limits
from voiceplatform.exceptions import OutboundRequestFailed, OutboundRequestRefused

ALLOW_ENV = "VOICEPLATFORM_OUTBOUND_ALLOW"
DEFAULT_PORTS = {"http": 80, "https": 443}
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
USER_AGENT = "voiceplatform/1"
#: Headers the request line and the connection decide; a caller's own values are dropped, so a
#: flow cannot send a second Host or a Content-Length that disagrees with its body.
CONTROLLED_HEADERS = frozenset({"host", "content-length", "transfer-encoding", "connection"})
#: Headers not sent on after a redirect to another origin.
CREDENTIAL_HEADERS = frozenset({"authorization", "cookie", "proxy-authorization"})

Address = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]
Network = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]
SockAddr = tuple[Any, ...]
Resolved = tuple[int, int, int, SockAddr]  # family, type, proto, sockaddr (from getaddrinfo)

_SHARED = ipaddress.ip_network("100.64.0.0/10")
_BROADCAST = ipaddress.ip_address("255.255.255.255")
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


# ---- which addresses are refused ---------------------------------------------------------------


def refusal_reason(address: Address) -> str | None:
    """Why ``address`` is not a permitted destination by default (None: it is globally routable)."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            reason = refusal_reason(embedded)
            return f"{reason} (IPv4 {embedded} inside IPv6)" if reason else None
    checks: tuple[tuple[bool, str], ...] = (
        (address.is_unspecified, "an unspecified address"),
        (address.is_loopback, "a loopback address"),
        (address.is_link_local, "a link-local address"),
        (address.is_multicast, "a multicast address"),
        (address in _SHARED, "a shared (carrier-grade NAT) address"),
        (address == _BROADCAST, "the broadcast address"),
        (address.is_reserved, "a reserved address"),
        (address.is_private, "a private address"),
        (not address.is_global, "not a globally routable address"),
    )
    return next((reason for refused, reason in checks if refused), None)


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries (mapped, compatible, NAT64, 6to4, Teredo client)."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _IPV4_COMPATIBLE or address in _NAT64:
        if address in _IPV4_COMPATIBLE and int(address) <= 1:
            return None  # :: and ::1 are IPv6's own unspecified and loopback addresses
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    return None


# ---- the allow-list ----------------------------------------------------------------------------


@dataclass(frozen=True)
class AllowEntry:
    """One entry of ``VOICEPLATFORM_OUTBOUND_ALLOW``: a network or a host name, any port or one."""

    network: Network | None = None
    host: str | None = None  # lower case; "*.example" matches every sub-domain of example
    port: int | None = None

    def permits(self, host: str, address: Address, port: int) -> bool:
        if self.port is not None and self.port != port:
            return False
        if self.network is not None:
            return address.version == self.network.version and address in self.network
        assert self.host is not None
        if self.host.startswith("*."):
            return host.endswith(self.host[1:])
        return host == self.host


@dataclass(frozen=True)
class OutboundPolicy:
    """The destinations permitted besides globally routable ones."""

    allow: tuple[AllowEntry, ...] = ()

    @classmethod
    def parse(cls, raw: str) -> "OutboundPolicy":
        """Read the allow-list syntax (see the module docstring); ValueError names a bad entry."""
        return cls(tuple(_entry(item.strip()) for item in raw.split(",") if item.strip()))

    def refusal(self, host: str, address: Address, port: int) -> str | None:
        """Why ``host`` resolved to ``address`` may not be reached on ``port`` (None: it may)."""
        reason = refusal_reason(address)
        if reason is None or any(entry.permits(host, address, port) for entry in self.allow):
            return None
        return reason


def _entry(text: str) -> AllowEntry:
    problem = f"{ALLOW_ENV}: {text!r} is not an address, a network, or a host name (with an optional :port)"
    body, port = text, None
    if text.startswith("["):
        body, _, rest = text[1:].partition("]")
        if rest:
            if not rest.startswith(":"):
                raise ValueError(problem)
            port = _port(rest[1:], problem)
    elif text.count(":") == 1:
        body, _, rest = text.partition(":")
        port = _port(rest, problem)
    try:
        return AllowEntry(network=ipaddress.ip_network(body, strict=False), port=port)
    except ValueError:
        pass
    host = body.lower().rstrip(".")
    labels = (host[2:] if host.startswith("*.") else host).split(".")
    if not host or not all(label and all(c.isalnum() or c in "-_" for c in label) for label in labels):
        raise ValueError(problem)
    return AllowEntry(host=host, port=port)


def _port(text: str, problem: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise ValueError(problem)
    return int(text)


def current_policy() -> OutboundPolicy:
    """The policy from ``VOICEPLATFORM_OUTBOUND_ALLOW`` as it is now (read on every request, so a
    changed setting applies without a restart; parsing is cached per value)."""
    return _parsed(os.environ.get(ALLOW_ENV, ""))


@lru_cache(maxsize=8)
def _parsed(raw: str) -> OutboundPolicy:
    return OutboundPolicy.parse(raw)


# ---- URLs --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """A URL taken apart the one way both the check and the connection use."""

    scheme: str
    host: str  # lower case, no brackets, no trailing dot
    port: int
    path: str  # path and query, what goes on the request line

    @property
    def origin(self) -> tuple[str, str, int]:
        return self.scheme, self.host, self.port


def parse_url(url: str) -> Target:
    """``url`` as a :class:`Target`; OutboundRequestRefused says why it cannot be requested."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise OutboundRequestRefused(f"not a valid URL: {exc}") from exc
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        shown = f"{scheme}://" if scheme else "no scheme"
        raise OutboundRequestRefused(f"only http:// and https:// URLs may be requested, not {shown}")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise OutboundRequestRefused("the URL has no host")
    if parts.username is not None or parts.password is not None:
        raise OutboundRequestRefused("credentials in the URL are not supported: send an Authorization header")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(scheme, host, port or DEFAULT_PORTS[scheme], path)


def literal_refusal(url: str, policy: OutboundPolicy | None = None) -> str | None:
    """Why ``url`` can be refused already when it is saved, without DNS: not http(s), or its host is
    an address literal (in any form ``inet_aton`` reads, such as ``2130706433``) or ``localhost``
    that the policy refuses. None when it may be fine; requests are checked again when made."""
    try:
        target = parse_url(url)
    except OutboundRequestRefused as exc:
        return str(exc)
    policy = policy or current_policy()
    address = _literal_address(target.host)
    if address is None and (target.host == "localhost" or target.host.endswith(".localhost")):
        address = ipaddress.ip_address("127.0.0.1")
    if address is None:
        return None
    reason = policy.refusal(target.host, address, target.port)
    return f"{target.host} is {reason}" if reason else None


def _literal_address(host: str) -> Address | None:
    try:
        return ipaddress.ip_address(host.partition("%")[0])
    except ValueError:
        pass
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))  # 2130706433, 0x7f000001, 127.1, 0 ...
    except (OSError, ValueError):
        return None


# ---- requests ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class OutboundResponse:
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes  # at most the byte limit; ``truncated`` says whether more was sent
    truncated: bool
    url: str  # the URL that answered (after redirects)

    def header_dict(self) -> dict[str, str]:
        return dict(self.headers)


Resolver = Callable[[str, int], list[Resolved]]
Opener = Callable[[Resolved, float], socket.socket]


def _resolve(host: str, port: int) -> list[Resolved]:
    return [(family, kind, proto, sockaddr)
            for family, kind, proto, _name, sockaddr in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)]


def _open(resolved: Resolved, timeout: float) -> socket.socket:
    family, kind, proto, sockaddr = resolved
    sock = socket.socket(family, kind, proto)
    try:
        sock.settimeout(timeout)
        sock.connect(sockaddr)
    except BaseException:
        sock.close()
        raise
    return sock


def request(method: str, url: str, *, body: bytes | None = None, headers: Mapping[str, str] | None = None,
            timeout: float | None = None, follow_redirects: bool = True, max_response_bytes: int | None = None,
            policy: OutboundPolicy | None = None, resolve: Resolver | None = None, open_socket: Opener | None = None,
            ) -> OutboundResponse:
    """Send one request under the policy and return the answer, whatever its status.

    ``timeout`` bounds the whole exchange (capped by ``max_outbound_seconds``). With
    ``follow_redirects`` false a 3xx is returned as the answer. Raises OutboundRequestRefused
    when the policy refuses the URL or a destination (nothing was sent there), and
    OutboundRequestFailed when no HTTP answer came back (DNS, connection, TLS, timeout).
    ``resolve`` and ``open_socket`` replace getaddrinfo and the connect (tests)."""
    bounds = limits.current()
    seconds = min(timeout or bounds.max_outbound_seconds, bounds.max_outbound_seconds)
    deadline = time.monotonic() + seconds
    size = min(max_response_bytes or bounds.max_outbound_response_bytes, bounds.max_outbound_response_bytes)
    rules = policy or current_policy()
    resolve, open_socket = resolve or _resolve, open_socket or _open  # looked up now: tests may replace them
    sending = {name: value for name, value in (headers or {}).items() if name.lower() not in CONTROLLED_HEADERS}
    if not any(name.lower() == "user-agent" for name in sending):
        sending["User-Agent"] = USER_AGENT
    target = parse_url(url)
    first_origin = target.origin
    hops = bounds.max_outbound_redirects if follow_redirects else 0
    for hop in range(hops + 1):
        try:
            response = _exchange(target, method, body, sending, deadline, seconds, size, rules, resolve, open_socket)
        except OutboundRequestRefused as exc:
            raise OutboundRequestRefused(f"redirect to {url} refused: {exc}" if hop else str(exc)) from exc
        location = _location(response) if response.status in REDIRECT_STATUSES else None
        if not follow_redirects or location is None:
            return OutboundResponse(response.status, response.headers, response.body, response.truncated, url)
        if hop == hops:
            raise OutboundRequestFailed(f"more than {hops} redirects (the limit is max_outbound_redirects)")
        url = urljoin(url, location)
        try:
            target = parse_url(url)
        except OutboundRequestRefused as exc:
            raise OutboundRequestRefused(f"redirect to {url} refused: {exc}") from exc
        if (response.status == 303 and method != "HEAD") or (response.status in (301, 302) and method == "POST"):
            method, body = "GET", None
            sending = {name: value for name, value in sending.items() if name.lower() != "content-type"}
        if target.origin != first_origin:
            sending = {name: value for name, value in sending.items() if name.lower() not in CREDENTIAL_HEADERS}
    raise AssertionError("unreachable: the loop returns or raises")


def _location(response: OutboundResponse) -> str | None:
    return next((value for name, value in response.headers if name.lower() == "location"), None)


def _exchange(target: Target, method: str, body: bytes | None, headers: Mapping[str, str], deadline: float,
              seconds: float, size: int, policy: OutboundPolicy, resolve: Resolver, open_socket: Opener,
              ) -> OutboundResponse:
    candidates = _checked(target, policy, resolve)
    connection = _PinnedConnection(target, candidates, deadline, open_socket)
    try:
        connection.request(method, target.path, body=body, headers=dict(headers))
        answer = connection.getresponse()
        data = answer.read(size + 1)
        pairs = tuple(answer.getheaders())
        return OutboundResponse(answer.status, pairs, data[:size], len(data) > size, "")
    except (OutboundRequestFailed, OutboundRequestRefused):
        raise
    except (socket.timeout, TimeoutError) as exc:
        raise OutboundRequestFailed(f"timed out after {seconds:g} s") from exc
    except ssl.SSLCertVerificationError as exc:
        raise OutboundRequestFailed(f"the TLS certificate of {target.host} was not accepted: "
                                    f"{exc.verify_message}") from exc
    except ssl.SSLError as exc:
        raise OutboundRequestFailed(f"TLS with {target.host} failed: {exc.reason or exc}") from exc
    except (http.client.InvalidURL, ValueError) as exc:  # control characters in the path or a header
        raise OutboundRequestRefused(f"the request is malformed: {exc}") from exc
    except http.client.HTTPException as exc:
        raise OutboundRequestFailed(f"{target.host}:{target.port} did not answer with HTTP "
                                    f"({type(exc).__name__})") from exc
    except OSError as exc:
        raise OutboundRequestFailed(f"the connection to {target.host}:{target.port} was lost") from exc
    finally:
        connection.close()


def _checked(target: Target, policy: OutboundPolicy, resolve: Resolver) -> list[Resolved]:
    """Every address ``target.host`` resolves to, each one permitted; else OutboundRequestRefused."""
    try:
        resolved = resolve(target.host, target.port)
    except (socket.gaierror, UnicodeError, OSError) as exc:
        raise OutboundRequestFailed(f"cannot resolve {target.host}") from exc
    if not resolved:
        raise OutboundRequestFailed(f"cannot resolve {target.host}")
    for entry in resolved:
        address = ipaddress.ip_address(str(entry[3][0]).partition("%")[0])
        reason = policy.refusal(target.host, address, target.port)
        if reason is not None:
            shown = target.host if target.host == str(address) else f"{target.host} ({address})"
            raise OutboundRequestRefused(f"destination {shown} refused: {reason}; "
                                         f"{ALLOW_ENV} can permit it for on-premises services")
    return resolved


class _PinnedConnection(http.client.HTTPConnection):
    """An HTTP(S) connection to addresses already checked, with the URL's host in the Host header,
    SNI and certificate check, and every socket operation bounded by one deadline."""

    def __init__(self, target: Target, candidates: list[Resolved], deadline: float, open_socket: Opener) -> None:
        super().__init__(target.host, target.port)
        self.default_port = DEFAULT_PORTS[target.scheme]  # Host: omits the port when it is the default
        self._target = target
        self._candidates = candidates
        self._deadline = deadline
        self._open_socket = open_socket

    def connect(self) -> None:
        sock: socket.socket | None = None
        for candidate in self._candidates:
            try:
                sock = self._open_socket(candidate, _remaining(self._deadline))
                break
            except OSError:
                continue  # the same answer whether the port was closed, filtered or unreachable
        if sock is None:
            raise OutboundRequestFailed(f"could not connect to {self._target.host}:{self._target.port}")
        try:
            if self._target.scheme == "https":
                sock.settimeout(_remaining(self._deadline))
                sock = _tls_context().wrap_socket(sock, server_hostname=self._target.host)
        except BaseException:
            sock.close()
            raise
        self.sock = _DeadlineSocket(sock, self._deadline)


def _remaining(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise socket.timeout("timed out")
    return left


@lru_cache(maxsize=1)
def _tls_context() -> ssl.SSLContext:
    return ssl.create_default_context()  # verifies the certificate and the host name


class _DeadlineSocket:
    """What http.client needs of a socket, each send and receive given only the time left."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self._sock = sock
        self._deadline = deadline

    def sendall(self, data: bytes) -> None:
        self._sock.settimeout(_remaining(self._deadline))
        self._sock.sendall(data)

    def recv_into(self, buffer: Any) -> int:
        self._sock.settimeout(_remaining(self._deadline))
        return self._sock.recv_into(buffer)

    def makefile(self, mode: str = "rb", *_args: Any, **_kwargs: Any) -> io.BufferedReader:
        return io.BufferedReader(_Reader(self))

    def close(self) -> None:
        self._sock.close()


class _Reader(io.RawIOBase):
    def __init__(self, sock: _DeadlineSocket) -> None:
        self._sock = sock

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        return self._sock.recv_into(buffer)
