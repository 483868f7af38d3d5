"""One request's messages, from one sender: each checked, measured and priced on its own (a row's
error never stops the others), then the accepted ones handed to the channel and charged together,
in the request's transaction.

Checked per message: the recipient is a phone number (E.164, or national in ``region``); the
text is not empty once trimmed (the one-message flow sends it trimmed) and takes at most
``max_sms_parts`` parts; the recipient is not on the account's do-not-call list nor a contact
opted out of SMS (the shared handling would suppress the message anyway: refusing it says so,
and charges nothing). Measured: encoding and parts (voiceplatform.text.sms_segments.measure).
Priced: per part at the destination country's rate (campaigns.pricing.Rates). Warned: a
country that requires sender registration, from a sender not registered there
(voiceplatform.messages.countries).

**On WhatsApp** (``channel="whatsapp"``) a message is a text, a template or both
(voiceplatform.messages.whatsapp_content, checked before it gets here); its recipient must be a
phone number, and a contact opted out of WhatsApp is refused; it is one message, not parts, with
no country warning (WhatsApp has no sender IDs); its cost is held on submission and settled by
its final status (voiceplatform.messages.whatsapp_charges).

Handed over: each message is a session of the account's one-message flow started through the
shared runner, whose driver (the SMS bridge, else the dev channel) queues it inside this
transaction, with its ``api_messages`` row. The account is charged **on submission** with one
conditional UPDATE (``balance >= cost``): a balance that does not cover the whole request rolls
everything back, and the request is a 402 (``insufficient_credit``), as for calls and campaigns.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Iterable, Sequence

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from voiceplatform import limits
from voiceplatform.campaigns.pricing import QUANTUM, Rates
from voiceplatform.contacts.opt_out import accepts
from voiceplatform.db import rows_changed
from voiceplatform.exceptions import MessageRefusedError
from voiceplatform.messages import countries, senders, whatsapp_charges
from voiceplatform.messages.one_message_flow import TEXT_FIELD, param_fields
from voiceplatform.messages.whatsapp_content import WhatsAppContent
from voiceplatform.messages.statuses import ACCEPTED
from voiceplatform.models import Account, Contact, DoNotCall
from voiceplatform.models.base import utcnow
from voiceplatform.models.messages import ApiMessage
from voiceplatform.phone import InvalidPhoneNumber, region_of, to_e164
from voiceplatform.sessions import store
from voiceplatform.sessions.runner import SessionRunner
from voiceplatform.text.sms_segments import SmsSize, measure

ENGINE_CHANNEL = "sms"
WHATSAPP = "whatsapp"
BSUID = re.compile(r"[A-Z]{2}\.(?:ENT\.)?[0-9]{1,40}")  # a business-scoped WhatsApp user id: US.1349...
CHANNEL_NAMES = {"sms": "SMS", WHATSAPP: "WhatsApp"}
CHUNK = 500  # phones per IN (...) when reading the do-not-call list and the contacts
MAX_TEXT_CHARS = 4_096  # before measuring: a longer text is refused without counting its parts


@dataclass(frozen=True)
class Outgoing:
    """One message asked for: ``to`` as the client wrote it, its text, its row in a CSV."""

    to: str
    text: str
    row: int | None = None
    whatsapp: WhatsAppContent | None = None  # a WhatsApp message's text and template


@dataclass(frozen=True)
class Prepared:
    """A message that passed its checks, measured and priced."""

    row: int | None
    to: str  # E.164
    country: str | None
    text: str
    size: SmsSize | None  # None on WhatsApp
    cost: Decimal
    contact_id: int | None = None
    warnings: tuple[dict[str, Any], ...] = ()
    whatsapp: WhatsAppContent | None = None

    @property
    def encoding(self) -> str:
        return self.size.encoding.value if self.size is not None else ""

    @property
    def parts(self) -> int:
        return self.size.segments if self.size is not None else 1


@dataclass(frozen=True)
class Refused:
    row: int | None
    to: str
    error: MessageRefusedError


@dataclass
class Submission:
    """The messages of one request from ``sender`` for ``account_id`` (see the module's docstring)."""

    db: Session
    runner: SessionRunner
    rates: Rates
    account_id: int
    sender: senders.Sender
    transport: str
    interface: str
    region: str = "US"
    batch: str | None = None
    required: frozenset[str] = field(default_factory=countries.registration_countries)
    channel: str = ENGINE_CHANNEL  # the engine channel: sms or whatsapp

    # ---- checking, measuring, pricing ------------------------------------------------------------

    def prepare(self, items: Sequence[Outgoing]) -> list[Prepared | Refused]:
        """Each item as a Prepared message, or Refused with its error, in order."""
        checked: list[Prepared | Refused] = [self._one(item) for item in items]
        blocked, contacts = self._reachability([p.to for p in checked if isinstance(p, Prepared)])
        out: list[Prepared | Refused] = []
        for entry in checked:
            if isinstance(entry, Prepared):
                if entry.to in blocked:
                    entry = Refused(entry.row, entry.to, blocked[entry.to])
                else:
                    entry = Prepared(entry.row, entry.to, entry.country, entry.text, entry.size, entry.cost,
                                     contacts.get(entry.to), entry.warnings, entry.whatsapp)
            out.append(entry)
        return out

    def _one(self, item: Outgoing) -> Prepared | Refused:
        if self.channel == WHATSAPP:
            return self._whatsapp(item)
        try:
            to = _phone(item.to, self.region)
            text = _text(item.text)
        except MessageRefusedError as error:
            return Refused(item.row, item.to, error)
        size = measure(text)
        if size.segments > limits.current().max_sms_parts:
            return Refused(item.row, to, MessageRefusedError(
                "too_long", f"the text takes {size.segments} SMS parts ({size.encoding.value}, {size.units} units); "
                f"at most {limits.current().max_sms_parts} are sent", field="text"))
        country = region_of(to)
        warning = countries.warning(self.sender.address, country, self.sender.registered_in, self.required)
        cost = self.rates.message_cost(ENGINE_CHANNEL, 1, size.segments, to=to).quantize(QUANTUM)
        return Prepared(item.row, to, country, text, size, cost, None, (warning,) if warning else ())

    def _whatsapp(self, item: Outgoing) -> Prepared | Refused:
        try:
            if isinstance(item.to, str) and BSUID.fullmatch(item.to.strip()):
                raise MessageRefusedError("invalid_number", "a WhatsApp user id (BSUID) is not a recipient of POST "
                                          "/messages: give the contact's phone number (E.164)", field="to")
            to = _phone(item.to, self.region)
            if item.whatsapp is None:
                raise MessageRefusedError("empty_text", "a WhatsApp message needs a text, a template or both",
                                          field="text")
        except MessageRefusedError as error:
            return Refused(item.row, item.to, error)
        cost = whatsapp_charges.hold_for(self.rates, item.whatsapp)
        return Prepared(item.row, to, region_of(to), item.whatsapp.text, None, cost, None, (), item.whatsapp)

    def _reachability(self, phones: Iterable[str]) -> tuple[dict[str, MessageRefusedError], dict[str, int]]:
        """The recipients that may not be sent to (do-not-call, opted out of SMS) with why, and the
        contact id of each known one (its session is the contact's)."""
        wanted = sorted(set(phones))
        blocked: dict[str, MessageRefusedError] = {}
        contact_ids: dict[str, int] = {}
        for start in range(0, len(wanted), CHUNK):
            chunk = wanted[start:start + CHUNK]
            for phone in self.db.scalars(select(DoNotCall.phone).where(DoNotCall.account_id == self.account_id,
                                                                      DoNotCall.phone.in_(chunk))):
                blocked[phone] = MessageRefusedError("do_not_call", f"{phone} is on the do-not-call list", field="to",
                                                     status=409)
            for contact_id, phone, channels, opted_out_at in self.db.execute(
                    select(Contact.id, Contact.phone, Contact.channels, Contact.opted_out_at)
                    .where(Contact.account_id == self.account_id, Contact.phone.in_(chunk))):
                if not accepts(channels, opted_out_at, self.channel):
                    blocked.setdefault(phone, MessageRefusedError(
                        "opted_out", f"{phone} has opted out of {CHANNEL_NAMES.get(self.channel, self.channel)}",
                        field="to", status=409))
                contact_ids.setdefault(phone, contact_id)
        return blocked, contact_ids

    # ---- handing over and charging ---------------------------------------------------------------

    def submit(self, prepared: Sequence[Prepared], flow_version_id: int) -> list[ApiMessage]:
        """Start each message's session, record it and charge the account, in ``db``'s transaction
        (the caller commits). MessageRefusedError (402) when the balance does not cover them all:
        the transaction is rolled back first."""
        total = sum((p.cost for p in prepared), Decimal(0))
        account = self.db.get(Account, self.account_id)
        balance = account.balance if account is not None else Decimal(0)
        if (balance or 0) < total:
            raise _no_credit(total, balance or Decimal(0))
        now = utcnow()
        rows: list[ApiMessage] = []
        with store.batched(self.db):
            for message in prepared:
                template = message.whatsapp.template if message.whatsapp is not None else None
                contact = {"phone": message.to, TEXT_FIELD: message.text,
                           **(param_fields(template.params) if template is not None else {})}
                started, _ = self.runner.start_in(
                    self.db, account_id=self.account_id, flow_version_id=flow_version_id, channel=self.transport,
                    address=message.to, our_address=self.sender.address, number_id=self.sender.number_id,
                    contact_id=message.contact_id, contact=contact, renders_as=self.channel)
                rows.append(ApiMessage(
                    account_id=self.account_id, session_id=started.session_id, interface=self.interface,
                    batch=self.batch, row=message.row, sender=self.sender.address, recipient=message.to,
                    country=message.country, transport=self.transport, channel=self.channel, text=message.text,
                    encoding=message.encoding, parts=message.parts, cost=message.cost,
                    template=template.stored() if template is not None else None,
                    held=message.cost if self.channel == WHATSAPP and message.cost else None,
                    status=ACCEPTED, created_at=now, status_at=now))
        self.db.add_all(rows)
        self.db.flush()
        if total and not rows_changed(self.db, update(Account).where(Account.id == self.account_id,
                                                                      Account.balance >= total)
                                      .values(balance=Account.balance - total)):
            self.db.rollback()  # a concurrent charge took the credit: nothing of this request is kept
            fresh = self.db.get(Account, self.account_id)
            raise _no_credit(total, fresh.balance if fresh is not None else Decimal(0))
        return rows


def _phone(raw: str, region: str) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise MessageRefusedError("invalid_number", "the recipient's number is empty", field="to")
    try:
        return to_e164(raw[:64], region)
    except InvalidPhoneNumber as exc:
        raise MessageRefusedError("invalid_number", str(exc), field="to") from exc


def _text(raw: str) -> str:
    if not isinstance(raw, str):
        raise MessageRefusedError("invalid_text", "the text must be a string", field="text")
    if len(raw) > MAX_TEXT_CHARS:
        raise MessageRefusedError("too_long", f"the text is {len(raw):,} characters; at most "
                                  f"{limits.current().max_sms_parts} SMS parts are sent", field="text")
    if "\x00" in raw:
        raise MessageRefusedError("invalid_text", "the text contains a NUL character", field="text")
    text = raw.strip()
    if not text:
        raise MessageRefusedError("empty_text", "the text is empty", field="text")
    return text


def _no_credit(total: Decimal, balance: Decimal) -> MessageRefusedError:
    return MessageRefusedError("insufficient_credit", f"the balance ({balance}) does not cover these messages "
                               f"({total}); add credit first", status=402)
