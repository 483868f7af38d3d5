"""The WhatsApp bridge's errors, placed in the platform's one tree (:mod:`voiceplatform.exceptions`),
the Graph API's error body (:class:`GraphErrorBody`) and what a sender does about each error
(:func:`classify`: retry later, retry soon, never).

    InputRejectedError                 (voiceplatform.exceptions)
    ├── WhatsAppPayloadError           a value that cannot go into a Cloud API message (a body
    │                                  over 4096 characters, a fourth button, a title over 20...);
    │                                  .field names it
    └── MediaTooLargeError             a media download over its byte limit
    MessageRefusedError                (voiceplatform.exceptions)
    └── OutsideWindowError             a free-form message for a contact whose 24-hour window is
                                       closed and no template to send instead (code
                                       ``outside_window``): refused before anything is sent
    VoicePlatformError                 (voiceplatform.exceptions)
    └── WhatsAppSendError              the Graph API did not take a request; .retry says what to do
        ├── GraphError                 an HTTP answer with an error (.code, .type, .http_status...)
        │   ├── GraphThrottledError    throughput, pair rate or spam limits, HTTP 429: Retry.LATER
        │   ├── GraphTransientError    HTTP 5xx, codes 1, 2, 131053: Retry.SOON
        │   ├── ReengagementError      131047, the 24-hour window had closed (Meta's word on it):
        │   │                          Retry.NEVER, send a template instead
        │   ├── GraphAuthError         190 or HTTP 401/403: the token; Retry.NEVER
        │   └── GraphRejectedError     anything else (100, 131009, 132000...): Retry.NEVER
        ├── GraphProtocolError         an answer that is not the Graph API's (no JSON, no wamid
        │                              in a 2xx to a read request, a foreign paging link)
        └── GraphUnreachable           no HTTP answer (also OutboundRequestFailed): Retry.SOON
            └── SendUnconfirmed        the request was written but no answer was read (a read
                                       timeout, a dropped connection, a 2xx without a wamid):
                                       the message may have been sent. Like the SMS bridge's
                                       "unknown": do not resend blindly.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any, Mapping

from voiceplatform.exceptions import (InputRejectedError, MessageRefusedError, OutboundRequestFailed,
                                      VoicePlatformError)


class Retry(str, Enum):
    LATER = "later"  # throttled: back off (minutes, 4^n seconds for the pair limit)
    SOON = "soon"  # a transient fault: retry after a short backoff
    NEVER = "never"  # permanent for this message: record it as failed


#: Throughput, pair-rate and spam-rate codes (courier's list): retry later, with backoff.
THROTTLING_CODES = frozenset({4, 80007, 130429, 131048, 131056, 133016})
#: Transient codes: 1 (unknown API error), 2 (service temporarily unavailable), 131053 (media upload).
TRANSIENT_CODES = frozenset({1, 2, 131053})
REENGAGEMENT_CODE = 131047  # more than 24 hours since the user's last message
AUTH_CODE = 190  # access token expired or invalid


def classify(code: int | None, http_status: int | None) -> Retry:
    """What a sender does with an error of Graph ``code`` answered with ``http_status`` (None: no
    code in the body, or no HTTP answer at all, which is :attr:`Retry.SOON`)."""
    if http_status == 429 or code in THROTTLING_CODES:
        return Retry.LATER
    if code == REENGAGEMENT_CODE:
        return Retry.NEVER
    if code in TRANSIENT_CODES or http_status is None or 500 <= http_status <= 599:
        return Retry.SOON
    return Retry.NEVER


# ---- refused before sending ----------------------------------------------------------------------


class WhatsAppPayloadError(InputRejectedError):
    """A value that cannot go into a Cloud API message; ``field`` names it (``buttons[1].title``)."""

    code = "whatsapp_payload"


class MediaTooLargeError(InputRejectedError):
    code = "media_too_large"


class OutsideWindowError(MessageRefusedError):
    """A free-form message (text, buttons, a list, media) for a contact whose customer-service
    window is closed, with no template to send in its place."""

    def __init__(self, message: str) -> None:
        super().__init__("outside_window", message, field="template", status=422)


# ---- the Graph API did not take it -----------------------------------------------------------------


class WhatsAppSendError(VoicePlatformError):
    """The Graph API did not take a request. ``retry`` says what the sender does next."""

    retry: Retry = Retry.NEVER


@dataclass(frozen=True, slots=True)
class GraphErrorBody:
    """The ``error`` object of a Graph API answer (every field optional: a proxy's HTML page
    parses as an empty body with the start of its text as ``message``)."""

    code: int | None = None
    type: str | None = None
    message: str = ""
    details: str | None = None  # error_data.details
    subcode: int | None = None  # error_subcode
    fbtrace_id: str | None = None


MAX_MESSAGE_CHARS = 500  # of an error message kept (a proxy's page can be long)


def parse_error_body(body: Any, text: str = "") -> GraphErrorBody:
    """The ``error`` object of ``body`` (decoded JSON, anything) as a :class:`GraphErrorBody`;
    tolerant: wrong types are left out, ``text`` (the raw answer) stands in for a missing message."""
    error = body.get("error") if isinstance(body, Mapping) else None
    if not isinstance(error, Mapping):
        return GraphErrorBody(message=text[:MAX_MESSAGE_CHARS])
    data = error.get("error_data")
    details = data.get("details") if isinstance(data, Mapping) else None
    return GraphErrorBody(
        code=_int(error.get("code")),
        type=_str(error.get("type")),
        message=(_str(error.get("message")) or text)[:MAX_MESSAGE_CHARS],
        details=_str(details),
        subcode=_int(error.get("error_subcode")),
        fbtrace_id=_str(error.get("fbtrace_id")),
    )


class GraphError(WhatsAppSendError):
    """An HTTP answer carrying an error. Build with :func:`graph_error` (it picks the subclass)."""

    def __init__(self, body: GraphErrorBody, http_status: int) -> None:
        code = f"(#{body.code}) " if body.code is not None and f"#{body.code}" not in body.message else ""
        super().__init__(f"Graph API answered HTTP {http_status}: {code}{body.message}".rstrip())
        self.body = body
        self.http_status = http_status
        self.retry = classify(body.code, http_status)

    @property
    def code(self) -> int | None:
        return self.body.code

    @property
    def type(self) -> str | None:
        return self.body.type

    @property
    def details(self) -> str | None:
        return self.body.details

    @property
    def fbtrace_id(self) -> str | None:
        return self.body.fbtrace_id


class GraphThrottledError(GraphError):
    pass


class GraphTransientError(GraphError):
    pass


class ReengagementError(GraphError):
    """131047: Meta says the 24-hour window had closed. Never retried as it is; a template may be."""


class GraphAuthError(GraphError):
    """190 or HTTP 401/403: the access token is expired, revoked or lacks the permission."""


class GraphRejectedError(GraphError):
    """Any other error: the request itself is wrong for Meta (a parameter, a template, a number)."""


def graph_error(http_status: int, body: Any, text: str = "") -> GraphError:
    """The error for an HTTP answer ``http_status`` with decoded ``body`` (``text``: the raw body)."""
    parsed = parse_error_body(body, text)
    retry = classify(parsed.code, http_status)
    kind: type[GraphError]
    if retry is Retry.LATER:
        kind = GraphThrottledError
    elif retry is Retry.SOON:
        kind = GraphTransientError
    elif parsed.code == REENGAGEMENT_CODE:
        kind = ReengagementError
    elif parsed.code == AUTH_CODE or http_status in (401, 403):
        kind = GraphAuthError
    else:
        kind = GraphRejectedError
    return kind(parsed, http_status)


class GraphProtocolError(WhatsAppSendError):
    """An answer that is not what the Graph API gives (not JSON, a field of the wrong type)."""

    retry = Retry.SOON


class GraphUnreachable(WhatsAppSendError, OutboundRequestFailed):
    """No HTTP answer: the connection could not be made or the pool had no room (nothing sent)."""

    retry = Retry.SOON


class SendUnconfirmed(GraphUnreachable):
    """The request was written but no usable answer came back: Meta may have sent the message.
    The sender records the message as unconfirmed (the webhook's statuses may settle it) rather
    than sending it again."""


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit() and len(value) <= 12:
        return int(value)
    return None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None
