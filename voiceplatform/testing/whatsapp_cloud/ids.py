"""Identifiers shaped like Meta's: wamids (``wamid.HBgL…``, at most 128 characters), media ids
(digits) and business-scoped user ids (``US.13491208655302741918``)."""

from __future__ import annotations

import base64
import hashlib
import itertools
import secrets

import phonenumbers

MAX_WAMID_LENGTH = 128
_media_counter = itertools.count(1)


def wamid(wa_id: str) -> str:
    """A message id: like Meta's, base64 of a protobuf-ish blob naming the user, then random."""
    blob = b"\x1c\x18" + bytes([len(wa_id) % 256]) + wa_id.encode("ascii", "replace") + b"\x15\x02\x00\x11\x18\x12"
    blob += secrets.token_hex(9).upper().encode("ascii") + b"\x00"
    value = "wamid." + base64.b64encode(blob).decode("ascii")
    return value[:MAX_WAMID_LENGTH]


def media_id() -> str:
    return str(10**15 + next(_media_counter) * 7919 + secrets.randbelow(7919))


def bsuid_for_phone(wa_id: str) -> str:
    """A stable business-scoped user id for a phone number: its region, a dot, 19 digits."""
    try:
        parsed = phonenumbers.parse("+" + wa_id)
        region = phonenumbers.region_code_for_country_code(parsed.country_code or 0) or "ZZ"
    except phonenumbers.NumberParseException:
        region = "ZZ"
    if region == "001" or len(region) != 2:
        region = "ZZ"
    digits = str(int.from_bytes(hashlib.sha256(wa_id.encode()).digest()[:8], "big")).rjust(19, "0")[:19]
    return f"{region}.{digits}"
