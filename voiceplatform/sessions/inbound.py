"""Routing inbound messages: our number → its account; opt-out words first; then the account's
waiting session for that contact on that channel (resumed, exactly once); else the number's
inbound flow for that channel (started); else an unsolicited message, stored and emitted as a
``message.received`` webhook. Never dropped.

Everything a message causes happens in one transaction with its receipt (the provider's
message id, when it has one): a provider that delivers the same message twice gets
``duplicate`` the second time, and a crash leaves either all of it or none of it.

**Batches.** :meth:`MessageRouter.receive_many` applies the messages that are waiting *now*
(it never waits for more) in one transaction: the receipts, the senders' contacts and the open
sessions of every sender are read in one statement each, the sessions locked together
(store.lock_many: ``FOR UPDATE`` in id order on PostgreSQL, so two workers' batches cannot
deadlock; the write lock on SQLite), each message is resumed with the pure engine in the order
received (two replies to the same session in one batch: one after the other), every row is
written at the end (store.batched) and one commit covers them all. If the batch fails (one
message's resume raised, a concurrent worker inserted the same receipt...), nothing of it was
committed and its messages are applied again one by one, each in its own transaction, so one
bad message costs the others nothing. Webhooks the steps ask for are performed after the
commit. :meth:`MessageRouter.receive` is a batch of one.

Our numbers and each account's opt-out words are kept per process for
voiceplatform.sessions.ttl_cache.SECONDS: a change applies within that bound.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Sequence

from sqlalchemy import and_, insert, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from voiceplatform.channels.contract import Delivery, InboundMessage
from voiceplatform.contacts.opt_out import apply_opt_outs
from voiceplatform.flow.outputs import HttpRequest, Send
from voiceplatform.inbound.router import DatabaseInboundRouter, contact_view
from voiceplatform.models import Contact, Number
from voiceplatform.models.base import utcnow
from voiceplatform.models.sessions import EventKind, FlowSession, InboundReceipt, SessionStatus, UnsolicitedMessage
from voiceplatform.sessions.arrival_order import ArrivalOrder
from voiceplatform.sessions import opt_out_words, store, writes
from voiceplatform.sessions.opt_out_words import OptOutWords
from voiceplatform.sessions.runner import RunResult, SessionRunner
from voiceplatform.sessions.ttl_cache import SECONDS, TtlCache
from voiceplatform.webhooks.events import MESSAGE_RECEIVED, emit

log = logging.getLogger(__name__)

OPEN = (SessionStatus.WAITING.value, SessionStatus.ACTIVE.value)
MAX_BATCH = 500  # messages in one transaction (a longer list is applied as several batches)
RECEIPTS = writes.table_of(InboundReceipt)

FollowUp = tuple[RunResult, list[HttpRequest]]
Sender = tuple[int, str, str]  # account, channel, the sender's address


@dataclass(frozen=True, slots=True)
class Routed:
    """What became of a message: ``resumed``, ``started``, ``unsolicited``, ``opted_out``,
    ``duplicate`` (its message id was applied before), ``unknown_number``, or ``failed`` (only
    from :meth:`MessageRouter.receive_many`: it could not be applied, ``error`` says why, and
    nothing of it was committed)."""

    outcome: str
    account_id: int | None = None
    session_id: str | None = None
    unsolicited_id: int | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class NumberRoute:
    """Our number as the router needs it: its id, its account, and the inbound flow (name,
    pinned version or None) of each channel it takes."""

    number_id: int
    account_id: int
    flows: dict[str, tuple[str | None, int | None]]

    @classmethod
    def of(cls, number: Number) -> NumberRoute:
        return cls(number.id, number.account_id, {row.channel: row.flow() for row in number.channels})


@dataclass
class _Batch:
    """What one transaction knows about its messages."""

    db: Session
    now: datetime
    contacts: dict[tuple[int, str], Contact] = field(default_factory=dict)
    open: dict[Sender, list[FlowSession]] = field(default_factory=dict)  # locked, oldest id first
    applied: set[tuple[str, str]] = field(default_factory=set)  # (channel, provider message id)
    receipts: list[dict[str, Any]] = field(default_factory=list)
    follow: list[FollowUp] = field(default_factory=list)


class MessageRouter:
    def __init__(self, runner: SessionRunner, *, cache_seconds: float = SECONDS) -> None:
        self.runner = runner
        self.arrivals = ArrivalOrder()  # one contact's messages applied in the order received here
        self.numbers: TtlCache[str, NumberRoute] = TtlCache(cache_seconds)
        self.opt_out_words: TtlCache[int, OptOutWords] = TtlCache(cache_seconds)

    def receive(self, message: InboundMessage, *, account_ids: list[int] | None = None) -> Routed:
        """Apply ``message``. ``account_ids`` limits which accounts' numbers it may reach (the
        dev channel's route: the caller's own); a number outside them is ``unknown_number``."""
        with self.arrivals.held([(message.channel, message.address)]):
            try:
                routed, follow = self._apply([message], account_ids)
            except IntegrityError:
                # a concurrent delivery of the same message id (or the same new contact) won: read again
                routed, follow = self._apply([message], account_ids)
        self._follow(follow)
        return routed[0]

    def receive_many(self, messages: Sequence[InboundMessage], *,
                     account_ids: list[int] | None = None) -> list[Routed]:
        """Apply the messages waiting now, in the order received, in batches of at most
        :data:`MAX_BATCH` (see the module's docstring); one :class:`Routed` each, in order.
        Answer each sender only after this returns: its message is committed then."""
        routed: list[Routed] = []
        for first in range(0, len(messages), MAX_BATCH):
            routed += self._batch(messages[first:first + MAX_BATCH], account_ids)
        return routed

    # ---- one batch -----------------------------------------------------------------------------

    def _batch(self, messages: Sequence[InboundMessage], account_ids: list[int] | None) -> list[Routed]:
        try:
            with self.arrivals.held((message.channel, message.address) for message in messages):
                routed, follow = self._apply(messages, account_ids)
        except Exception as exc:  # one message's failure must not cost the others theirs
            log.warning("a batch of %d inbound messages failed (%s: %s); applying them one by one",
                        len(messages), type(exc).__name__, exc)
            return [self._alone(message, account_ids) for message in messages]
        self._follow(follow)
        return routed

    def _alone(self, message: InboundMessage, account_ids: list[int] | None) -> Routed:
        try:
            return self.receive(message, account_ids=account_ids)
        except Exception as exc:
            log.exception("inbound %s message from %s to %s (id %s) not applied", message.channel, message.address,
                          message.our_address, message.message_id)
            return Routed("failed", error=f"{type(exc).__name__}: {exc}")

    def _apply(self, messages: Sequence[InboundMessage],
               account_ids: list[int] | None) -> tuple[list[Routed], list[FollowUp]]:
        with self.runner.sessions.begin() as db, store.batched(db):
            store.take_write_lock(db)  # SQLite: before the reads below; nothing on PostgreSQL
            batch = _Batch(db, utcnow())
            routes = self._routes(db, messages, account_ids)
            known = [(message, route) for message, route in zip(messages, routes) if route is not None]
            batch.applied = self._applied(db, [message for message, _ in known])
            batch.open = self._open_sessions(db, {(route.account_id, message.channel, message.address)
                                                  for message, route in known})
            batch.contacts = self._contacts(db, {(route.account_id, message.address) for message, route in known},
                                            batch.open)
            routed = [self._one(batch, message, route) if route is not None else Routed("unknown_number")
                      for message, route in zip(messages, routes)]
            writes.insert_later(db, RECEIPTS, batch.receipts)
        return routed, batch.follow

    def _one(self, batch: _Batch, message: InboundMessage, route: NumberRoute) -> Routed:
        receipt = (message.channel, message.message_id) if message.message_id else None
        if receipt is not None and receipt in batch.applied:
            return Routed("duplicate", route.account_id)
        routed = self._route(batch, route, message)
        if receipt is not None:
            batch.applied.add(receipt)
            batch.receipts.append({"channel": message.channel, "message_id": message.message_id,
                                   "account_id": route.account_id, "session_id": routed.session_id,
                                   "outcome": routed.outcome, "received_at": batch.now})
        return routed

    def _route(self, batch: _Batch, route: NumberRoute, message: InboundMessage) -> Routed:
        db, account_id = batch.db, route.account_id
        sender = (account_id, message.channel, message.address)
        contact = batch.contacts.get((account_id, message.address))
        words = self._words(db, account_id)
        if message.input.value and words.matches(message.input.value):
            self._opt_out(batch, route, sender, contact, message, words)
            return Routed("opted_out", account_id)
        for row in sorted(batch.open.get(sender, ()), key=lambda candidate: candidate.updated_at, reverse=True):
            result, requests = self.runner.resume_in(db, row, message.input)
            if result.outcome == "resumed":
                if requests:
                    batch.follow.append((result, requests))
                return Routed("resumed", account_id, row.id)
        name, version = route.flows[message.channel]
        if name:
            published = DatabaseInboundRouter._published(db, account_id, name, version)
            if published is not None:
                result, requests = self.runner.start_in(
                    db, account_id=account_id, flow_version_id=published.id, channel=message.channel,
                    address=message.address, our_address=message.our_address, number_id=route.number_id,
                    contact_id=contact.id if contact else None,
                    contact=contact_view(contact) if contact else {"phone": message.address},
                    language=contact.language if contact else None, trigger=message.input)
                started = db.get(FlowSession, result.session_id)  # in the session already: no read
                if started is not None:
                    batch.open.setdefault(sender, []).append(started)  # the sender's next message resumes it
                if requests:
                    batch.follow.append((result, requests))
                return Routed("started", account_id, result.session_id)
        kept = UnsolicitedMessage(account_id=account_id, number_id=route.number_id,
                                  contact_id=contact.id if contact else None, channel=message.channel,
                                  address=message.address, our_address=message.our_address,
                                  input=message.input.to_dict(), provider_message_id=message.message_id,
                                  received_at=utcnow())
        db.add(kept)
        db.flush()
        emit(db, account_id, MESSAGE_RECEIVED, {
            "message_id": kept.id, "channel": message.channel, "from": message.address, "to": message.our_address,
            "number_id": route.number_id, "contact_id": kept.contact_id, "text": message.input.value,
            "provider_message_id": message.message_id, "received_at": kept.received_at.isoformat()})
        return Routed("unsolicited", account_id, unsolicited_id=kept.id)

    def _opt_out(self, batch: _Batch, route: NumberRoute, sender: Sender, contact: Contact | None,
                 message: InboundMessage, words: OptOutWords) -> None:
        """Opted out on this channel, its open sessions ended, the confirmation queued."""
        db, now = batch.db, utcnow()
        driver = self.runner.channels.get(message.channel)
        engine_channel = driver.capabilities.renders_as.value
        if contact is not None:
            apply_opt_outs(db, contact.id, [engine_channel], now)
        for row in batch.open.get(sender, ()):
            if row.ended:
                continue
            store.append(db, row, [(EventKind.INPUT, message.input.kind.value, message.input.to_dict()),
                                   (EventKind.RUNTIME, "opted_out", {"channels": [engine_channel]})], now=now)
            store.end(db, row, SessionStatus.COMPLETED, "opted_out", now)
        text = words.confirmation_for(message.input.value)
        driver.deliver(db, Delivery(None, route.account_id, message.address, message.our_address, engine_channel,
                                    (Send(engine_channel, text, language=opt_out_words.script_language(text)),)))

    # ---- what a batch reads, one statement each ------------------------------------------------

    def _routes(self, db: Session, messages: Sequence[InboundMessage],
                account_ids: list[int] | None) -> list[NumberRoute | None]:
        """Each message's number (None: not ours, not on that channel, or not the caller's)."""
        found = {address: self.numbers.get(address) for address in {m.our_address for m in messages}}
        missing = [address for address, route in found.items() if route is None]
        if missing:
            for number in db.scalars(select(Number).where(Number.number.in_(missing))):
                found[number.number] = self.numbers.put(number.number, NumberRoute.of(number))
        routes: list[NumberRoute | None] = []
        for message in messages:
            route = found.get(message.our_address)
            if route is None or message.channel not in route.flows or (
                    account_ids is not None and route.account_id not in account_ids):
                route = None
            routes.append(route)
        return routes

    def _words(self, db: Session, account_id: int) -> OptOutWords:
        words = self.opt_out_words.get(account_id)
        return words if words is not None else self.opt_out_words.put(account_id,
                                                                       opt_out_words.settings_for(db, account_id))

    @staticmethod
    def _applied(db: Session, messages: list[InboundMessage]) -> set[tuple[str, str]]:
        """The (channel, message id) pairs among ``messages`` that were applied before."""
        ids = {(message.channel, message.message_id) for message in messages if message.message_id}
        found: set[tuple[str, str]] = set()
        for channel in {channel for channel, _ in ids}:
            found.update((channel, message_id) for message_id in db.scalars(select(InboundReceipt.message_id).where(
                InboundReceipt.channel == channel,
                store.one_of(db, InboundReceipt.message_id, {id_ for kind, id_ in ids if kind == channel}))))
        return found

    @staticmethod
    def _contacts(db: Session, senders: set[tuple[int, str]],
                  open_sessions: dict[Sender, list[FlowSession]]) -> dict[tuple[int, str], Contact]:
        """The account's contact at each address that is a phone number, created if there is
        none (a name-style address, the lab's or the dev channel's, is no contact). A sender
        with an open session of its contact (read with the sessions) needs no query."""
        phones = {(account_id, address) for account_id, address in senders if address.startswith("+")}
        found: dict[tuple[int, str], Contact] = {}
        for (account_id, _, address), rows in open_sessions.items():
            for row in rows:
                contact = db.get(Contact, row.contact_id) if row.contact_id is not None else None
                if contact is not None and contact.phone == address:
                    found[(account_id, address)] = contact
        phones -= found.keys()
        if not phones:
            return found
        for account_id in {account_id for account_id, _ in phones}:
            for contact in db.scalars(select(Contact).where(
                    Contact.account_id == account_id,
                    store.one_of(db, Contact.phone, {phone for owner, phone in phones if owner == account_id}))
                    .order_by(Contact.id)):
                found.setdefault((contact.account_id, contact.phone), contact)
        new = [{"account_id": account_id, "phone": phone, "attributes": {}}
               for account_id, phone in sorted(phones - found.keys())]
        if new:  # one INSERT ... RETURNING for all; a concurrent creator makes it an IntegrityError
            for contact in db.scalars(insert(Contact).returning(Contact), new):
                found[(contact.account_id, contact.phone)] = contact
        return found

    @staticmethod
    def _open_sessions(db: Session, senders: set[Sender]) -> dict[Sender, list[FlowSession]]:
        """Every sender's open sessions, locked together (store.lock_many)."""
        if not senders:
            return {}
        groups = {(account_id, channel) for account_id, channel, _ in senders}
        matches = [and_(FlowSession.account_id == account_id, FlowSession.channel == channel,
                        store.one_of(db, FlowSession.address,
                                     {address for owner, kind, address in senders if (owner, kind) == (account_id, channel)}))
                   for account_id, channel in sorted(groups)]
        found: dict[Sender, list[FlowSession]] = {}
        for row in store.lock_many(db, or_(*matches), FlowSession.status.in_(OPEN)):
            found.setdefault((row.account_id, row.channel, row.address), []).append(row)
        return found

    def _follow(self, follow: list[FollowUp]) -> None:
        """The webhooks of committed steps; one that fails leaves its session to the sweeper
        (it is ``active`` with an expiry) and costs the others nothing."""
        for result, requests in follow:
            try:
                self.runner.follow_http(result, requests)
            except Exception:
                log.exception("session %s: its webhook could not be followed; the sweeper will expire it",
                              result.session_id)
