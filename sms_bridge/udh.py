"""The user-data header of a concatenated SMS (3GPP TS 23.040 9.2.3.24): building the one we send
and reading the ones handsets send.

We send the 8-bit-reference form, six octets ``05 00 03 ref total seq``, in front of each part's
``short_message`` with the UDHI bit (0x40) of ``esm_class`` set. We read any header: information
elements we do not use are skipped; the concatenation element is IEI 0x00 (8-bit reference) or
0x08 (16-bit reference). As the standard says, a concatenation element whose total is 0, or whose
sequence number is 0 or above the total, is ignored (the message is taken as a single one).
"""

from __future__ import annotations

from dataclasses import dataclass

from sms_bridge.errors import InvalidReferenceError, MalformedUserDataError

#: esm_class bit: short_message starts with a user-data header.
UDHI = 0x40
IEI_CONCAT_8BIT = 0x00
IEI_CONCAT_16BIT = 0x08
#: Octets of the header :func:`concatenation_header` builds.
CONCAT_HEADER_OCTETS = 6


@dataclass(frozen=True, slots=True)
class Concatenation:
    """One part of a concatenated message: its reference, the part count, its number (1-based),
    and whether the reference was 8 or 16 bits wide."""

    reference: int
    total: int
    sequence: int
    reference_bits: int = 8


def check_reference(reference: int) -> None:
    if not 0 <= reference <= 0xFF:
        raise InvalidReferenceError(f"a concatenation reference is 0-255, not {reference}", "reference")


def concatenation_header(reference: int, total: int, sequence: int) -> bytes:
    """``05 00 03 ref total seq``; ``reference`` is the caller's, 0-255."""
    check_reference(reference)
    if not 1 <= sequence <= total <= 0xFF:
        raise ValueError(f"part {sequence} of {total} cannot be numbered in one octet")
    return bytes((5, IEI_CONCAT_8BIT, 3, reference, total, sequence))


def split_user_data(short_message: bytes, udhi: bool) -> tuple[bytes, bytes]:
    """(header without its length octet, body). No UDHI: no header. A header longer than the
    message raises :class:`MalformedUserDataError`."""
    if not udhi:
        return b"", short_message
    if not short_message:
        raise MalformedUserDataError("esm_class says a user-data header follows, but short_message is empty",
                                     "short_message")
    length = short_message[0]
    if 1 + length > len(short_message):
        raise MalformedUserDataError(
            f"the user-data header claims {length} octets, the message has {len(short_message) - 1}", "short_message")
    return short_message[1:1 + length], short_message[1 + length:]


def information_elements(header: bytes) -> list[tuple[int, bytes]]:
    """The (IEI, data) pairs of a header; an element running past the header raises
    :class:`MalformedUserDataError`."""
    elements: list[tuple[int, bytes]] = []
    at = 0
    while at < len(header):
        if at + 2 > len(header):
            raise MalformedUserDataError("a user-data header ends inside an element's identifier and length",
                                         "short_message")
        iei, length = header[at], header[at + 1]
        if at + 2 + length > len(header):
            raise MalformedUserDataError(f"user-data element 0x{iei:02X} runs past its header", "short_message")
        elements.append((iei, header[at + 2:at + 2 + length]))
        at += 2 + length
    return elements


def concatenation_of(header: bytes) -> Concatenation | None:
    """The concatenation element of a header, if there is a valid one (the last one wins, as a
    repeated element overrides the earlier one)."""
    found: Concatenation | None = None
    for iei, data in information_elements(header):
        if iei == IEI_CONCAT_8BIT and len(data) == 3:
            candidate = Concatenation(data[0], data[1], data[2], 8)
        elif iei == IEI_CONCAT_16BIT and len(data) == 4:
            candidate = Concatenation((data[0] << 8) | data[1], data[2], data[3], 16)
        else:
            continue
        if 1 <= candidate.sequence <= candidate.total:
            found = candidate
    return found
