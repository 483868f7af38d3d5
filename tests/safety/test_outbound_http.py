"""The outbound-HTTP policy (issue 10, row 3): against a listener on 127.0.0.1, with the default
policy, neither a webhook delivery nor a flow webhook node gets a single connection through, in
any spelling of the address, through a redirect, or with file://; 169.254.169.254 is refused
before any connection attempt. Then what the allow-list permits, pinning, TLS on the URL's
host name, and the size, redirect and time limits."""

from __future__ import annotations

import ipaddress
import socket
import ssl
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import gevent
import pytest
from gevent.pywsgi import WSGIServer
from gevent.server import StreamServer
from sqlalchemy.orm import Session, sessionmaker

from tests.webhooks.conftest import new_account, sessions, subscribe  # noqa: F401 (sessions: a fixture)
from voiceplatform import limits
from voiceplatform.exceptions import OutboundRequestFailed, OutboundRequestRefused
from voiceplatform.flow import load_flow, resume, start
from voiceplatform.flow.outputs import HttpRequest
from voiceplatform.models import WebhookDelivery
from voiceplatform.safety import outbound_http
from voiceplatform.safety.outbound_http import OutboundPolicy, literal_refusal, refusal_reason
from voiceplatform.switches import http_client
from voiceplatform.webhooks import deliver_due, emit

ALLOW = outbound_http.ALLOW_ENV


class Listener:
    """A TCP listener on 127.0.0.1 that counts the connections it accepts and answers each with a
    small HTTP 200."""

    def __init__(self) -> None:
        self.accepted = 0
        self.heads: list[bytes] = []  # each request's head (request line and headers)
        self.server = StreamServer(("127.0.0.1", 0), self._handle)

    def _handle(self, sock: socket.socket, _address: Any) -> None:
        self.accepted += 1
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
        self.heads.append(data.partition(b"\r\n\r\n")[0] + b"\r\n")
        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")

    @property
    def port(self) -> int:
        return int(self.server.server_port)


@pytest.fixture
def listener() -> Iterator[Listener]:
    target = Listener()
    target.server.start()
    yield target
    target.server.stop()


@pytest.fixture
def redirector(listener: Listener) -> Iterator[int]:
    """An HTTP server on 127.0.0.1 whose every answer is a 302 to the listener; its port."""

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("302 Found", [("Location", f"http://127.0.0.1:{listener.port}/internal")])
        return [b""]

    server = WSGIServer(("127.0.0.1", 0), app, log=None)
    server.start()
    yield int(server.server_port)
    server.stop()


@pytest.fixture(autouse=True)
def default_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ALLOW, raising=False)


def spellings(port: int) -> list[str]:
    """The listener's address, as an attacker would write it."""
    hosts = ["127.0.0.1", "0", "0.0.0.0", "2130706433", "0x7f000001", "017700000001", "127.1", "[::1]",
             "[::ffff:127.0.0.1]", "localhost"]
    return [f"http://{host}:{port}/internal" for host in hosts]


def flow_calling(tmp_path: Path, url: str) -> Any:
    path = tmp_path / "hook.yaml"
    path.write_text(f"""spec_version: 1
name: hook
channels: [voice]
start: call_api
nodes:
  - id: call_api
    type: webhook
    method: POST
    url: "{url}"
    body: {{hello: world}}
    exits: {{success: done, failure: failed}}
  - id: done
    type: hangup
  - id: failed
    type: hangup
""")
    return load_flow(path)


def run_node(tmp_path: Path, url: str) -> tuple[Any, str | None]:
    """The flow's webhook node performed for real: the step after it, and the error reported."""
    flow = flow_calling(tmp_path, url)
    step = start(flow, {}, "voice")
    [request] = [output for output in step.outputs if isinstance(output, HttpRequest)]
    given, error = http_client.perform(request)
    return resume(flow, step.state, given), error


# ---- no request arrives ----------------------------------------------------------------------------


