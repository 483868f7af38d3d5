"""A minimal ESME for the tests, on smpplib (an SMPP implementation independent of the handset
network's codec): binds as a transceiver, submits, and collects what comes back. A greenlet reads
the socket (the tests run under gevent's monkey-patching), so submits and deliveries interleave
as they do for a real client.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass
from typing import Any

import gevent
import smpplib.client
import smpplib.consts
import smpplib.exceptions

from voiceplatform.lab.polling import poll
from voiceplatform.smsc.handset_network import texts
from voiceplatform.smsc.handset_network.pdu import ESM_DELIVERY_RECEIPT

SOURCE = "15550100"


@dataclass(frozen=True)
class Delivered:
    """A deliver_sm as the ESME received it."""

    source: str
    destination: str
    esm_class: int
    data_coding: int
    short_message: bytes
    receipted_message_id: str | None
    message_state: int | None

    @property
    def is_receipt(self) -> bool:
        return bool(self.esm_class & ESM_DELIVERY_RECEIPT)

    @property
    def content(self) -> texts.Content:
        return texts.read(self.short_message, self.data_coding, self.esm_class)

    @property
    def stat(self) -> str | None:
        text = self.short_message.decode("ascii", "replace")
        return text.split("stat:", 1)[1][:7] if "stat:" in text else None


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value.decode("ascii", "replace") if isinstance(value, bytes) else str(value)


class TestEsme:
    __test__ = False  # not a pytest class

    def __init__(self, host: str, port: int, system_id: str, password: str) -> None:
        self.client = smpplib.client.Client(host, port, allow_unknown_opt_params=True, timeout=5)
        self.responses: dict[int, tuple[int, str | None]] = {}
        self.delivered: list[Delivered] = []
        self.client.set_message_sent_handler(self._sent)
        self.client.set_message_received_handler(self._received)
        self.client.set_error_pdu_handler(self._error)
        self.client.connect()
        try:
            self.client.bind_transceiver(system_id=system_id, password=password)
        except BaseException:
            self.client.disconnect()
            raise
        self._references = itertools.count(1)
        self._reader = gevent.spawn(self._read)

    @classmethod
    def once_bound(cls, host: str, port: int, system_id: str, password: str, within: float = 60.0) -> TestEsme:
        """A client bound within ``within`` seconds, binding again after each bind left
        unanswered: a Jasmin just restarted on a busy machine has answered a first bind only
        after the client's 5 s (CI, after a repair)."""
        deadline = time.monotonic() + within
        while True:
            try:
                return cls(host, port, system_id, password)
            except smpplib.exceptions.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                gevent.sleep(0.5)

    def _read(self) -> None:
        try:
            while True:
                self.client.read_once()
        except (smpplib.exceptions.ConnectionError, OSError):
            return

    def _sent(self, pdu: Any) -> None:
        self.responses[pdu.sequence] = (pdu.status, _text(getattr(pdu, "message_id", None)))

    def _error(self, pdu: Any) -> None:
        if pdu.command == "submit_sm_resp":
            self.responses[pdu.sequence] = (pdu.status, None)

    def _received(self, pdu: Any) -> int:
        self.delivered.append(Delivered(
            source=_text(pdu.source_addr) or "", destination=_text(pdu.destination_addr) or "",
            esm_class=int(pdu.esm_class or 0), data_coding=int(pdu.data_coding or 0),
            short_message=pdu.short_message or b"",
            receipted_message_id=_text(getattr(pdu, "receipted_message_id", None)),
            message_state=getattr(pdu, "message_state", None),
        ))
        return smpplib.consts.SMPP_ESME_ROK

    def submit(self, destination: str, text: str, source: str = SOURCE,
               registered_delivery: int = 1, timeout: float = 10.0) -> str:
        """Submit a GSM-7 text; the message id of Jasmin's submit_sm_resp."""
        pdu = self.client.send_message(
            source_addr_ton=1, source_addr_npi=1, source_addr=source,
            dest_addr_ton=1, dest_addr_npi=1, destination_addr=destination.lstrip("+"),
            short_message=texts.gsm7_encode(text), data_coding=0,
            registered_delivery=registered_delivery)
        answer = poll(lambda: self.responses.get(pdu.sequence), timeout)
        assert answer is not None, f"no submit_sm_resp for {destination} within {timeout} s"
        status, message_id = answer
        assert status == smpplib.consts.SMPP_ESME_ROK and message_id, f"submit refused: {status:#x}"
        return message_id

    def wait_receipt(self, message_id: str, timeout: float = 15.0) -> Delivered:
        found = poll(lambda: next((d for d in self.delivered if d.is_receipt
                                   and d.receipted_message_id == message_id), None), timeout)
        assert found is not None, f"no receipt for {message_id} within {timeout} s: {self.delivered}"
        return found

    def wait_messages(self, source: str, destination: str, count: int = 1,
                      timeout: float = 15.0) -> list[Delivered]:
        """MO messages (not receipts) from ``source`` to ``destination``."""
        def check() -> list[Delivered] | None:
            found = [d for d in self.delivered if not d.is_receipt
                     and d.source == source.lstrip("+") and d.destination == destination.lstrip("+")]
            return found if len(found) >= count else None

        found = poll(check, timeout)
        assert found is not None, (f"fewer than {count} messages from {source} to {destination} "
                                   f"within {timeout} s: {self.delivered}")
        return found

    def close(self) -> None:
        self._reader.kill()  # unbind reads its own answer
        try:
            self.client.unbind()
        except (smpplib.exceptions.ConnectionError, smpplib.exceptions.PDUError, OSError):
            pass
        self.client.disconnect()


def assemble(parts: list[Delivered]) -> str:
    """The text of an MO message: one part, or UDH parts in their order."""
    contents = [part.content for part in parts]
    if len(contents) == 1:
        return contents[0].text
    return "".join(c.text for c in sorted(contents, key=lambda c: c.index or 0))
