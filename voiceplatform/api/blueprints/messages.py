"""Messages: send one SMS or WhatsApp message (``POST /messages``, ``channel`` ``sms`` by default
or ``whatsapp``), read one (``GET /messages/{id}``) and list them with their counts
(``GET /messages``: the brief's reports, 4.9: messages counted, not parts, with the parts beside
them). docs/messages-api.md."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Sequence

from flask import Blueprint, current_app, request
from sqlalchemy import Select, func, select

from voiceplatform.api.auth import account_id, owned, requires, visible_accounts
from voiceplatform.api.errors import ApiError, bad_request
from voiceplatform.api.idempotency import idempotent
from voiceplatform.api.pagination import page_of
from voiceplatform.api.requests import field, json_body, query_id, query_time
from voiceplatform.campaigns.pricing import Rates
from voiceplatform.channels.dev.routes import messaging
from voiceplatform.db.request_session import db
from voiceplatform.exceptions import ChannelUnavailableError, MessageRefusedError
from voiceplatform.messages import senders
from voiceplatform.messages.one_message_flow import DEFINITION, flow_version_id, whatsapp_definition
from voiceplatform.messages.statuses import STATUSES
from voiceplatform.messages.submission import CHANNEL_NAMES, ENGINE_CHANNEL, WHATSAPP, Outgoing, Prepared, Submission
from voiceplatform.messages.whatsapp_catalog import catalog_for
from voiceplatform.messages.whatsapp_content import WhatsAppContent, read_content
from voiceplatform.models import Account, Role
from voiceplatform.models.base import utcnow
from voiceplatform.models.messages import CHANNELS, INTERFACES, ApiMessage

blueprint = Blueprint("messages", __name__, url_prefix="/messages")
MAX_PERIOD = timedelta(days=31)  # the brief's reports: "a maximum one-month period" (4.9.1)
SEND_FIELDS = ("to", "text", "from", "region", "channel")
WHATSAPP_FIELDS = SEND_FIELDS + ("template",)
NO_BUTTONS = ("'buttons' are not sent by POST /messages: a message of the API is a session that ends at once, so a "
              "button's tap would answer nothing (it would arrive as a message.received webhook). Send a question "
              "with reply buttons from a flow (a gather with choices, POST /flows), or write the choices in the text")
NO_CALLBACK = ("delivery reports go to the account's webhooks (POST /webhooks, event message.status); "
               "a request takes no callback URL")


def refused(error: MessageRefusedError) -> ApiError:
    """A refused message as the API's answer."""
    return ApiError(error.status, error.code, error.message, {"field": error.field} if error.field else None)


def known_fields(body: dict[str, Any], allowed: Sequence[str]) -> None:
    """400 naming the fields ``body`` has beyond ``allowed`` (a callback URL is one: brief 4.7)."""
    unknown = sorted(set(body) - set(allowed))
    if unknown:
        raise bad_request(f"unknown fields {unknown}; this request takes {list(allowed)}"
                          + (f": {NO_CALLBACK}" if any("callback" in name.lower() for name in unknown) else ""),
                          {"fields": unknown})


def submission(interface: str, sender: str | None, region: Any, batch: str | None = None,
               channel: str = ENGINE_CHANNEL) -> Submission:
    """A Submission for the account from ``sender``, on the driver that delivers ``channel``
    (sms or whatsapp: its bridge, else the dev channel standing in)."""
    if not isinstance(region, str) or not 1 <= len(region) <= 3:
        raise bad_request("'region' must be a country code such as SA or US", {"field": "region"})
    runtime = messaging()
    try:
        transport = runtime.channels.for_engine_channel(channel).capabilities.name
    except ChannelUnavailableError as exc:
        raise ApiError(503, "no_channel", f"no channel sends {CHANNEL_NAMES[channel]} on this installation: "
                       f"{exc}") from exc
    try:
        if channel == WHATSAPP:
            resolved = senders.resolve_number(db(), account_id(), sender, transport)
        else:
            resolved = senders.resolve(db(), account_id(), sender, transport)
    except MessageRefusedError as error:
        raise refused(error) from error
    rates: Rates = current_app.extensions["vp_rates"]
    return Submission(db(), runtime.runner, rates, account_id(), resolved, transport, interface,
                      region=region.upper(), batch=batch, channel=channel)


def hand_over(sending: Submission, prepared: list[Prepared], definition: str = DEFINITION) -> list[ApiMessage]:
    """Submit ``prepared`` (charged, queued) in the request's transaction, as sessions of the
    one-message flow ``definition``."""
    flow = flow_version_id(current_app.extensions["vp_sessions"], sending.account_id, definition)
    try:
        return sending.submit(prepared, flow)
    except MessageRefusedError as error:
        raise refused(error) from error


def currency() -> str:
    account = db().get(Account, account_id())
    return account.currency if account is not None else "USD"


def message_view(row: ApiMessage, **extra: Any) -> dict[str, Any]:
    template = row.template if isinstance(row.template, dict) else None
    return {"id": row.id, "account_id": row.account_id, "channel": row.channel or ENGINE_CHANNEL,
            "status": row.status, "from": row.sender, "to": row.recipient, "country": row.country,
            "text": row.text or None, "template": template, "encoding": row.encoding or None, "parts": row.parts,
            "cost": str(row.cost), "cost_final": row.held is None, "interface": row.interface,
            "batch_id": row.batch, "row": row.row, "transport": row.transport, "session_id": row.session_id,
            "created_at": row.created_at.isoformat(), "status_at": row.status_at.isoformat(), **extra}


def _channel(body: dict[str, Any]) -> str:
    channel = body.get("channel", ENGINE_CHANNEL)
    if channel not in CHANNELS:
        raise bad_request(f"'channel' must be one of {list(CHANNELS)} (default sms)", {"field": "channel"})
    return str(channel)


