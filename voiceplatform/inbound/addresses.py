"""One spelling per number: the platform's numbers and callers, normalised the same way at the
API (``POST /numbers``) and when a call comes in, so that "+1 202 555 0199", "12025550199" and
"+12025550199" are one number. Spaces, dashes and brackets are for people: the
stored number has none.

A number is either a phone number, stored as E.164 by :func:`voiceplatform.phone.to_e164`
(kind ``phone``), or a callee-style name such as the lab's ``answer-press-1`` (kind ``name``:
a letter, then letters, digits and ``-``, lower-cased). Either also passes the switch-value
validator (:func:`voiceplatform.safety.switch_values.destination`), since it is compared with
what a switch reports and may be dialled back.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from voiceplatform.exceptions import UnsafeValueError
from voiceplatform.phone import InvalidPhoneNumber, to_e164
from voiceplatform.safety import switch_values

_NAME = re.compile(r"[a-z][a-z0-9-]{0,63}")
_SHORT_CODE = re.compile(r"[0-9]{3,8}")  # an SMS short code: national digits, no "+" (kind short_code)
DEFAULT_REGION = "US"  # a national number without its country code is read as this region's


@dataclass(frozen=True)
class Address:
    number: str
    kind: str  # "phone", "short_code" or "name" (voiceplatform.models.numbers.KINDS)


def normalise(raw: str, region: str = DEFAULT_REGION) -> Address:
    """``raw`` in its one stored spelling. Raises InvalidPhoneNumber (neither a valid phone
    number nor a name) or UnsafeValueError (a value no switch may see)."""
    text = switch_values.plain_text(raw, "number", switch_values.MAX_NUMBER_CHARS).strip()
    lowered = text.lower()
    if _SHORT_CODE.fullmatch(text):
        return Address(switch_values.destination(text, "number"), "short_code")
    if _NAME.fullmatch(lowered):
        return Address(switch_values.destination(lowered, "number"), "name")
    return Address(switch_values.destination(to_e164(text, region), "number"), "phone")


def caller_number(raw: str | None, region: str = DEFAULT_REGION) -> str | None:
    """The caller's number as E.164, or None when it is not a phone number (anonymous, a SIP
    user name, empty): such a caller runs the flow without becoming a contact."""
    if not raw:
        return None
    try:
        address = normalise(raw, region)
    except (InvalidPhoneNumber, UnsafeValueError):
        return None
    return address.number if address.kind == "phone" else None
