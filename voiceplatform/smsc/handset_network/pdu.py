"""The SMPP 3.4 PDUs an SMSC sees and sends, as plain bytes: the handset network's own codec.

The handset network is the far side of the gateway: it must answer what Jasmin (an ESME towards
it) sends, and send what a mobile network sends. That is a small, fixed set of PDUs, so it has
its own typed codec here instead of a client library's: it stays independent of the library the
platform's ESME uses (a test that goes through both cannot be fooled by one shared bug), and it
costs a few microseconds a PDU, which keeps the scripted SMSC far below the client's ceiling.

    header: command_length, command_id, command_status, sequence_number (4 x uint32, big-endian)
    body:   C-Octet strings (NUL-terminated), integers, octet strings, then optional TLVs
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from enum import IntEnum

HEADER = struct.Struct(">IIII")
HEADER_SIZE = HEADER.size
#: A PDU longer than this is refused (the longest legal PDU is well under 4 KB).
MAX_PDU_SIZE = 64 * 1024


class Command(IntEnum):
    GENERIC_NACK = 0x80000000
    BIND_RECEIVER = 0x00000001
    BIND_RECEIVER_RESP = 0x80000001
    BIND_TRANSMITTER = 0x00000002
    BIND_TRANSMITTER_RESP = 0x80000002
    SUBMIT_SM = 0x00000004
    SUBMIT_SM_RESP = 0x80000004
    DELIVER_SM = 0x00000005
    DELIVER_SM_RESP = 0x80000005
    UNBIND = 0x00000006
    UNBIND_RESP = 0x80000006
    BIND_TRANSCEIVER = 0x00000009
    BIND_TRANSCEIVER_RESP = 0x80000009
    ENQUIRE_LINK = 0x00000015
    ENQUIRE_LINK_RESP = 0x80000015


BINDS = {Command.BIND_RECEIVER, Command.BIND_TRANSMITTER, Command.BIND_TRANSCEIVER}


class Status(IntEnum):
    ESME_ROK = 0x00
    ESME_RINVMSGLEN = 0x01
    ESME_RINVCMDLEN = 0x02
    ESME_RINVCMDID = 0x03
    ESME_RINVBNDSTS = 0x04
    ESME_RALYBND = 0x05
    ESME_RSYSERR = 0x08
    ESME_RINVDSTADR = 0x0B
    ESME_RBINDFAIL = 0x0D
    ESME_RINVPASWD = 0x0E
    ESME_RINVSYSID = 0x0F
    ESME_RMSGQFUL = 0x14
    ESME_RSUBMITFAIL = 0x45
    ESME_RTHROTTLED = 0x58


class Tag(IntEnum):
    """The optional parameters (TLVs) the handset network reads or writes."""

    USER_MESSAGE_REFERENCE = 0x0204
    SAR_MSG_REF_NUM = 0x020C
    SAR_TOTAL_SEGMENTS = 0x020E
    SAR_SEGMENT_SEQNUM = 0x020F
    RECEIPTED_MESSAGE_ID = 0x001E
    NETWORK_ERROR_CODE = 0x0423
    MESSAGE_PAYLOAD = 0x0424
    MESSAGE_STATE = 0x0427
    SC_INTERFACE_VERSION = 0x0210


class MessageState(IntEnum):
    """``message_state`` (SMPP 3.4, 5.3.2.35)."""

    ENROUTE = 1
    DELIVERED = 2
    EXPIRED = 3
    DELETED = 4
    UNDELIVERABLE = 5
    ACCEPTED = 6
    UNKNOWN = 7
    REJECTED = 8


#: esm_class bits: a delivery receipt (message type 0x04) and the UDH indicator (0x40).
ESM_DELIVERY_RECEIPT = 0x04
ESM_UDHI = 0x40


class PduError(ValueError):
    """Bytes that are not a well-formed PDU; ``status`` is what to answer (generic_nack)."""

    def __init__(self, message: str, status: Status = Status.ESME_RINVCMDLEN) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True)
class Pdu:
    command_id: int
    status: int
    sequence: int
    body: bytes = b""


def encode(command_id: int, status: int, sequence: int, body: bytes = b"") -> bytes:
    return HEADER.pack(HEADER_SIZE + len(body), command_id, status, sequence) + body


def body_length(header: bytes) -> int:
    """The body length a 16-byte header announces (PduError if it cannot be a PDU)."""
    length = struct.unpack_from(">I", header)[0]
    if length < HEADER_SIZE or length > MAX_PDU_SIZE:
        raise PduError(f"command_length {length} is outside {HEADER_SIZE}..{MAX_PDU_SIZE}")
    return int(length) - HEADER_SIZE


def decode(header: bytes, body: bytes) -> Pdu:
    _, command_id, status, sequence = HEADER.unpack(header)
    return Pdu(command_id, status, sequence, body)


class _Reader:
    """Reads the mandatory fields of a body in order."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def cstring(self, limit: int) -> bytes:
        end = self.data.find(b"\x00", self.pos, self.pos + limit)
        if end < 0:
            raise PduError(f"a C-Octet string at offset {self.pos} has no NUL within {limit} octets",
                           Status.ESME_RINVMSGLEN)
        value = self.data[self.pos:end]
        self.pos = end + 1
        return value

    def u8(self) -> int:
        if self.pos >= len(self.data):
            raise PduError("the body ends inside its mandatory fields", Status.ESME_RINVMSGLEN)
        value = self.data[self.pos]
        self.pos += 1
        return value

    def octets(self, count: int) -> bytes:
        if self.pos + count > len(self.data):
            raise PduError("short_message runs past the end of the PDU", Status.ESME_RINVMSGLEN)
        value = self.data[self.pos:self.pos + count]
        self.pos += count
        return value

    def tlvs(self) -> dict[int, bytes]:
        found: dict[int, bytes] = {}
        while self.pos < len(self.data):
            if self.pos + 4 > len(self.data):
                raise PduError("a TLV header runs past the end of the PDU", Status.ESME_RINVMSGLEN)
            tag, length = struct.unpack_from(">HH", self.data, self.pos)
            self.pos += 4
            found[tag] = self.octets(length)
        return found