def _whatsapp_content(body: dict[str, Any]) -> WhatsAppContent:
    try:
        return read_content(field(body, "text", str, required=False), body.get("template"),
                            catalog_for(db(), account_id()))
    except MessageRefusedError as error:
        raise refused(error) from error


@blueprint.post("")
@requires(Role.OPERATOR)
@idempotent
def send():  # type: ignore[no-untyped-def]
    """One SMS or WhatsApp message, at once: 202 with its id, parts, encoding, cost and any
    country warning."""
    body = json_body()
    if "buttons" in body:
        raise bad_request(NO_BUTTONS, {"field": "buttons"}, code="buttons_unsupported")
    channel = _channel(body)
    if channel != WHATSAPP and "template" in body:
        raise bad_request("'template' is a WhatsApp template: give \"channel\": \"whatsapp\"", {"field": "template"})
    known_fields(body, WHATSAPP_FIELDS if channel == WHATSAPP else SEND_FIELDS)
    to = field(body, "to", str)
    sender = field(body, "from", str, required=False)
    if channel == WHATSAPP:
        content = _whatsapp_content(body)
        sending = submission("api", sender, body.get("region", "US"), channel=WHATSAPP)
        outgoing = Outgoing(to, content.text, whatsapp=content)
        template = content.template
        definition = whatsapp_definition(template.name, template.language, len(template.params)) if template \
            else whatsapp_definition()
    else:
        text = field(body, "text", str)
        sending = submission("api", sender, body.get("region", "US"))
        outgoing, definition = Outgoing(to, text), DEFINITION
    [entry] = sending.prepare([outgoing])
    if not isinstance(entry, Prepared):
        raise refused(entry.error)
    [row] = hand_over(sending, [entry], definition)
    return message_view(row, currency=currency(), warnings=list(entry.warnings)), 202


@blueprint.get("/<int:message_id>")
@requires(Role.OPERATOR, Role.SUPERVISOR)
def detail(message_id: int):  # type: ignore[no-untyped-def]
    return message_view(owned(db().get(ApiMessage, message_id), f"message {message_id}"))


def _period() -> tuple[datetime, datetime]:
    """``from`` and ``to`` (ISO 8601 with a zone): at most 31 days apart; by default the 31
    days up to now."""
    until = _time("to") if "to" in request.args else utcnow()
    try:
        since = _time("from") if "from" in request.args else until - MAX_PERIOD
    except OverflowError as exc:
        raise bad_request("'to' is out of range", {"field": "to"}) from exc
    if since > until:
        raise bad_request("'from' is after 'to'", {"field": "from"})
    if until - since > MAX_PERIOD:
        raise bad_request(f"the period is at most {MAX_PERIOD.days} days (from .. to)", {"field": "from"},
                          code="period_too_long")
    return since, until


def _time(name: str) -> datetime:
    try:
        return query_time(request.args[name], name)
    except ApiError as exc:
        raise bad_request(f"{name} is the period's {'start' if name == 'from' else 'end'}: an ISO 8601 time with a zone "
                          f"(to filter by address, use {'sender' if name == 'from' else 'recipient'}=)",
                          {"field": name}) from exc


def _filtered() -> Select[ApiMessage]:
    since, until = _period()
    accounts = visible_accounts()
    if "account_id" in request.args:  # a master's report of one sub-account (brief 4.9.8)
        wanted = query_id(request.args["account_id"], "account_id")
        if wanted not in accounts:
            raise ApiError(404, "not_found", f"account {wanted} not found")
        accounts = [wanted]
    query = select(ApiMessage).where(ApiMessage.account_id.in_(accounts), ApiMessage.created_at >= since,
                                     ApiMessage.created_at <= until)
    status = request.args.get("status")
    if status is not None:
        if status not in STATUSES:
            raise bad_request(f"status must be one of {list(STATUSES)}", {"field": "status"})
        query = query.where(ApiMessage.status == status)
    channel = request.args.get("channel")
    if channel is not None:
        if channel not in CHANNELS:
            raise bad_request(f"channel must be one of {list(CHANNELS)}", {"field": "channel"})
        query = query.where(ApiMessage.channel == channel)
    interface = request.args.get("interface")
    if interface is not None:
        if interface not in INTERFACES:
            raise bad_request(f"interface must be one of {list(INTERFACES)}", {"field": "interface"})
        query = query.where(ApiMessage.interface == interface)
    for name, column in (("sender", ApiMessage.sender), ("recipient", ApiMessage.recipient), ("batch_id", ApiMessage.batch)):
        value = request.args.get(name)
        if value is not None:
            query = query.where(column == value.strip()[:64])
    return query


@blueprint.get("")
@requires(Role.OPERATOR, Role.SUPERVISOR)
def list_messages():  # type: ignore[no-untyped-def]
    """The messages of the period, newest first, with their counts: ``messages`` (each once,
    however many parts), ``parts``, ``cost``, and messages by status."""
    query = _filtered()
    matching = query.subquery()
    by_status = db().execute(select(matching.c.status, func.count(), func.coalesce(func.sum(matching.c.parts), 0),
                                    func.coalesce(func.sum(matching.c.cost), 0)).group_by(matching.c.status)).all()
    counts = {"messages": sum(int(n) for _, n, _, _ in by_status), "parts": sum(int(p) for _, _, p, _ in by_status),
              "cost": str(sum((Decimal(str(c)) for _, _, _, c in by_status), Decimal(0)).quantize(Decimal("0.0001"))),
              "by_status": {status: int(n) for status, n, _, _ in by_status}}
    page = page_of(query.order_by(ApiMessage.created_at.desc(), ApiMessage.id.desc()), message_view)
    return {**page, "counts": counts}
