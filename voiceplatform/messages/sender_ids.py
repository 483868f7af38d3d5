"""What a sender ID may be: the ``from`` of an SMS that is not one of the account's numbers.

- **alphanumeric**: 1 to 11 characters of the GSM 03.38 default alphabet that are also printable
  ASCII (letters, digits, space and ``!"#$%&'()*+,-./:;<=>?@_``; no extension-table character,
  which costs two septets, and no line break), with at least one letter (spaces at either end are dropped).
  The bridge sends it with TON 5 (alphanumeric), NPI 0.
- **numeric**: 1 to 15 digits, ``+`` first for an international number (TON 1, NPI 1), else a
  short code or national number.
"""

from __future__ import annotations

import re
import string

from voiceplatform.exceptions import MessageRefusedError
from voiceplatform.text.sms_segments import GSM7_BASIC

ALPHANUMERIC = "alphanumeric"
NUMERIC = "numeric"
KINDS = (ALPHANUMERIC, NUMERIC)
MAX_ALPHANUMERIC = 11
MAX_DIGITS = 15
ALLOWED = frozenset(GSM7_BASIC & set(string.printable)) - set("\t\n\r\x0b\x0c")
_NUMERIC = re.compile(rf"\+?[0-9]{{1,{MAX_DIGITS}}}")


def parse_sender_id(raw: object, field: str = "sender") -> tuple[str, str]:
    """(sender ID, kind) for ``raw``; MessageRefusedError (400, ``invalid_sender_id``) naming
    what is wrong."""
    if not isinstance(raw, str):
        raise _refused("a sender ID is a string", field)
    value = raw.strip()
    if value.lstrip("+").isdigit() or value.startswith("+"):
        if not _NUMERIC.fullmatch(value):
            raise _refused(f"a numeric sender ID is 1 to {MAX_DIGITS} digits, '+' first for an international number", field)
        return value, NUMERIC
    if not value or len(value) > MAX_ALPHANUMERIC:
        raise _refused(f"an alphanumeric sender ID is 1 to {MAX_ALPHANUMERIC} characters", field)
    odd = sorted(set(value) - ALLOWED)
    if odd:
        raise _refused(f"an alphanumeric sender ID takes letters, digits, space and GSM-7 punctuation, not {odd}", field)
    if not any(character.isalpha() for character in value):
        raise _refused("an alphanumeric sender ID needs at least one letter", field)
    return value, ALPHANUMERIC


def _refused(message: str, field: str) -> MessageRefusedError:
    return MessageRefusedError("invalid_sender_id", message, field=field, status=400)