def test_a_flow_webhook_node_never_reaches_the_listener(tmp_path: Path, listener: Listener, redirector: int,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    for url in [*spellings(listener.port), "file:///etc/passwd", "gopher://127.0.0.1/x"]:
        step, error = run_node(tmp_path, url)
        assert error is not None and " refused: " in error, (url, error)
        assert step.ended and step.state["node"] == "failed", url  # the failure exit, no traceback
    monkeypatch.setenv(ALLOW, f"127.0.0.1:{redirector}")  # the redirector is trusted; where it points is not
    step, error = run_node(tmp_path, f"http://127.0.0.1:{redirector}/start")
    assert error is not None and "redirect to" in error and "loopback" in error
    assert listener.accepted == 0


def test_a_webhook_delivery_never_reaches_the_listener(sessions: sessionmaker[Session], listener: Listener,
                                                       redirector: int, monkeypatch: pytest.MonkeyPatch) -> None:
    account = new_account(sessions)
    urls = [*spellings(listener.port), "file:///etc/passwd"]
    for url in urls:
        subscribe(sessions, account, ["*"], url=url)
    with sessions.begin() as session:
        emit(session, account, "call.ended", {"call_id": "c-1"})
    report = deliver_due(sessions)
    assert (report.attempted, report.retrying, report.delivered) == (len(urls), len(urls), 0)
    with sessions() as session:
        errors = [row.last_error or "" for row in session.query(WebhookDelivery)]
    assert len(errors) == len(urls) and all(error.startswith(("destination ", "only http")) for error in errors), errors
    monkeypatch.setenv(ALLOW, f"127.0.0.1:{redirector}")
    subscribe(sessions, account, ["call.ended"], url=f"http://127.0.0.1:{redirector}/hook")
    with sessions.begin() as session:
        emit(session, account, "call.ended", {"call_id": "c-2"})
    later = datetime.now(timezone.utc) + timedelta(days=1)  # every earlier delivery is due again too
    deliver_due(sessions, now=later)
    with sessions() as session:
        codes = [row.last_status_code for row in session.query(WebhookDelivery) if row.last_status_code]
    assert codes == [302]  # the trusted endpoint answered with a redirect: a failure, not followed
    assert listener.accepted == 0


def test_the_metadata_address_is_refused_before_any_connection_attempt() -> None:
    attempts: list[Any] = []

    def opener(resolved: Any, timeout: float) -> socket.socket:
        attempts.append(resolved)
        raise AssertionError("no connection may be attempted")

    for host in ("169.254.169.254", "[::ffff:169.254.169.254]", "[fe80::1]"):
        with pytest.raises(OutboundRequestRefused, match="link-local"):
            outbound_http.request("GET", f"http://{host}/latest/meta-data/", open_socket=opener)
    assert attempts == []


def test_every_resolved_address_must_be_permitted() -> None:
    def resolver(host: str, port: int) -> list[Any]:  # a public answer and a private one
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, ("93.184.216.34", port)),
                (socket.AF_INET, socket.SOCK_STREAM, 6, ("10.0.0.7", port))]

    with pytest.raises(OutboundRequestRefused, match=r"mixed\.example \(10\.0\.0\.7\) refused: a private"):
        outbound_http.request("GET", "http://mixed.example/", resolve=resolver)


# ---- address classes ------------------------------------------------------------------------------


@pytest.mark.parametrize(("address", "reason"), [
    ("127.0.0.1", "loopback"), ("127.255.0.9", "loopback"), ("::1", "loopback"), ("0.0.0.0", "unspecified"),
    ("::", "unspecified"), ("10.1.2.3", "private"), ("172.16.0.1", "private"), ("192.168.0.1", "private"),
    ("fd00::1", "private"), ("169.254.169.254", "link-local"), ("fe80::1", "link-local"),
    ("224.0.0.1", "multicast"), ("ff02::1", "multicast"), ("100.64.0.1", "shared"), ("255.255.255.255", "broadcast"),
    ("240.0.0.1", "reserved"), ("192.0.2.1", "private"), ("::ffff:10.0.0.1", "private"),
    ("::127.0.0.1", "loopback"), ("64:ff9b::a9fe:a9fe", "link-local"), ("2002:7f00:1::", "loopback"),
])
def test_internal_addresses_are_refused(address: str, reason: str) -> None:
    assert reason in (refusal_reason(ipaddress.ip_address(address)) or "")


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8"])
def test_public_addresses_are_permitted(address: str) -> None:
    assert refusal_reason(ipaddress.ip_address(address)) is None


