"""The webhook signature: ``X-Hub-Signature-256: sha256=<64 lowercase hex>``, an HMAC-SHA256 of
the **exact bytes** of the request body keyed with the app secret.

Verify the raw bytes as they came (Flask's ``request.get_data()``), never a re-serialised JSON:
Meta signs the escaped-unicode form of the payload (``ä`` as ``\\u00e4``), so parsing and dumping
again breaks the signature for ``@``, accents and emoji. The header must be exactly 71 characters
(courier's check); a missing header is a failed check, not a pass.
"""

from __future__ import annotations

import hashlib
import hmac

PREFIX = "sha256="
HEADER_CHARS = len(PREFIX) + 64  # 71
HEADER_NAME = "X-Hub-Signature-256"


def _key(secret: str | bytes) -> bytes:
    return secret.encode("utf-8") if isinstance(secret, str) else secret


def sign(secret: str | bytes, body: bytes) -> str:
    """The header value for ``body``: ``sha256=`` and the HMAC's 64 lowercase hex digits."""
    return PREFIX + hmac.new(_key(secret), body, hashlib.sha256).hexdigest()


def verify(secret: str | bytes, body: bytes, header: str | None) -> bool:
    """Whether ``header`` is the signature of ``body`` under ``secret``, compared in constant
    time. False for a missing header, one of another length or prefix, and for an empty secret
    (a bridge without its app secret must not accept anything)."""
    if not isinstance(header, str) or len(header) != HEADER_CHARS or not header.startswith(PREFIX):
        return False
    if not _key(secret) or not isinstance(body, (bytes, bytearray)):
        return False
    expected = sign(secret, bytes(body)).encode("ascii")
    try:
        given = header.encode("ascii")
    except UnicodeEncodeError:
        return False
    return hmac.compare_digest(expected, given)
