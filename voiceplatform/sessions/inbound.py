"""Routing an inbound message: our number → its account; opt-out words first; then the
account's waiting session for that contact on that channel (resumed, exactly once); else the
number's inbound flow for that channel (started); else an unsolicited message, stored and
emitted as a ``message.received`` webhook. Never dropped.

Everything a message causes happens in one transaction with its receipt (the provider's
message id, when it has one): a provider that delivers the same message twice gets
``duplicate`` the second time, and a crash leaves either all of it or none of it.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from voiceplatform.channels.contract import Delivery, InboundMessage
from voiceplatform.contacts.opt_out import apply_opt_outs
from voiceplatform.flow.outputs import HttpRequest, Send
from voiceplatform.inbound.router import DatabaseInboundRouter, contact_view
from voiceplatform.models import Contact, Number
from voiceplatform.models.base import utcnow
from voiceplatform.models.sessions import EventKind, FlowSession, InboundReceipt, SessionStatus, UnsolicitedMessage
from voiceplatform.sessions import opt_out_words, store
from voiceplatform.sessions.runner import RunResult, SessionRunner
from voiceplatform.webhooks.events import MESSAGE_RECEIVED, emit

OPEN = (SessionStatus.WAITING.value, SessionStatus.ACTIVE.value)


@dataclass(frozen=True, slots=True)
class Routed:
    """What became of a message: ``resumed``, ``started``, ``unsolicited``, ``opted_out``,
    ``duplicate`` (its message id was applied before) or ``unknown_number``."""

    outcome: str
    account_id: int | None = None
    session_id: str | None = None
    unsolicited_id: int | None = None


class MessageRouter:
    def __init__(self, runner: SessionRunner) -> None:
        self.runner = runner

    def receive(self, message: InboundMessage, *, account_ids: list[int] | None = None) -> Routed:
        """Apply ``message``. ``account_ids`` limits which accounts' numbers it may reach (the
        dev channel's route: the caller's own); a number outside them is ``unknown_number``."""
        try:
            return self._receive(message, account_ids)
        except IntegrityError:
            # a concurrent delivery of the same message id (or the same new contact) won: read again
            return self._receive(message, account_ids)

    def _receive(self, message: InboundMessage, account_ids: list[int] | None) -> Routed:
        with self.runner.sessions.begin() as db:
            number = db.scalars(select(Number).where(Number.number == message.our_address)).first()
            if number is None or number.channel(message.channel) is None or (
                    account_ids is not None and number.account_id not in account_ids):
                return Routed("unknown_number")
            if message.message_id and db.get(InboundReceipt, (message.channel, message.message_id)) is not None:
                return Routed("duplicate", number.account_id)
            contact = self._contact(db, number.account_id, message.address)
            routed, requests, result = self._route(db, number, contact, message)
            if message.message_id:
                db.add(InboundReceipt(channel=message.channel, message_id=message.message_id,
                                      account_id=number.account_id, session_id=routed.session_id,
                                      outcome=routed.outcome, received_at=utcnow()))
                db.flush()
        if result is not None and requests:
            self.runner.follow_http(result, requests)
        return routed

    def _route(self, db: Session, number: Number, contact: Contact | None,
               message: InboundMessage) -> tuple[Routed, list[HttpRequest], RunResult | None]:
        account_id = number.account_id
        words, confirmation = opt_out_words.settings_for(db, account_id)
        if message.input.value and opt_out_words.is_opt_out(message.input.value, words):
            self._opt_out(db, number, contact, message, confirmation)
            return Routed("opted_out", account_id), [], None
        for session_id in db.scalars(select(FlowSession.id).where(
                FlowSession.account_id == account_id, FlowSession.channel == message.channel,
                FlowSession.address == message.address, FlowSession.status.in_(OPEN))
                .order_by(FlowSession.updated_at.desc())):
            row = store.lock(db, session_id)
            result, requests = self.runner.resume_in(db, row, message.input)
            if result.outcome == "resumed":
                return Routed("resumed", account_id, row.id), requests, result
        name, version = number.channel(message.channel).flow()  # type: ignore[union-attr]
        if name:
            published = DatabaseInboundRouter._published(db, account_id, name, version)
            if published is not None:
                result, requests = self.runner.start_in(
                    db, account_id=account_id, flow_version_id=published.id, channel=message.channel,
                    address=message.address, our_address=message.our_address, number_id=number.id,
                    contact_id=contact.id if contact else None,
                    contact=contact_view(contact) if contact else {"phone": message.address},
                    language=contact.language if contact else None, trigger=message.input)
                return Routed("started", account_id, result.session_id), requests, result
        kept = UnsolicitedMessage(account_id=account_id, number_id=number.id, contact_id=contact.id if contact else None,
                                  channel=message.channel, address=message.address, our_address=message.our_address,
                                  input=message.input.to_dict(), provider_message_id=message.message_id,
                                  received_at=utcnow())
        db.add(kept)
        db.flush()
        emit(db, account_id, MESSAGE_RECEIVED, {
            "message_id": kept.id, "channel": message.channel, "from": message.address, "to": message.our_address,
            "number_id": number.id, "contact_id": kept.contact_id, "text": message.input.value,
            "provider_message_id": message.message_id, "received_at": kept.received_at.isoformat()})
        return Routed("unsolicited", account_id, unsolicited_id=kept.id), [], None

    def _opt_out(self, db: Session, number: Number, contact: Contact | None, message: InboundMessage,
                 confirmation: dict[str, str]) -> None:
        """Opted out on this channel, its open sessions ended, the confirmation queued."""
        now = utcnow()
        driver = self.runner.channels.get(message.channel)
        engine_channel = driver.capabilities.renders_as.value
        if contact is not None:
            apply_opt_outs(db, contact.id, [engine_channel], now)
        for session_id in db.scalars(select(FlowSession.id).where(
                FlowSession.account_id == number.account_id, FlowSession.channel == message.channel,
                FlowSession.address == message.address, FlowSession.status.in_(OPEN))):
            row = store.lock(db, session_id)
            if row.ended:
                continue
            store.append(db, row, [(EventKind.INPUT, message.input.kind.value, message.input.to_dict()),
                                   (EventKind.RUNTIME, "opted_out", {"channels": [engine_channel]})], now=now)
            store.end(db, row, SessionStatus.COMPLETED, "opted_out", now)
        text = opt_out_words.confirmation_text(confirmation, message.input.value)
        driver.deliver(db, Delivery(None, number.account_id, message.address, message.our_address, engine_channel,
                                    (Send(engine_channel, text, language=opt_out_words.script_language(text)),)))

    @staticmethod
    def _contact(db: Session, account_id: int, address: str) -> Contact | None:
        """The account's contact at ``address`` (a phone number), created if there is none; a
        name-style address (the lab's, the dev channel's) is no contact."""
        if not address.startswith("+"):
            return None
        contact = db.scalars(select(Contact).where(Contact.account_id == account_id, Contact.phone == address)).first()
        if contact is None:
            contact = Contact(account_id=account_id, phone=address, attributes={})
            db.add(contact)
            db.flush()  # a concurrent creator makes this an IntegrityError: receive() retries
        return contact