def test_the_allow_list() -> None:
    policy = OutboundPolicy.parse(" 10.0.0.0/8, 127.0.0.1:8080 ,[::1]:9000, hooks.corp.example, *.lab.example:8443 ")
    loopback, ten, six = ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("10.9.8.7"), ipaddress.ip_address("::1")
    assert policy.refusal("anything", ten, 1234) is None
    assert policy.refusal("127.0.0.1", loopback, 8080) is None and policy.refusal("127.0.0.1", loopback, 8081)
    assert policy.refusal("::1", six, 9000) is None and policy.refusal("::1", six, 9001)
    assert policy.refusal("hooks.corp.example", loopback, 1) is None and policy.refusal("corp.example", loopback, 1)
    assert policy.refusal("a.b.lab.example", loopback, 8443) is None and policy.refusal("a.lab.example", loopback, 80)
    assert policy.refusal("lab.example", loopback, 8443)
    for bad in ("10.0.0.0/33", "host:port", "bad host", "[::1]x", "a..b"):
        with pytest.raises(ValueError, match=ALLOW):
            OutboundPolicy.parse(bad)


def test_literal_refusal_needs_no_dns() -> None:
    assert "loopback" in (literal_refusal("http://2130706433/") or "")
    assert "loopback" in (literal_refusal("http://api.localhost/") or "")
    assert "only http" in (literal_refusal("file:///etc/passwd") or "")
    assert literal_refusal("https://hooks.example.com/x") is None  # names are checked when requested
    assert literal_refusal("http://127.0.0.1:8080/", OutboundPolicy.parse("127.0.0.1")) is None


# ---- what is permitted, and how ----------------------------------------------------------------


def test_the_connection_is_pinned_to_the_checked_address(listener: Listener) -> None:
    """The name is resolved once; the socket goes to that address; Host keeps the name."""
    resolved: list[str] = []
    connected: list[Any] = []

    def resolver(host: str, port: int) -> list[Any]:
        resolved.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, ("93.184.216.34", port))]  # public: passes the check

    def opener(candidate: Any, timeout: float) -> socket.socket:
        connected.append(candidate[3])
        return socket.create_connection(("127.0.0.1", listener.port), timeout)  # stands in for the address

    response = outbound_http.request("GET", "http://hooks.example.com:8443/x?y=1", resolve=resolver, open_socket=opener)
    assert response.status == 200 and response.body == b"ok"
    assert resolved == ["hooks.example.com"] and connected == [("93.184.216.34", 8443)]
    [head] = listener.heads
    assert head.startswith(b"GET /x?y=1 HTTP/1.1\r\n") and b"\r\nHost: hooks.example.com:8443\r\n" in head


def test_redirects_are_followed_checked_and_limited(allow_local_outbound: None) -> None:
    seen: list[tuple[str, str, str]] = []

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        path = environ["PATH_INFO"]
        seen.append((environ["REQUEST_METHOD"], path, environ.get("HTTP_AUTHORIZATION", "")))
        if path.startswith("/hop"):
            start_response("302 Found", [("Location", f"/hop{int(path[4:]) + 1}" if path != "/hop2" else "/end")])
            return [b""]
        if path == "/loop":
            start_response("307 Temporary Redirect", [("Location", "/loop")])
            return [b""]
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"done"]

    server = WSGIServer(("127.0.0.1", 0), app, log=None)
    server.start()
    try:
        base = f"http://127.0.0.1:{server.server_port}"
        response = outbound_http.request("POST", f"{base}/hop0", body=b"{}", headers={"Authorization": "Bearer t"})
        assert (response.status, response.body, response.url) == (200, b"done", f"{base}/end")
        assert seen == [("POST", "/hop0", "Bearer t"), ("GET", "/hop1", "Bearer t"), ("GET", "/hop2", "Bearer t"),
                        ("GET", "/end", "Bearer t")]  # same origin: credentials kept; POST became GET after a 302
        seen.clear()
        with pytest.raises(OutboundRequestFailed, match="more than 3 redirects"):
            outbound_http.request("GET", f"{base}/loop")
        assert len(seen) == 1 + limits.current().max_outbound_redirects
        assert outbound_http.request("GET", f"{base}/loop", follow_redirects=False).status == 307
    finally:
        server.stop()


