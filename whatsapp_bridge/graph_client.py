"""The sender's HTTP client for the Graph API (WhatsApp Cloud API), on ``httpx.Client``.

* **An explicit base URL** with the version (``https://graph.facebook.com/v23.0``, or the contract
  server's ``http://127.0.0.1:PORT/v23.0``), a bearer token, connect and read timeouts. Tests
  pass an ``httpx.MockTransport``.
* **Errors are classified** (:mod:`whatsapp_bridge.errors`): an HTTP answer with an error is a
  :class:`GraphError` subclass (throttled → ``Retry.LATER``, transient → ``SOON``, the rest
  ``NEVER``); no answer is :class:`GraphUnreachable` (``SOON``). httpx's errors are translated
  here, ``raise ... from`` keeping the cause.
* **A send may have happened without us knowing** (:class:`SendUnconfirmed`): once the request
  was written, a read timeout, a dropped connection or a 2xx without a wamid does not say whether
  Meta took it. The sender must not resend blindly (the webhook's statuses may settle it), as the
  SMS bridge's "unknown". A connect timeout or refused connection sent nothing.
* Answers are read up to :data:`MAX_ANSWER_BYTES` (a media download up to its ``max_bytes``).
* ``templates`` follows ``paging.next`` only on the base URL's own origin (the token goes with
  every request), at most ``max_template_pages`` pages.
"""

from __future__ import annotations

import json
import queue
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Mapping

import httpx

from voiceplatform.flow.whatsapp_templates import TemplateInfo, TemplateRecordError, template_from_graph
from whatsapp_bridge.errors import (GraphProtocolError, GraphUnreachable, MediaTooLargeError, SendUnconfirmed,
                                    WhatsAppPayloadError, graph_error)
from whatsapp_bridge.messages import MarkRead, Message

MAX_ANSWER_BYTES = 4 * 1024 * 1024  # a Graph answer (a page of templates is the largest)
PATH_SEGMENT = re.compile(r"[A-Za-z0-9_-]{1,128}")  # a phone number id, a WABA id, a media id
TEMPLATE_FIELDS = "id,name,language,status,category,components"
TEMPLATE_PAGE_SIZE = 100
#: requests at once, and connections kept open, per client: one lane each (an ``httpx.Client``
#: whose pool holds one connection), handed out last-in first-out so a quiet client keeps using
#: the same few connections. The sender has up to ``max_in_flight`` (500) sends at once: they wait
#: for a lane here, not in httpcore's pool. That pool's hand-out of a freed connection looks at
#: every waiting request against every connection (with 500 waiting: 16.8 M
#: ``can_handle_request`` calls in a benchmark run), and with the waiting capped but 64
#: connections in one pool it still checked every idle connection's socket on each hand-out
#: (``is_socket_readable``: a poll, which under gevent is a trip through the hub; 97,000 of them
#: for 1,200 sends, most of the process's CPU). A lane's pool checks its one connection.
CONNECTIONS = 64
# Raised before the request was written: nothing was sent.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol,
             httpx.ProxyError, httpx.InvalidURL)


@dataclass(frozen=True, slots=True)
class SendResult:
    """Meta's answer to a send: the message's ``wamid``, the user's ``wa_id`` and BSUID
    (``user_id``) as Meta knows them, ``message_status`` (templates only: ``accepted`` or
    ``held_for_quality_assessment``)."""

    wamid: str
    wa_id: str | None = None
    user_id: str | None = None
    message_status: str | None = None


@dataclass(frozen=True, slots=True)
class MediaInfo:
    id: str
    url: str
    mime_type: str | None = None
    sha256: str | None = None
    file_size: int | None = None


@dataclass(frozen=True, slots=True)
class TemplateRecord:
    """One translation of a template as the Graph API lists it (category and status upper case)."""

    name: str
    language: str
    status: str
    category: str
    body_params: int  # distinct {{n}} / {{name}} placeholders of the BODY component
    quick_replies: tuple[str, ...]  # the QUICK_REPLY buttons' texts, in order
    id: str | None = None

    def info(self) -> TemplateInfo:
        """As the flow validator's catalog holds it (``voiceplatform.flow.whatsapp_templates``)."""
        return TemplateInfo(self.name, self.language, self.category, self.status, self.body_params,
                            self.quick_replies)


def _segment(value: object, field: str) -> str:
    if not isinstance(value, str) or not PATH_SEGMENT.fullmatch(value):
        raise WhatsAppPayloadError(f"{field} must be an id of letters, digits, _ or -", field)
    return value


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


