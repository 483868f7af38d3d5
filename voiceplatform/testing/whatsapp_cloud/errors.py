"""Meta's Graph API error bodies and the WhatsApp error codes the contract server answers with.

Shape (Meta's error-codes page; ycloud's error examples)::

    {"error": {"message": "(#131056) (Business Account, Consumer Account) pair rate limit hit",
               "type": "OAuthException", "code": 131056,
               "error_data": {"messaging_product": "whatsapp", "details": "..."},
               "fbtrace_id": "A4O5..."}}

The same code reaches a webhook as ``statuses[].errors[]`` ({code, title, message,
error_data: {details}, href}) when it is reported asynchronously (:func:`status_error`).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

ERROR_CODES_HREF = "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/"


@dataclass(frozen=True)
class ErrorCode:
    code: int
    title: str
    http_status: int = 400


#: the codes the server emits, with Meta's titles
CODES: dict[int, ErrorCode] = {c.code: c for c in (
    ErrorCode(0, "AuthException", 401),
    ErrorCode(100, "Invalid parameter"),
    ErrorCode(190, "Invalid OAuth access token - Cannot parse access token", 401),
    ErrorCode(130429, "Rate limit hit"),
    ErrorCode(131008, "Required parameter is missing"),
    ErrorCode(131009, "Parameter value is not valid"),
    ErrorCode(131026, "Message undeliverable"),
    ErrorCode(131047, "Re-engagement message"),
    ErrorCode(131053, "Media upload error"),
    ErrorCode(131056, "(Business Account, Consumer Account) pair rate limit hit"),
    ErrorCode(131057, "Account in maintenance mode"),
    ErrorCode(132000, "Number of parameters does not match the expected number of params"),
    ErrorCode(132001, "Template name does not exist in the translation"),
    ErrorCode(132015, "Template is Paused"),
    ErrorCode(132016, "Template is Disabled"),
)}


def describe(code: int) -> ErrorCode:
    return CODES.get(code, ErrorCode(code, f"Error {code}"))


class CloudApiError(Exception):
    """A request Meta would refuse: ``code`` (one of :data:`CODES`), ``details`` (the
    ``error_data.details`` text), the HTTP status (Meta's for that code unless given)."""

    def __init__(self, code: int, details: str, *, http_status: int | None = None,
                 error_type: str = "OAuthException") -> None:
        self.code = code
        self.details = details
        self.http_status = http_status if http_status is not None else describe(code).http_status
        self.error_type = error_type
        super().__init__(f"({code}) {details}")

    @property
    def title(self) -> str:
        return describe(self.code).title

    def body(self) -> dict[str, Any]:
        return error_body(self.code, self.details, error_type=self.error_type)


def fbtrace_id() -> str:
    return "A" + secrets.token_urlsafe(16)[:22]


def error_body(code: int, details: str, *, error_type: str = "OAuthException") -> dict[str, Any]:
    """The synchronous error body Meta answers with."""
    return {"error": {
        "message": f"(#{code}) {describe(code).title}",
        "type": error_type,
        "code": code,
        "error_data": {"messaging_product": "whatsapp", "details": details},
        "fbtrace_id": fbtrace_id(),
    }}


def status_error(code: int, details: str) -> dict[str, Any]:
    """One entry of a ``failed`` status's ``errors[]`` (and of ``value.errors[]``)."""
    title = describe(code).title
    return {"code": code, "title": title, "message": title,
            "error_data": {"details": details}, "href": ERROR_CODES_HREF}
