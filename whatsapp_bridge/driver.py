"""The ``whatsapp`` channel driver: what the shared runner hands WhatsApp messages to, and what
reads a user's message from a webhook into an
:class:`~voiceplatform.channels.contract.InboundMessage`.

``deliver`` only **queues**: one ``whatsapp_messages`` row per ``send`` output, written with the
rest of the caller's transaction (voiceplatform.sessions.writes.insert_later), so a message
exists if and only if the step that made it committed, and a crash never sends it twice. The
row keeps the engine's ``Send`` as it is: free-form or its template is chosen by the bridge's
sender when it sends (whatsapp_bridge.sender), from the contact's window then. A message for a
number of ours the bridge does not know (``VOICEPLATFORM_WHATSAPP_NUMBERS``) is queued with its
error: the step still commits, the sender records it ``failed`` and settles its attempt.

**Addresses.** A contact is addressed by its phone number (``+E.164``) when Meta gives one, else
by its BSUID (``US.1349…``: a user with a username and no number): the platform's contacts and
campaigns are keyed on phone numbers, so a reply from a user known by both resumes the session
a campaign started with their number (whatsapp_bridge.identity.contact_address: the one rule).
``our_address`` is our business number (E.164).

The driver opens no connection: every process that makes WhatsApp messages registers it
(``VOICEPLATFORM_CHANNELS=whatsapp_bridge.driver:register``) and only ``python -m
whatsapp_bridge`` talks to the Graph API.
"""

from __future__ import annotations

from typing import Any, Mapping

from sqlalchemy.orm import Session

from voiceplatform.channels.contract import Capabilities, Delivery, InboundMessage
from voiceplatform.channels.registry import ChannelRegistry
from voiceplatform.exceptions import InputRejectedError
from voiceplatform.flow import Channel
from voiceplatform.flow.outputs import Button, Send
from voiceplatform.flow.render import standard_limits
from voiceplatform.models.base import utcnow
from voiceplatform.models.whatsapp import QUEUED, WhatsAppMessage
from voiceplatform.sessions.writes import insert_later, table_of

from whatsapp_bridge.config import BusinessNumber, WhatsAppSettings
from whatsapp_bridge.errors import WhatsAppPayloadError
from whatsapp_bridge.identity import contact_address, e164, recipient_field
from whatsapp_bridge.webhook_payloads import InboundEvent, parse, to_input

NAME = "whatsapp"
MESSAGES = table_of(WhatsAppMessage)
MAX_ERROR = 200


def send_from_dict(raw: Mapping[str, Any]) -> Send:
    """A ``Send.to_dict()`` back as the Send (what a queued row keeps)."""
    def buttons(key: str) -> tuple[Button, ...]:
        return tuple(Button(str(item["id"]), str(item["title"])) for item in raw.get(key) or ())

    template = raw.get("template")
    return Send(channel=str(raw.get("channel", NAME)), text=str(raw.get("text", "")), to=raw.get("to"),
                buttons=buttons("buttons"), list_button=raw.get("list_button"), list_rows=buttons("list_rows"),
                template=dict(template) if isinstance(template, Mapping) else None, media=raw.get("media"),
                language=raw.get("language"))


class WhatsAppChannel:
    """Store-and-resume over the WhatsApp Cloud API, rendering as WhatsApp."""

    def __init__(self, settings: WhatsAppSettings | None = None) -> None:
        self.settings = settings or WhatsAppSettings.from_env()
        self._capabilities = Capabilities(name=NAME, renders_as=Channel.WHATSAPP, live=False,
                                          limits=standard_limits(Channel.WHATSAPP))

    @property
    def capabilities(self) -> Capabilities:
        return self._capabilities

    def deliver(self, db: Session, delivery: Delivery) -> int:
        now = utcnow()
        rows = [self._row(delivery, output, now) for output in delivery.outputs if isinstance(output, Send)]
        insert_later(db, MESSAGES, rows)
        return len(rows)

    def business_number(self, our_address: str | None) -> BusinessNumber | None:
        if our_address:
            return self.settings.by_number(our_address)
        return self.settings.numbers[0] if len(self.settings.numbers) == 1 else None

    def _row(self, delivery: Delivery, output: Send, now: Any) -> dict[str, Any]:
        recipient = output.to or delivery.address
        number = self.business_number(delivery.our_address)
        row: dict[str, Any] = {
            "account_id": delivery.account_id, "session_id": delivery.session_id,
            "phone_number_id": number.phone_number_id if number else "", "our_number": (
                number.number if number else delivery.our_address or "")[:64],
            "recipient": recipient[:128], "send": output.to_dict(), "message_type": None, "template_only": False,
            "parts": 0, "parts_sent": 0, "payloads": None, "wamid": None, "send_state": QUEUED, "status": None,
            "error": None, "error_code": None, "attempts": 0, "unconfirmed": 0, "next_attempt_at": None,
            "claimed_by": None, "claimed_until": None, "pricing_category": None, "pricing_type": None,
            "billable": None, "cost": None, "created_at": now, "sent_at": None, "status_at": None}
        try:
            if number is None:
                raise InputRejectedError(
                    f"{delivery.our_address or 'no number of ours'} is no WhatsApp business number of this bridge "
                    "(VOICEPLATFORM_WHATSAPP_NUMBERS)", "our_address")
            recipient_field(recipient)
        except (InputRejectedError, WhatsAppPayloadError) as exc:  # the sender records it failed
            row["error"] = exc.message[:MAX_ERROR]
        return row

    def inbound_message(self, event: InboundEvent) -> InboundMessage:
        """``event`` (a parsed webhook message) as the router takes it."""
        number = self.settings.by_id(event.phone_number_id)
        ours = number.number if number else e164(event.display_phone_number or "")
        if ours is None:
            raise InputRejectedError(f"phone number id {event.phone_number_id} is no number of this bridge",
                                     "phone_number_id")
        raw = {"phone_number_id": event.phone_number_id, "wa_id": event.wa_id, "user_id": event.user_id,
               "kind": event.kind, "context_id": event.context_id, "profile_name": event.profile_name}
        return InboundMessage(NAME, contact_address(event), ours, to_input(event), event.message_id, raw)

    def parse_inbound(self, raw: Mapping[str, Any]) -> InboundMessage:
        """One change ``value`` of a webhook POST carrying one message (``{"metadata",
        "contacts", "messages": [one]}``), as Meta sends it."""
        batch = parse({"object": "whatsapp_business_account",
                       "entry": [{"id": "", "changes": [{"field": "messages", "value": dict(raw)}]}]})
        if len(batch.inbound) != 1:
            why = "; ".join(batch.problems[:3]) or "no message in it"
            raise InputRejectedError(f"not one WhatsApp message: {why}", "messages")
        return self.inbound_message(batch.inbound[0])


def register(registry: ChannelRegistry) -> None:
    """The plugin hook (``VOICEPLATFORM_CHANNELS=whatsapp_bridge.driver:register``): serve ``whatsapp``."""
    registry.register(WhatsAppChannel())
