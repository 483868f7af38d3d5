"""Routing a call that comes in, against the database: the dialled number → its owner account →
the inbound flow of its voice channel (pinned version, else the newest published one); the
caller → the account's contact with that phone (created if there is none); and the call's row
(``direction = "inbound"``), written before the call is answered so that a worker that dies
mid-call still leaves a record. The driver's CallSink completes the row when the call ends.

Implements :class:`voiceplatform.switches.inbound.InboundRouter`; the switches package never
imports this module (it is handed an instance by the dialler's composition).
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from voiceplatform.exceptions import UnsafeValueError, VoicePlatformError
from voiceplatform.flow import Flow
from voiceplatform.flow.loader import load_flow_text
from voiceplatform.inbound.addresses import DEFAULT_REGION, caller_number, normalise
from voiceplatform.models import Account, Call, Contact, FlowStatus, FlowVersion, Number
from voiceplatform.models.base import utcnow
from voiceplatform.phone import InvalidPhoneNumber
from voiceplatform.safety import switch_values
from voiceplatform.switches.inbound import InboundCall, InboundRejection, InboundRoute, RejectCause

log = logging.getLogger(__name__)

VOICE = "voice"
FLOW_CACHE = 256  # parsed published flow versions kept (a published version never changes)
MAX_CALLER_CHARS = 64  # the calls.caller column


class DatabaseInboundRouter:
    def __init__(self, sessions: sessionmaker[Session], region: str = DEFAULT_REGION) -> None:
        self.sessions = sessions
        self.region = region
        self._flows: OrderedDict[int, Flow] = OrderedDict()

    def route(self, call: InboundCall) -> InboundRoute | InboundRejection:
        try:
            dialled = normalise(call.dialled, self.region).number
        except (InvalidPhoneNumber, UnsafeValueError) as exc:
            return InboundRejection(RejectCause.UNKNOWN_NUMBER, f"dialled {call.dialled!r} is not a number: {exc}")
        try:
            return self._route(call, dialled)
        except IntegrityError:
            # another call from the same new caller created the contact first: now it exists
            return self._route(call, dialled)

    def _route(self, call: InboundCall, dialled: str) -> InboundRoute | InboundRejection:
        with self.sessions.begin() as session:
            number = session.scalars(select(Number).where(Number.number == dialled)).first()
            if number is None:
                return InboundRejection(RejectCause.UNKNOWN_NUMBER, f"{dialled} is not a number of any account")
            channel = number.channel(VOICE)
            if channel is None:
                return InboundRejection(RejectCause.NOT_ANSWERED_HERE, f"{dialled} (number {number.id}) takes no voice calls")
            name, version = channel.flow()
            if not name:
                return InboundRejection(RejectCause.NOT_ANSWERED_HERE, f"{dialled} (number {number.id}) has no inbound flow")
            row = self._published(session, number.account_id, name, version)
            if row is None:
                wanted = f"{name} version {version}" if version else f"a published version of {name}"
                return InboundRejection(RejectCause.NOT_ANSWERED_HERE,
                                        f"{dialled} (number {number.id}): {wanted} is missing or not published")
            try:
                flow = self._flow(row)
            except VoicePlatformError as exc:
                return InboundRejection(RejectCause.NOT_ANSWERED_HERE, f"{dialled}: flow {row.name} v{row.version} does not load: {exc}")
            account = session.get(Account, number.account_id)
            assert account is not None
            phone = caller_number(call.caller, self.region)
            contact = self._contact(session, account.id, phone) if phone else None
            caller = phone or _shown_caller(call.caller)
            session.add(Call(id=call.call_id, account_id=account.id, contact_id=contact.id if contact else None,
                             flow_version_id=row.id, flow_name=row.name, to=dialled, switch=call.switch,
                             direction="inbound", caller=caller, number_id=number.id, queued_at=utcnow()))
            session.flush()
            view = contact_view(contact) if contact else ({"phone": caller} if caller else {})
            return InboundRoute(call.call_id, account.name, flow, dialled, caller or "", view)

    @staticmethod
    def _published(session: Session, account_id: int, name: str, version: int | None) -> FlowVersion | None:
        query = select(FlowVersion).where(FlowVersion.account_id == account_id, FlowVersion.name == name,
                                          FlowVersion.status == FlowStatus.PUBLISHED)
        if version is not None:
            return session.scalars(query.where(FlowVersion.version == version)).first()
        return session.scalars(query.order_by(FlowVersion.version.desc())).first()

    def _flow(self, row: FlowVersion) -> Flow:
        flow = self._flows.get(row.id)
        if flow is None:
            flow = load_flow_text(row.definition, f"{row.name} v{row.version}")
            self._flows[row.id] = flow
            while len(self._flows) > FLOW_CACHE:
                self._flows.popitem(last=False)
        else:
            self._flows.move_to_end(row.id)
        return flow

    @staticmethod
    def _contact(session: Session, account_id: int, phone: str) -> Contact:
        """The account's contact with this phone, or a new one (the caller is a contact now)."""
        contact = session.scalars(select(Contact).where(Contact.account_id == account_id, Contact.phone == phone)).first()
        if contact is None:
            contact = Contact(account_id=account_id, phone=phone, attributes={})
            session.add(contact)
            session.flush()  # a concurrent creator makes this an IntegrityError: route() retries
            log.info("inbound call: new contact %s for %s in account %s", contact.id, phone, account_id)
        return contact


def contact_view(contact: Contact) -> dict[str, Any]:
    """``contact.*`` in the flow, as the dialler gives it for an outbound call."""
    view: dict[str, Any] = {**(contact.attributes or {}), "phone": contact.phone, "timezone": contact.timezone}
    if contact.language:
        view["language"] = contact.language
    return view


def _shown_caller(raw: str | None) -> str | None:
    """A caller that is not a phone number (a SIP user, ``anonymous``), kept for the record as
    plain text; None if it is empty or not even that."""
    if not raw:
        return None
    try:
        return switch_values.plain_text(raw, "caller", MAX_CALLER_CHARS)
    except UnsafeValueError:
        return None
