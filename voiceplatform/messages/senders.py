"""Which senders an account may send from: its own numbers (``POST /numbers``) and the sender
IDs it registered (``POST /senders``), never another account's (a sub-account's and its
master's are each their own). A sender's registered countries (its ``sender_ids`` row: an own
number may have one too) are what the country check reads (voiceplatform.messages.countries).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from voiceplatform.exceptions import InputRejectedError, MessageRefusedError
from voiceplatform.inbound.addresses import normalise
from voiceplatform.messages import countries
from voiceplatform.models import Number, NumberChannel
from voiceplatform.models.messages import SenderId
from voiceplatform.phone import InvalidPhoneNumber


@dataclass(frozen=True)
class Sender:
    """What a message is sent from: ``address`` (a number of the account, ``number_id`` its
    row, or a registered sender ID) and the countries it is registered in."""

    address: str
    number_id: int | None
    registered_in: frozenset[str]


def default_number(db: Session, account_id: int, transport: str) -> Number | None:
    """The account's first number that takes ``transport`` (what it sends from when no sender is
    named); None when it has none."""
    return db.scalars(select(Number).join(NumberChannel, NumberChannel.number_id == Number.id)
                      .where(Number.account_id == account_id, NumberChannel.channel == transport)
                      .order_by(Number.id)).first()


def registered_countries(db: Session, account_id: int, address: str) -> frozenset[str]:
    """The countries ``address`` is registered in as one of the account's sender IDs."""
    countries = db.scalar(select(SenderId.countries).where(SenderId.account_id == account_id, SenderId.sender == address))
    return frozenset(countries or ())


def own_number(db: Session, account_id: int, raw: str) -> Number | None:
    """The account's number ``raw`` is (in any spelling ``POST /numbers`` accepts), or None."""
    try:
        spelled = normalise(raw).number
    except (InvalidPhoneNumber, InputRejectedError):
        spelled = raw
    return db.scalars(select(Number).where(Number.account_id == account_id, Number.number.in_({raw, spelled}))).first()


def is_own_sender(db: Session, account_id: int, raw: str) -> bool:
    """Whether the account may send from ``raw`` (one of its numbers or registered sender IDs)."""
    registered = db.scalar(select(SenderId.id).where(SenderId.account_id == account_id, SenderId.sender == raw.strip()))
    return registered is not None or own_number(db, account_id, raw) is not None


def resolve(db: Session, account_id: int, raw: str | None, transport: str) -> Sender:
    """The sender ``raw`` names for the account; without one, the account's first number on
    ``transport``. MessageRefusedError (400, field ``from``) when it is not the account's."""
    if raw is None:
        number = default_number(db, account_id, transport)
        if number is None:
            raise MessageRefusedError("no_sender", f"give 'from': the account has no number on {transport} and no "
                                      "default sender", field="from", status=400)
        return Sender(number.number, number.id, registered_countries(db, account_id, number.number))
    value = raw.strip()
    registered = db.scalars(select(SenderId).where(SenderId.account_id == account_id, SenderId.sender == value)).first()
    number = own_number(db, account_id, value) if value else None
    if number is not None:
        return Sender(number.number, number.id, registered_countries(db, account_id, number.number)
                      | frozenset(registered.countries if registered else ()))
    if registered is not None:
        return Sender(registered.sender, None, frozenset(registered.countries or ()))
    raise MessageRefusedError("sender_refused", f"{value[:64]!r} is neither a number nor a registered sender ID of this "
                              "account (GET /numbers, GET /senders)", field="from", status=400)


def resolve_number(db: Session, account_id: int, raw: str | None, transport: str) -> Sender:
    """The business number ``raw`` names for a WhatsApp message (without one, the account's first
    number on ``transport``): it must be one of the account's numbers and take ``transport``
    (WhatsApp sends from a phone number, never a sender ID). MessageRefusedError (400, field
    ``from``) otherwise."""
    sender = resolve(db, account_id, raw, transport)
    number = db.get(Number, sender.number_id) if sender.number_id is not None else None
    if number is None:
        raise MessageRefusedError("sender_refused", f"{sender.address!r} is a sender ID: WhatsApp sends from one of the "
                                  "account's numbers (GET /numbers)", field="from", status=400)
    if number.channel(transport) is None:
        raise MessageRefusedError("sender_refused", f"{number.number} does not take {transport} messages (its channels: "
                                  f"{', '.join(sorted(c.channel for c in number.channels)) or 'none'}; PATCH "
                                  "/numbers/{id})", field="from", status=400)
    return sender


def destination_warnings(db: Session, account_id: int, sender: str | None, transport: str,
                         prefixes: Iterable[str]) -> list[dict[str, Any]]:
    """The country check (brief 4.2.9) for a list of recipients, known by the first four
    characters of their numbers (``+966``: distinct in SQL, so a list of any size costs one
    query): a warning per country that requires registration where the sender (or, with none,
    the account's default sender) is not registered. A calling code shared by several countries
    (+7: RU and KZ) warns for each of them that requires registration. None when the sender is
    not the account's (the campaign's own checks say so)."""
    try:
        resolved = resolve(db, account_id, sender, transport)
    except MessageRefusedError:
        return []
    required = countries.registration_countries()
    found: dict[str, dict[str, Any]] = {}
    for prefix in prefixes:
        for region in countries.regions_of_prefix(prefix or ""):
            warned = countries.warning(resolved.address, region, resolved.registered_in, required)
            if warned is not None:
                found.setdefault(region, warned)
    return [found[region] for region in sorted(found)]
