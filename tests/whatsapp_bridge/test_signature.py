"""The webhook signature is checked over the exact bytes sent: Meta's escaped-unicode JSON
(``ensure_ascii=True``) with emoji, Arabic and ``@``; re-serialising breaks it."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path

import pytest

from whatsapp_bridge.signature import HEADER_CHARS, sign, verify

SECRET = "app-secret-😀"
PAYLOAD = json.loads((Path(__file__).parent / "payloads" / "text_unicode.json").read_text("utf-8"))
BODY = json.dumps(PAYLOAD, ensure_ascii=True, separators=(",", ":")).encode("ascii")


def test_sign_is_lowercase_hex_of_the_hmac() -> None:
    header = sign(SECRET, BODY)
    assert len(header) == HEADER_CHARS == 71
    assert header == "sha256=" + hmac.new(SECRET.encode(), BODY, hashlib.sha256).hexdigest()
    assert header[7:] == header[7:].lower()


def test_unicode_payload_verifies_over_the_exact_escaped_bytes() -> None:
    assert b"\\u0645" in BODY and b"\\ud83d" in BODY and b"@" in BODY  # Arabic, emoji, @ as Meta sends them
    header = sign(SECRET, BODY)
    assert verify(SECRET, BODY, header)
    reserialised = json.dumps(json.loads(BODY), ensure_ascii=False).encode("utf-8")
    assert not verify(SECRET, reserialised, header)  # the pitfall: parse and dump again
    assert not verify(SECRET, BODY + b" ", header)


@pytest.mark.parametrize("header", [None, "", "sha256=", "sha1=" + "0" * 64, "sha256=" + "0" * 63,
                                    "sha256=" + "0" * 65, 42, "sha256=" + "é" * 64])
def test_malformed_or_missing_headers_fail(header: object) -> None:
    assert not verify(SECRET, BODY, header)  # type: ignore[arg-type]


def test_uppercase_hex_wrong_secret_and_empty_secret_fail() -> None:
    header = sign(SECRET, BODY)
    assert not verify(SECRET, BODY, "sha256=" + header[7:].upper())
    assert not verify("other", BODY, header)
    assert not verify("", BODY, sign("", BODY))
    assert verify(SECRET.encode(), BODY, header)  # bytes secret