def _cstring(value: str | bytes) -> bytes:
    raw = value.encode("ascii") if isinstance(value, str) else value
    return raw + b"\x00"


def tlv(tag: int, value: bytes) -> bytes:
    return struct.pack(">HH", tag, len(value)) + value


@dataclass(frozen=True, slots=True)
class Bind:
    command_id: int
    system_id: str
    password: str
    system_type: str
    interface_version: int

    @classmethod
    def parse(cls, pdu: Pdu) -> Bind:
        reader = _Reader(pdu.body)
        system_id = reader.cstring(16).decode("ascii", "replace")
        password = reader.cstring(9).decode("ascii", "replace")
        system_type = reader.cstring(13).decode("ascii", "replace")
        version = reader.u8()
        return cls(pdu.command_id, system_id, password, system_type, version)


def bind_resp(bind_command: int, status: int, sequence: int, system_id: str) -> bytes:
    """A refused bind's answer carries no body (SMPP 3.4, 4.1.2)."""
    body = _cstring(system_id) + tlv(Tag.SC_INTERFACE_VERSION, b"\x34")
    return encode(bind_command | 0x80000000, status, sequence,
                  body if status == Status.ESME_ROK else b"")


@dataclass(frozen=True, slots=True)
class ShortMessage:
    """The body of a submit_sm or a deliver_sm (the two share one layout)."""

    source_addr: str
    destination_addr: str
    short_message: bytes
    data_coding: int = 0
    esm_class: int = 0
    registered_delivery: int = 0
    source_addr_ton: int = 1
    source_addr_npi: int = 1
    dest_addr_ton: int = 1
    dest_addr_npi: int = 1
    service_type: str = ""
    protocol_id: int = 0
    priority_flag: int = 0
    schedule_delivery_time: str = ""
    validity_period: str = ""
    tlvs: dict[int, bytes] = field(default_factory=dict)

    @classmethod
    def parse(cls, body: bytes) -> ShortMessage:
        reader = _Reader(body)
        service_type = reader.cstring(6).decode("ascii", "replace")
        source_ton, source_npi = reader.u8(), reader.u8()
        source = reader.cstring(21).decode("ascii", "replace")
        dest_ton, dest_npi = reader.u8(), reader.u8()
        destination = reader.cstring(21).decode("ascii", "replace")
        esm_class, protocol_id, priority = reader.u8(), reader.u8(), reader.u8()
        schedule = reader.cstring(17).decode("ascii", "replace")
        validity = reader.cstring(17).decode("ascii", "replace")
        registered, _replace_if_present, data_coding, _default_id = (
            reader.u8(), reader.u8(), reader.u8(), reader.u8())
        sm_length = reader.u8()
        short_message = reader.octets(sm_length)
        return cls(
            source_addr=source, destination_addr=destination, short_message=short_message,
            data_coding=data_coding, esm_class=esm_class, registered_delivery=registered,
            source_addr_ton=source_ton, source_addr_npi=source_npi,
            dest_addr_ton=dest_ton, dest_addr_npi=dest_npi, service_type=service_type,
            protocol_id=protocol_id, priority_flag=priority,
            schedule_delivery_time=schedule, validity_period=validity, tlvs=reader.tlvs(),
        )

    def body(self) -> bytes:
        if len(self.short_message) > 254:
            raise PduError("short_message holds at most 254 octets", Status.ESME_RINVMSGLEN)
        parts = [
            _cstring(self.service_type),
            bytes((self.source_addr_ton, self.source_addr_npi)), _cstring(self.source_addr),
            bytes((self.dest_addr_ton, self.dest_addr_npi)), _cstring(self.destination_addr),
            bytes((self.esm_class, self.protocol_id, self.priority_flag)),
            _cstring(self.schedule_delivery_time), _cstring(self.validity_period),
            bytes((self.registered_delivery, 0, self.data_coding, 0, len(self.short_message))),
            self.short_message,
        ]
        parts.extend(tlv(tag, value) for tag, value in self.tlvs.items())
        return b"".join(parts)


def submit_sm_resp(status: int, sequence: int, message_id: str) -> bytes:
    """An error answer carries no body (SMPP 3.4, 4.4.2)."""
    return encode(Command.SUBMIT_SM_RESP, status, sequence,
                  _cstring(message_id) if status == Status.ESME_ROK else b"")


def generic_nack(status: int, sequence: int) -> bytes:
    return encode(Command.GENERIC_NACK, status, sequence)


def response(command_id: int, sequence: int, status: int = Status.ESME_ROK) -> bytes:
    """The empty-bodied answer to enquire_link or unbind."""
    return encode(command_id | 0x80000000, status, sequence)
