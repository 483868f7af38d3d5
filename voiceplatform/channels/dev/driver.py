"""The dev channel's driver: delivers ``send`` outputs into the ``dev_messages`` outbox, inside
the session's transaction, and reads an injected reply as an inbound message."""

from __future__ import annotations

import os
from typing import Any, Mapping

from sqlalchemy.orm import Session

from voiceplatform.channels.contract import Capabilities, Delivery, InboundMessage
from voiceplatform.exceptions import InputRejectedError, UnsafeValueError
from voiceplatform.flow import Channel, Input
from voiceplatform.flow.outputs import Send
from voiceplatform.flow.render import standard_limits
from voiceplatform.inbound.addresses import DEFAULT_REGION, normalise
from voiceplatform.models.base import utcnow
from voiceplatform.models.sessions import DevMessage
from voiceplatform.phone import InvalidPhoneNumber
from voiceplatform.sessions.writes import insert_later, table_of

NAME = "dev"
MAX_TEXT_CHARS = 4096  # a WhatsApp text's limit, the longest message any bridge carries
MAX_MESSAGE_ID_CHARS = 200  # inbound_receipts.message_id
OUTBOX = table_of(DevMessage)


def dev_channel_enabled(environ: Mapping[str, str] | None = None) -> bool:
    """``VOICEPLATFORM_DEV_CHANNEL`` (default on): 0, false, no or off switch the channel off."""
    value = (os.environ if environ is None else environ).get("VOICEPLATFORM_DEV_CHANNEL", "1")
    return value.strip().lower() not in ("0", "false", "no", "off")


def _renders_as(environ: Mapping[str, str] | None = None) -> Channel:
    """``VOICEPLATFORM_DEV_CHANNEL_AS``: the engine channel dev sessions run on (default sms)."""
    value = (os.environ if environ is None else environ).get("VOICEPLATFORM_DEV_CHANNEL_AS", "sms")
    channel = Channel(value.strip().lower())
    if not channel.is_messaging:
        raise ValueError(f"VOICEPLATFORM_DEV_CHANNEL_AS={value!r}: a messaging channel (sms or whatsapp)")
    return channel


class DevChannel:
    """Store-and-resume, no provider: its limits are the standard ones of the channel it renders
    as (``voiceplatform.flow.render``), the very ones the engine renders with, so what a designer
    sees in the outbox is what that channel's bridge would send."""

    def __init__(self, renders_as: Channel | None = None, region: str = DEFAULT_REGION) -> None:
        self.region = region
        channel = renders_as or _renders_as()
        self._capabilities = Capabilities(
            name=NAME, renders_as=channel, live=False, limits=standard_limits(channel),
            stands_in_for=frozenset({Channel.SMS, Channel.WHATSAPP}))

    @property
    def capabilities(self) -> Capabilities:
        return self._capabilities

    def deliver(self, db: Session, delivery: Delivery) -> int:
        """Queue the ``send`` outputs in the outbox, with the transaction's other rows (one
        INSERT for a whole batch of sessions: voiceplatform.sessions.writes)."""
        now = utcnow()
        rows = [{"account_id": delivery.account_id, "session_id": delivery.session_id,
                 "to_address": output.to or delivery.address, "from_address": delivery.our_address,
                 "rendered_as": output.channel or delivery.rendered_as, "text": output.text,
                 "payload": output.to_dict(), "created_at": now}
                for output in delivery.outputs if isinstance(output, Send)]
        insert_later(db, OUTBOX, rows)
        return len(rows)

    def parse_inbound(self, raw: Mapping[str, Any]) -> InboundMessage:
        """``{"from": ..., "to": ..., "text": ..., "message_id"?: ...}``: the sender, our
        number, the reply (a button's id is sent as its text, as WhatsApp does)."""
        sender = self._address(raw.get("from"), "from")
        ours = self._address(raw.get("to"), "to")
        text = raw.get("text")
        if not isinstance(text, str):
            raise InputRejectedError("'text' must be a string", field="text")
        if len(text) > MAX_TEXT_CHARS:
            raise InputRejectedError(f"'text' is longer than {MAX_TEXT_CHARS} characters", field="text")
        message_id = raw.get("message_id")
        if message_id is not None and (not isinstance(message_id, str) or not message_id.strip()
                                       or len(message_id) > MAX_MESSAGE_ID_CHARS):
            raise InputRejectedError(f"'message_id' must be a non-empty string of at most {MAX_MESSAGE_ID_CHARS} characters",
                                     field="message_id")
        return InboundMessage(NAME, sender, ours, Input.text(text), message_id, dict(raw))

    def _address(self, value: Any, label: str) -> str:
        if not isinstance(value, str):
            raise InputRejectedError(f"{label!r} must be a string", field=label)
        try:
            return normalise(value, self.region).number
        except (InvalidPhoneNumber, UnsafeValueError) as exc:
            raise InputRejectedError(f"{label!r}: {exc}", field=label) from exc