def test_the_response_size_and_the_total_time_are_capped(allow_local_outbound: None,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    def app(environ: dict[str, Any], start_response: Any) -> Iterator[bytes]:
        start_response("200 OK", [])
        if environ["PATH_INFO"] == "/big":
            yield b"x" * 300_000
            return
        for _ in range(10_000):  # a byte at a time, never idle long enough for a per-read timeout
            gevent.sleep(0.02)
            yield b"x"

    server = WSGIServer(("127.0.0.1", 0), app, log=None)
    server.start()
    monkeypatch.setenv("VOICEPLATFORM_LIMIT_MAX_OUTBOUND_RESPONSE_BYTES", "1000")
    monkeypatch.setenv("VOICEPLATFORM_LIMIT_MAX_OUTBOUND_SECONDS", "0.5")
    limits.reload()
    try:
        base = f"http://127.0.0.1:{server.server_port}"
        response = outbound_http.request("GET", f"{base}/big")
        assert (len(response.body), response.truncated) == (1000, True)
        started = gevent.get_hub().loop.now()
        with pytest.raises(OutboundRequestFailed, match="timed out after 0.5 s"):
            outbound_http.request("GET", f"{base}/drip", timeout=60)  # a flow asking for more gets the limit
        assert gevent.get_hub().loop.now() - started < 5  # generous: the cap is 0.5 s, the drip would take 200 s
    finally:
        monkeypatch.undo()
        limits.reload()
        server.stop()


def test_a_refused_port_and_a_closed_port_read_the_same(allow_local_outbound: None) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(OutboundRequestFailed) as closed:
        outbound_http.request("GET", f"http://127.0.0.1:{port}/")

    def filtered(candidate: Any, timeout: float) -> socket.socket:
        raise socket.timeout("timed out")

    with pytest.raises(OutboundRequestFailed) as silent:
        outbound_http.request("GET", f"http://127.0.0.1:{port}/", open_socket=filtered)
    assert str(closed.value) == str(silent.value) == f"could not connect to 127.0.0.1:{port}"


def test_flow_headers_cannot_override_host_or_length(allow_local_outbound: None, listener: Listener) -> None:
    outbound_http.request("POST", f"http://127.0.0.1:{listener.port}/", body=b"abc",
                          headers={"Host": "internal.admin", "Content-Length": "0", "X-Ok": "1"})
    head = listener.heads[0].decode()
    assert "Host: internal.admin" not in head and "Content-Length: 0" not in head and "Content-Length: 3" in head
    assert "X-Ok: 1" in head
    with pytest.raises(OutboundRequestRefused, match="malformed"):
        outbound_http.request("GET", f"http://127.0.0.1:{listener.port}/", headers={"X-Bad": "a\r\nInjected: 1"})


def test_tls_uses_the_url_host_name_for_sni_and_the_certificate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cert, key = _self_signed(tmp_path, "hooks.example.com")
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(cert, key)
    names: list[str | None] = []
    server_context.sni_callback = lambda sock, name, context: names.append(name)  # type: ignore[assignment,func-returns-value]

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [])
        return [environ.get("HTTP_HOST", "").encode()]

    server = WSGIServer(("127.0.0.1", 0), app, log=None, ssl_context=server_context)
    server.start()
    client_context = ssl.create_default_context(cafile=str(cert))
    monkeypatch.setattr(outbound_http, "_tls_context", lambda: client_context)
    monkeypatch.setenv(ALLOW, "127.0.0.1")

    def resolver(host: str, port: int) -> list[Any]:
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, ("127.0.0.1", port))]

    try:
        url = f"https://hooks.example.com:{server.server_port}/"
        response = outbound_http.request("GET", url, resolve=resolver)
        assert response.status == 200 and response.body == f"hooks.example.com:{server.server_port}".encode()
        assert names == ["hooks.example.com"]
        with pytest.raises(OutboundRequestFailed, match="certificate of other.example.com was not accepted"):
            outbound_http.request("GET", f"https://other.example.com:{server.server_port}/", resolve=resolver)
    finally:
        server.stop()


def _self_signed(folder: Path, name: str) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(timezone.utc)
    certificate = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
                   .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=1))
                   .not_valid_after(now + timedelta(days=1))
                   .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
                   .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                   .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path
