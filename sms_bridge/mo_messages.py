"""A mobile-originated ``deliver_sm`` as a part the reassembler takes, and the message it gives.

:func:`read_mo` strips the user-data header (when ``esm_class`` has UDHI) and keeps the part's
concatenation: from the header (IEI 0x00 or 0x08), else from the SAR TLVs the caller passes
(``sar_msg_ref_num``, ``sar_total_segments``, ``sar_segment_seqnum``). The body stays bytes until
the whole message is in, so a character that a sloppy sender cut across two parts (half a
surrogate pair, an escape and its code) decodes whole.
"""

from __future__ import annotations

from dataclasses import dataclass

from sms_bridge.data_coding import decode_user_data
from sms_bridge.udh import UDHI, Concatenation, concatenation_of, split_user_data


@dataclass(frozen=True, slots=True)
class MoPart:
    sender: str
    our_address: str
    data_coding: int
    body: bytes
    concatenation: Concatenation | None = None


@dataclass(frozen=True, slots=True)
class MoMessage:
    """A message from a handset. ``complete`` is False when parts never came (``missing`` names
    them); the text is then what arrived, in order."""

    sender: str
    our_address: str
    text: str
    total: int = 1
    missing: tuple[int, ...] = ()

    @property
    def complete(self) -> bool:
        return not self.missing


def read_mo(sender: str, our_address: str, short_message: bytes, data_coding: int, esm_class: int,
            sar: Concatenation | None = None) -> MoPart:
    """One ``deliver_sm``'s user data as a part; a header that overruns the message raises
    :class:`sms_bridge.errors.MalformedUserDataError`."""
    header, body = split_user_data(short_message, bool(esm_class & UDHI))
    concatenation = concatenation_of(header) if header else None
    if concatenation is None and sar is not None and 1 <= sar.sequence <= sar.total:
        concatenation = sar
    return MoPart(sender, our_address, data_coding, body, concatenation)


def decode_parts(parts: list[MoPart]) -> str:
    """The text of parts in order: their bodies joined before decoding when they share a
    ``data_coding`` (a character cut across parts comes out whole), else each decoded alone."""
    if not parts:
        return ""
    codings = {part.data_coding for part in parts}
    if len(codings) == 1:
        return decode_user_data(b"".join(part.body for part in parts), parts[0].data_coding)
    return "".join(decode_user_data(part.body, part.data_coding) for part in parts)