class GraphClient:
    """One token's client of one Graph API base URL, shared by the greenlets that send at once:
    each request takes one of its ``connections`` lanes (see :data:`CONNECTIONS`)."""

    def __init__(self, base_url: str, token: str, *, connect_timeout: float = 5.0, read_timeout: float = 20.0,
                 transport: httpx.BaseTransport | None = None, max_template_pages: int = 50,
                 template_page_size: int = TEMPLATE_PAGE_SIZE, connections: int = CONNECTIONS) -> None:
        base = httpx.URL(base_url)
        if base.scheme not in ("http", "https") or not base.host:
            raise WhatsAppPayloadError("the Graph API base URL must be http(s)://host[:port]/vNN.N", "base_url")
        if not token or not isinstance(token, str) or any(ch in token for ch in "\r\n"):
            raise WhatsAppPayloadError("the Graph API token must be a non-empty single line", "token")
        self.base_url = base
        self.max_template_pages = max_template_pages
        self.template_page_size = template_page_size
        self._lane_timeout = connect_timeout + read_timeout  # what one request in the way can take
        tls = httpx.create_ssl_context()  # one for every lane (httpx's defaults): each made its own (~60 ms)
        self._lanes: list[httpx.Client] = [httpx.Client(
            base_url=base, transport=transport, follow_redirects=False, verify=tls,
            limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
            timeout=httpx.Timeout(read_timeout, connect=connect_timeout, pool=connect_timeout),
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"}) for _ in range(connections)]
        self._free: queue.LifoQueue[httpx.Client] = queue.LifoQueue()  # gevent's under monkey-patching
        for lane in reversed(self._lanes):
            self._free.put(lane)

    def close(self) -> None:
        for lane in self._lanes:
            lane.close()

    @contextmanager
    def _lane(self) -> Iterator[httpx.Client]:
        """A free lane for one request, waited for at most connect + read timeout (then
        :class:`GraphUnreachable`: nothing was sent)."""
        try:
            lane = self._free.get(timeout=self._lane_timeout)
        except queue.Empty:
            raise GraphUnreachable(f"no connection to the Graph API became free in {self._lane_timeout:g} s") from None
        try:
            yield lane
        finally:
            self._free.put(lane)

    def __enter__(self) -> GraphClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- sending -----------------------------------------------------------------------------------

    def send(self, phone_number_id: str, payload: Mapping[str, Any]) -> SendResult:
        """POST ``payload`` (a message's ``to_json(recipient)``) to ``/{phone_number_id}/messages``."""
        path = f"{_segment(phone_number_id, 'phone_number_id')}/messages"
        answer = self._call("POST", path, body=payload, sending=True)
        messages = answer.get("messages")
        first = messages[0] if isinstance(messages, list) and messages and isinstance(messages[0], Mapping) else {}
        wamid = _text(first.get("id"))
        if not wamid:
            raise SendUnconfirmed("the Graph API answered the send with no message id: it may have been sent")
        contacts = answer.get("contacts")
        contact = contacts[0] if isinstance(contacts, list) and contacts and isinstance(contacts[0], Mapping) else {}
        return SendResult(wamid, _text(contact.get("wa_id")), _text(contact.get("user_id")),
                          _text(first.get("message_status")))

    def send_message(self, phone_number_id: str, message: Message, recipient: str) -> SendResult:
        return self.send(phone_number_id, message.to_json(recipient))

    def mark_read(self, phone_number_id: str, message_id: str) -> None:
        """Mark the inbound message ``message_id`` read (repeating it is harmless)."""
        path = f"{_segment(phone_number_id, 'phone_number_id')}/messages"
        self._call("POST", path, body=MarkRead(message_id).to_json())

    # ---- media ---------------------------------------------------------------------------------------

    def media_info(self, media_id: str) -> MediaInfo:
        """``GET /{media_id}``: where an inbound media's bytes are (the URL needs the token too)."""
        answer = self._call("GET", _segment(media_id, "media_id"))
        url = _text(answer.get("url"))
        if not url:
            raise GraphProtocolError(f"the Graph API gave no url for media {media_id}")
        size = answer.get("file_size")
        return MediaInfo(_text(answer.get("id")) or media_id, url, _text(answer.get("mime_type")),
                         _text(answer.get("sha256")),
                         size if isinstance(size, int) and not isinstance(size, bool) else None)

    def download(self, url: str, max_bytes: int) -> bytes:
        """The bytes at ``url`` (a :meth:`media_info` URL), with the token; refuses more than
        ``max_bytes`` (:class:`MediaTooLargeError`) before reading past it."""
        target = httpx.URL(url)
        if target.scheme not in ("http", "https") or not target.host:
            raise WhatsAppPayloadError("a media URL must be http(s)", "url")
        try:
            with self._lane() as http, http.stream("GET", target) as response:
                declared = response.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > max_bytes:
                    raise MediaTooLargeError(f"the media is {declared} bytes, more than {max_bytes}", "media")
                chunks: list[bytes] = []
                size = 0
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > max_bytes:
                        raise MediaTooLargeError(f"the media is more than {max_bytes} bytes", "media")
                    chunks.append(chunk)
                content = b"".join(chunks)
                status = response.status_code
        except httpx.HTTPError as exc:
            raise GraphUnreachable(f"the media download failed: {type(exc).__name__}: {exc}") from exc
        if not 200 <= status < 300:
            raise graph_error(status, _decoded(content), content[:500].decode("utf-8", "replace"))
        return content

    # ---- templates -----------------------------------------------------------------------------------

    def templates(self, waba_id: str) -> list[TemplateRecord]:
        """Every template translation of the WhatsApp Business Account ``waba_id``, following
        ``paging.next``. A record that is not a template's shape is left out."""
        records: list[TemplateRecord] = []
        url: httpx.URL | str = f"{_segment(waba_id, 'waba_id')}/message_templates"
        params: dict[str, Any] | None = {"fields": TEMPLATE_FIELDS, "limit": self.template_page_size}
        seen: set[str] = set()
        for _page in range(self.max_template_pages):
            answer = self._call("GET", url, params=params)
            data = answer.get("data")
            for position, raw in enumerate(data if isinstance(data, list) else []):
                try:
                    info = template_from_graph(raw, position)
                except TemplateRecordError:
                    continue
                records.append(TemplateRecord(info.name, info.language, info.status, info.category, info.body_params,
                                              info.quick_replies, _text(raw.get("id"))))
            paging = answer.get("paging")
            following = _text(paging.get("next")) if isinstance(paging, Mapping) else None
            if not following or not data or following in seen:
                return records
            seen.add(following)
            url, params = self._same_origin(following), None
        raise GraphProtocolError(f"the templates of {waba_id} run past {self.max_template_pages} pages")

    def _same_origin(self, link: str) -> httpx.URL:
        target = httpx.URL(link)
        base = self.base_url
        if (target.scheme, target.host, target.port) != (base.scheme, base.host, base.port):
            raise GraphProtocolError(f"paging.next leads off the Graph API's origin: {link[:80]!r}")
        return target

    # ---- one request ---------------------------------------------------------------------------------

    def _call(self, method: str, url: httpx.URL | str, *, body: Mapping[str, Any] | None = None,
              params: Mapping[str, Any] | None = None, sending: bool = False) -> Mapping[str, Any]:
        """One request; its JSON answer (an object) on 2xx, else the classified error."""
        content = None
        headers = {}
        if body is not None:
            content = json.dumps(body, ensure_ascii=True, separators=(",", ":")).encode("ascii")
            headers["Content-Type"] = "application/json"
        try:
            with self._lane() as http, http.stream(method, url, content=content, params=params,
                                                   headers=headers) as response:
                status = response.status_code
                raw = _read_capped(response, MAX_ANSWER_BYTES)
        except _NOT_SENT as exc:
            raise GraphUnreachable(f"the Graph API could not be reached: {type(exc).__name__}: {exc}") from exc
        except httpx.HTTPError as exc:
            if sending:
                raise SendUnconfirmed(f"no answer to the send ({type(exc).__name__}: {exc}): it may have been "
                                      "sent") from exc
            raise GraphUnreachable(f"no answer from the Graph API: {type(exc).__name__}: {exc}") from exc
        decoded = _decoded(raw) if raw is not None else None
        text = (raw or b"")[:500].decode("utf-8", "replace")
        if not 200 <= status < 300:
            raise graph_error(status, decoded, text)
        if not isinstance(decoded, Mapping):
            if sending:
                raise SendUnconfirmed(f"the send's HTTP {status} answer is not a JSON object: it may have been sent")
            raise GraphProtocolError(f"the Graph API's HTTP {status} answer is not a JSON object: {text[:80]!r}")
        return decoded


def _read_capped(response: httpx.Response, limit: int) -> bytes | None:
    """The answer's bytes, or None when it runs past ``limit`` (it is then not a Graph answer)."""
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _decoded(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        return None
