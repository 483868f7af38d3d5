"""Short-lived signed media URLs.

A URL names the recording, a purpose (``listen`` or ``download``), an expiry (Unix seconds), the
user it was issued to and a random nonce, and carries an HMAC-SHA256 of all of them under a key
derived from the secret key. The media route refuses (403) a URL that has expired, whose
signature does not match, or that was issued to somebody else. The nonce tells one issued URL
from another, so the audit log records one listen per URL however many range requests it serves.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Mapping

PURPOSES = ("listen", "download")
DEFAULT_SECONDS = 300  # how long a media URL works


class BadSignature(Exception):
    """The URL was altered, or was never issued by us."""


class Expired(Exception):
    """The URL was genuine but its time is up."""


@dataclass(frozen=True)
class MediaGrant:
    recording_id: int
    purpose: str
    expires: int
    user_id: int
    nonce: str

    def message(self) -> bytes:
        return f"v1\n{self.recording_id}\n{self.purpose}\n{self.expires}\n{self.user_id}\n{self.nonce}".encode()

    def signature(self, key: bytes) -> str:
        return hmac.new(key, self.message(), hashlib.sha256).hexdigest()

    def query(self, key: bytes) -> dict[str, str]:
        return {"p": self.purpose, "e": str(self.expires), "u": str(self.user_id), "n": self.nonce, "s": self.signature(key)}


def issue(key: bytes, recording_id: int, purpose: str, user_id: int, now: float, seconds: int = DEFAULT_SECONDS) -> MediaGrant:
    if purpose not in PURPOSES:
        raise ValueError(f"unknown purpose {purpose!r}")
    return MediaGrant(recording_id, purpose, int(now) + seconds, user_id, secrets.token_urlsafe(12))


def verify(key: bytes, recording_id: int, args: Mapping[str, str], now: float) -> MediaGrant:
    """The grant in a URL's query ``args``; raises BadSignature or Expired."""
    try:
        grant = MediaGrant(recording_id, args["p"], int(args["e"]), int(args["u"]), args["n"])
        given = args["s"]
    except (KeyError, ValueError) as exc:
        raise BadSignature("the URL is incomplete") from exc
    if grant.purpose not in PURPOSES or not hmac.compare_digest(grant.signature(key), given):
        raise BadSignature("the signature does not match")
    if now >= grant.expires:
        raise Expired("the URL has expired")
    return grant
