"""Addresses on the SMPP wire: the type of number (TON) and numbering plan (NPI) a sender ID and
a destination go out with, and the platform's spelling of the addresses that come in.

| our sender | TON | NPI | on the wire |
| --- | --- | --- | --- |
| ``+E.164`` (a long code) | 1 international | 1 ISDN/E.164 | the digits, no ``+`` |
| 3 to 8 digits (a short code) | 3 network specific | 0 unknown | the digits |
| letters and digits, at most 11 (an alphanumeric sender ID) | 5 alphanumeric | 0 unknown | as given |

Destinations are E.164 (TON 1, NPI 1). A sender that is none of these is refused
(:class:`InvalidSenderError`), and so is a destination that is not E.164.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from voiceplatform.exceptions import InputRejectedError, UnsafeValueError
from voiceplatform.inbound.addresses import DEFAULT_REGION, normalise
from voiceplatform.phone import InvalidPhoneNumber

TON_UNKNOWN, TON_INTERNATIONAL, TON_NATIONAL, TON_NETWORK_SPECIFIC, TON_ALPHANUMERIC = 0, 1, 2, 3, 5
NPI_UNKNOWN, NPI_E164 = 0, 1
MAX_ALPHANUMERIC = 11

_E164 = re.compile(r"\+[1-9][0-9]{6,14}")
_SHORT_CODE = re.compile(r"[0-9]{3,8}")
# GSM 03.38 letters, digits, space and the few marks sender IDs use; at least one letter
_ALPHANUMERIC = re.compile(r"(?=.*[A-Za-z])[A-Za-z0-9 .&'_-]{1,11}")


class InvalidSenderError(InputRejectedError):
    code = "invalid_sender"


class InvalidDestinationError(InputRejectedError):
    code = "invalid_destination"


@dataclass(frozen=True, slots=True)
class WireAddress:
    ton: int
    npi: int
    address: str


def source_address(sender: str) -> WireAddress:
    """Our sender ID as it goes out (see the module's table)."""
    value = sender.strip()
    if _E164.fullmatch(value):
        return WireAddress(TON_INTERNATIONAL, NPI_E164, value[1:])
    if _SHORT_CODE.fullmatch(value):
        return WireAddress(TON_NETWORK_SPECIFIC, NPI_UNKNOWN, value)
    if _ALPHANUMERIC.fullmatch(value):
        return WireAddress(TON_ALPHANUMERIC, NPI_UNKNOWN, value)
    raise InvalidSenderError(f"{sender[:40]!r} is not a sender ID: an E.164 number, a short code of 3 to 8 digits, "
                             f"or 1 to {MAX_ALPHANUMERIC} letters and digits", "sender")


def destination_address(destination: str) -> WireAddress:
    if not _E164.fullmatch(destination):
        raise InvalidDestinationError(f"{destination[:40]!r} is not an E.164 number", "to")
    return WireAddress(TON_INTERNATIONAL, NPI_E164, destination[1:])


def inbound_address(raw: str, ton: int, region: str = DEFAULT_REGION) -> str:
    """An address from the SMSC in the platform's spelling (voiceplatform.inbound.addresses):
    international digits get their ``+``, an alphanumeric one stays as it is, anything else is
    read in ``region``. Raises InputRejectedError for one that is none of these."""
    value = raw.strip()
    if ton == TON_ALPHANUMERIC:
        if not _ALPHANUMERIC.fullmatch(value):
            raise InputRejectedError(f"{raw[:40]!r} is not an alphanumeric address", "source_addr")
        return value
    if ton == TON_INTERNATIONAL and value.isdigit():
        value = "+" + value
    try:
        return normalise(value, region).number
    except (InvalidPhoneNumber, UnsafeValueError) as exc:
        raise InputRejectedError(f"{raw[:40]!r} is not an address: {exc}", "address") from exc
