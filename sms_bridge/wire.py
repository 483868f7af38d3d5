"""The PDUs a bound ESME sends and reads all day, packed and read here (SMPP 3.4, section 4):
``submit_sm`` and the answers it sends (``deliver_sm_resp``, ``enquire_link_resp``,
``unbind_resp``, ``enquire_link``, ``unbind``); every PDU's header, ``submit_sm_resp``'s message
id and ``deliver_sm``'s body with the TLVs the bridge reads. Pure.

smpplib still connects and binds (sms_bridge.esme); after that its generic encoder and parser
(a Python object per field, its descriptions looked up per PDU) took about 40 % of the bridge's
CPU at 1,000 messages/s (bench/sms.py, py-spy). These functions give the same bytes smpplib
gives for the same fields (tests/sms_bridge/test_wire.py checks both ways).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

HEADER = struct.Struct(">IIII")
HEADER_SIZE = HEADER.size
#: The longest PDU read: a deliver_sm with its TLVs is well under it; more is a broken stream.
MAX_PDU = 64 * 1024

GENERIC_NACK = 0x80000000
SUBMIT_SM, SUBMIT_SM_RESP = 0x00000004, 0x80000004
DELIVER_SM, DELIVER_SM_RESP = 0x00000005, 0x80000005
UNBIND, UNBIND_RESP = 0x00000006, 0x80000006
ENQUIRE_LINK, ENQUIRE_LINK_RESP = 0x00000015, 0x80000015

RECEIPTED_MESSAGE_ID = 0x001E
SAR_MSG_REF_NUM, SAR_TOTAL_SEGMENTS, SAR_SEGMENT_SEQNUM = 0x020C, 0x020E, 0x020F
MESSAGE_STATE = 0x0427


class WireError(ValueError):
    """Bytes that are no PDU we can read."""


@dataclass(frozen=True, slots=True)
class Frame:
    command_id: int
    status: int
    sequence: int
    body: bytes


@dataclass(frozen=True, slots=True)
class DeliverFields:
    """What the bridge reads of a ``deliver_sm`` (addresses as ASCII, up to their NUL)."""

    source_addr: str
    source_ton: int
    destination_addr: str
    destination_ton: int
    esm_class: int
    data_coding: int
    short_message: bytes
    receipted_message_id: str | None
    message_state: int | None
    sar: tuple[int, int, int] | None  # reference, total, this part's number


def length_of(first_four: bytes) -> int:
    """The body length announced by a PDU's first four bytes (WireError when it cannot be one)."""
    (length,) = struct.unpack(">I", first_four)
    if not HEADER_SIZE <= length <= MAX_PDU:
        raise WireError(f"command_length {length} is outside {HEADER_SIZE}..{MAX_PDU}")
    return int(length) - 4


def frame(pdu: bytes) -> Frame:
    """A whole PDU (header and body) read into its header fields and body."""
    if len(pdu) < HEADER_SIZE:
        raise WireError(f"a PDU of {len(pdu)} bytes has no header")
    _, command_id, status, sequence = HEADER.unpack_from(pdu)
    return Frame(command_id, status, sequence, pdu[HEADER_SIZE:])


def pack(command_id: int, sequence: int, body: bytes = b"", status: int = 0) -> bytes:
    return HEADER.pack(HEADER_SIZE + len(body), command_id, status, sequence) + body


def _cstring(value: str) -> bytes:
    return value.encode("ascii") + b"\x00"


def submit_sm(sequence: int, *, source_ton: int, source_npi: int, source: str, destination_ton: int,
              destination_npi: int, destination: str, esm_class: int, registered_delivery: int, data_coding: int,
              short_message: bytes) -> bytes:
    """A ``submit_sm`` with the empty defaults of every other field (service type, protocol id,
    priority, schedule, validity, replace flag, default message id)."""
    if len(short_message) > 254:
        raise WireError(f"short_message holds at most 254 octets, not {len(short_message)}")
    body = b"".join((
        b"\x00", bytes((source_ton, source_npi)), _cstring(source), bytes((destination_ton, destination_npi)),
        _cstring(destination), bytes((esm_class, 0, 0)), b"\x00\x00",
        bytes((registered_delivery, 0, data_coding, 0, len(short_message))), short_message))
    return pack(SUBMIT_SM, sequence, body)


def deliver_sm_resp(sequence: int, status: int = 0) -> bytes:
    return pack(DELIVER_SM_RESP, sequence, b"\x00", status)


def message_id(body: bytes) -> str | None:
    """``submit_sm_resp``'s message id (None when there is none: an error answer has no body)."""
    end = body.find(b"\x00")
    text = (body if end < 0 else body[:end]).decode("ascii", "replace")
    return text or None


class _Reader:
    __slots__ = ("data", "at")

    def __init__(self, data: bytes) -> None:
        self.data, self.at = data, 0

    def byte(self) -> int:
        if self.at >= len(self.data):
            raise WireError("the deliver_sm ends early")
        value = self.data[self.at]
        self.at += 1
        return value

    def cstring(self, limit: int) -> str:
        end = self.data.find(b"\x00", self.at, self.at + limit)
        if end < 0:
            raise WireError(f"a C-octet string longer than {limit} octets, or unterminated")
        value = self.data[self.at:end].decode("ascii", "replace")
        self.at = end + 1
        return value

    def octets(self, count: int) -> bytes:
        if self.at + count > len(self.data):
            raise WireError("the deliver_sm ends early")
        value = self.data[self.at:self.at + count]
        self.at += count
        return value


def deliver_sm(body: bytes) -> DeliverFields:
    reader = _Reader(body)
    reader.cstring(6)  # service_type
    source_ton, _source_npi = reader.byte(), reader.byte()
    source = reader.cstring(21)
    destination_ton, _destination_npi = reader.byte(), reader.byte()
    destination = reader.cstring(21)
    esm_class, _protocol_id, _priority = reader.byte(), reader.byte(), reader.byte()
    reader.cstring(17)  # schedule_delivery_time
    reader.cstring(17)  # validity_period
    _registered, _replace, data_coding, _default_id = reader.byte(), reader.byte(), reader.byte(), reader.byte()
    short_message = reader.octets(reader.byte())
    tlvs: dict[int, bytes] = {}
    while reader.at < len(body):
        tag, length = struct.unpack(">HH", reader.octets(4))
        tlvs[tag] = reader.octets(length)
    receipted = tlvs.get(RECEIPTED_MESSAGE_ID)
    state = tlvs.get(MESSAGE_STATE)
    sar = None
    if SAR_MSG_REF_NUM in tlvs and tlvs.get(SAR_TOTAL_SEGMENTS):
        sar = (int.from_bytes(tlvs[SAR_MSG_REF_NUM], "big"), int.from_bytes(tlvs[SAR_TOTAL_SEGMENTS], "big"),
               int.from_bytes(tlvs.get(SAR_SEGMENT_SEQNUM, b"\x00"), "big"))
    return DeliverFields(source, source_ton, destination, destination_ton, esm_class, data_coding, short_message,
                         message_id(receipted) if receipted else None, state[0] if state else None, sar)
