"""The ``sms`` channel driver: what the shared runner hands SMS messages to, and what reads a
message from a handset into an :class:`~voiceplatform.channels.contract.InboundMessage`.

``deliver`` only **queues**: one ``sms_messages`` row per ``send`` output, written with the rest
of the caller's transaction (voiceplatform.sessions.writes), so a message exists if and only if
the step that made it committed, and a crash never sends it twice. The bridge's sender
(:mod:`sms_bridge.sender`) submits it later. A message that cannot go out at all (no sender
address, a sender or destination SMPP cannot carry, more than 255 parts) is queued with its
error: the step still commits, and the sender records it ``failed`` (settling its campaign
attempt) without submitting anything.

The driver opens no connection: the API and the campaign workers register it (by configuration,
``VOICEPLATFORM_CHANNELS=sms_bridge.driver:register``: voiceplatform.channels.plugins) and only
the bridge process (``python -m sms_bridge``) binds to the SMSC.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Mapping

from sqlalchemy.orm import Session

from voiceplatform.campaigns.pricing import Rates
from voiceplatform.channels.contract import Capabilities, Delivery, InboundMessage
from voiceplatform.channels.registry import ChannelRegistry
from voiceplatform.exceptions import InputRejectedError
from voiceplatform.flow import Channel, Input, InputKind
from voiceplatform.flow.outputs import Send
from voiceplatform.flow.render import standard_limits
from voiceplatform.models.base import utcnow
from voiceplatform.models.sms import QUEUED, SmsMessage
from voiceplatform.sessions.writes import insert_later, table_of
from voiceplatform.text.sms_segments import MAX_PARTS, measure

from sms_bridge.addressing import TON_UNKNOWN, destination_address, inbound_address, source_address
from sms_bridge.config import BridgeSettings

NAME = "sms"
MESSAGES = table_of(SmsMessage)
MAX_INBOUND_CHARS = MAX_PARTS * 153  # the longest text a reassembled message can have
MAX_ERROR = 200


class SmsChannel:
    """Store-and-resume over SMPP, rendering as SMS with the standard SMS limits."""

    def __init__(self, settings: BridgeSettings | None = None, rates: Rates | None = None) -> None:
        self.settings = settings or BridgeSettings.from_env()
        self.rates = rates or Rates.from_env()
        self._capabilities = Capabilities(name=NAME, renders_as=Channel.SMS, live=False,
                                          limits=standard_limits(Channel.SMS))

    @property
    def capabilities(self) -> Capabilities:
        return self._capabilities

    def deliver(self, db: Session, delivery: Delivery) -> int:
        now = utcnow()
        rows = [self._row(delivery, output, now) for output in delivery.outputs if isinstance(output, Send)]
        insert_later(db, MESSAGES, rows)
        return len(rows)

    def _row(self, delivery: Delivery, output: Send, now: Any) -> dict[str, Any]:
        sender = delivery.our_address or self.settings.default_sender or ""
        destination = output.to or delivery.address
        size = measure(output.text)
        row: dict[str, Any] = {
            "account_id": delivery.account_id, "session_id": delivery.session_id, "sender": sender[:64],
            "source_ton": TON_UNKNOWN, "source_npi": 0, "destination": destination[:64], "text": output.text,
            "encoding": size.encoding.value, "parts": size.segments,
            "cost": self.rates.message_cost(NAME, 1, size.segments), "send_state": QUEUED, "status": None,
            "error": None, "attempts": 0, "unconfirmed": 0, "next_attempt_at": None, "claimed_by": None,
            "claimed_until": None, "created_at": now, "submitted_at": None, "status_at": None}
        try:
            if not sender:
                raise InputRejectedError("no sender address: the session has no number of ours and "
                                         "VOICEPLATFORM_SMS_SENDER is not set", "sender")
            source = source_address(sender)
            destination_address(destination)
            if size.segments > MAX_PARTS:
                raise InputRejectedError(f"the text needs {size.segments} parts; an SMS has at most {MAX_PARTS}", "text")
        except InputRejectedError as exc:  # the sender records it failed, and settles its attempt
            row.update(error=exc.message[:MAX_ERROR], cost=Decimal(0))
            return row
        row.update(source_ton=source.ton, source_npi=source.npi)
        return row

    def parse_inbound(self, raw: Mapping[str, Any]) -> InboundMessage:
        """A message from a handset, as the bridge read it from a ``deliver_sm`` (and put its
        parts together): ``{"from", "to", "text", "from_ton"?, "to_ton"?, "parts"?,
        "missing"?}`` (TONs as on the wire; ``missing``: the part numbers that never came)."""
        sender = self._address(raw, "from")
        ours = self._address(raw, "to")
        text = raw.get("text")
        if not isinstance(text, str):
            raise InputRejectedError("'text' must be a string", "text")
        if len(text) > MAX_INBOUND_CHARS:
            raise InputRejectedError(f"'text' is longer than {MAX_INBOUND_CHARS} characters", "text")
        data: dict[str, Any] = {}
        parts, missing = raw.get("parts", 1), raw.get("missing", ())
        if isinstance(parts, int) and parts > 1:
            data["parts"] = parts
        if missing:
            if not isinstance(missing, (list, tuple)) or not all(isinstance(n, int) for n in missing):
                raise InputRejectedError("'missing' must list part numbers", "missing")
            data.update(incomplete=True, missing_parts=list(missing))
        return InboundMessage(NAME, sender, ours, Input(InputKind.TEXT, text, data=data), None, dict(raw))

    def _address(self, raw: Mapping[str, Any], label: str) -> str:
        value, ton = raw.get(label), raw.get(f"{label}_ton", TON_UNKNOWN)
        if not isinstance(value, str) or not value:
            raise InputRejectedError(f"{label!r} must be a non-empty string", label)
        if not isinstance(ton, int):
            raise InputRejectedError(f"'{label}_ton' must be a number", f"{label}_ton")
        try:
            return inbound_address(value, ton, self.settings.region)
        except InputRejectedError as exc:
            raise InputRejectedError(f"{label!r}: {exc.message}", label) from exc


def register(registry: ChannelRegistry) -> None:
    """The plugin hook (``VOICEPLATFORM_CHANNELS=sms_bridge.driver:register``): serve ``sms``."""
    registry.register(SmsChannel())
