"""A text as the ``submit_sm`` PDUs that carry it: ``data_coding``, and per part the
``short_message`` bytes and the ``esm_class`` bit they need.

The encoding and the cut come from :func:`voiceplatform.text.sms_segments.measure` (the same
count the composer shows and pricing charges): GSM-7 unless a character is outside GSM 03.38, then
UCS-2. GSM-7 goes unpacked, one septet per byte, with ``data_coding`` 0 (the SMSC's default
alphabet); UCS-2 goes as UTF-16 big-endian with ``data_coding`` 8, a character outside the BMP as
its surrogate pair. A long message is sent as concatenated parts, each with the header
``05 00 03 ref total seq`` in ``short_message`` and UDHI set in ``esm_class``: never in
``message_payload``, which Jasmin acknowledges and then drops.
"""

from __future__ import annotations

from dataclasses import dataclass

from voiceplatform.text.sms_segments import MAX_PARTS, Encoding, SmsSize, measure

from sms_bridge.data_coding import DATA_CODING_DEFAULT, DATA_CODING_UCS2
from sms_bridge.errors import LoneSurrogateError, MessageTooLongError
from sms_bridge.gsm7 import encode_gsm7
from sms_bridge.udh import UDHI, check_reference, concatenation_header

DATA_CODING = {Encoding.GSM7: DATA_CODING_DEFAULT, Encoding.UCS2: DATA_CODING_UCS2}


@dataclass(frozen=True, slots=True)
class SubmitPart:
    """One ``submit_sm``'s user data. ``esm_class`` holds only the UDHI bit (0x40 on a
    concatenated part, else 0): the client adds its messaging-mode bits."""

    short_message: bytes
    esm_class: int
    text: str


@dataclass(frozen=True, slots=True)
class EncodedMessage:
    data_coding: int
    size: SmsSize
    parts: tuple[SubmitPart, ...]

    @property
    def encoding(self) -> Encoding:
        return self.size.encoding


def encode_text(text: str, encoding: Encoding) -> bytes:
    if encoding is Encoding.GSM7:
        return encode_gsm7(text)
    try:
        return text.encode("utf-16-be")
    except UnicodeEncodeError as exc:
        raise LoneSurrogateError(
            f"a lone UTF-16 surrogate (U+{ord(text[exc.start]):04X}) at character {exc.start} cannot be sent", "text",
        ) from exc


def encode_message(text: str, reference: int) -> EncodedMessage:
    """``text`` as one or more ``submit_sm`` user data; ``reference`` (0-255, the caller's choice,
    ideally distinct per destination among its recent long messages) numbers a concatenated
    message and is unused for a single part."""
    check_reference(reference)
    size = measure(text)
    if size.segments > MAX_PARTS:
        raise MessageTooLongError(f"the text needs {size.segments} parts; an SMS has at most {MAX_PARTS}", "text")
    if size.segments == 1:
        part = SubmitPart(encode_text(text, size.encoding), 0, text)
        return EncodedMessage(DATA_CODING[size.encoding], size, (part,))
    total = size.segments
    parts = tuple(
        SubmitPart(concatenation_header(reference, total, number) + encode_text(piece, size.encoding), UDHI, piece)
        for number, piece in enumerate(size.parts, start=1)
    )
    return EncodedMessage(DATA_CODING[size.encoding], size, parts)
