"""Campaigns on any channel (``voice``, ``sms``, ``whatsapp``): create (draft, scheduled, or
started at once), start, pause, resume, cancel, resend to the contacts not reached, progress and
stats (with the clicks on its click-tracked links: voiceplatform.engagement), the cost estimate
against the balance, and each contact's state. The dialling and the
sending happen in the workers (docs/campaigns.md, docs/messaging-campaigns.md)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import Blueprint, current_app, request
from pydantic import ValidationError
from sqlalchemy import func, select

from voiceplatform.api.auth import account_id, owned, requires, visible_accounts
from voiceplatform.db.request_session import db
from voiceplatform.api.errors import ApiError, bad_request
from voiceplatform.api.idempotency import idempotent
from voiceplatform.api.pagination import page_of
from voiceplatform.api.published_flows import published_flow
from voiceplatform.api.requests import field, json_body, parse_time
from voiceplatform.campaigns.estimate import SAMPLE, sample_first_step, sample_whatsapp_opening
from voiceplatform.campaigns.pricing import Rates, estimate_messages, estimate_voice, estimate_whatsapp
from voiceplatform.campaigns.progress import progress
from voiceplatform.campaigns.settings import CampaignSettings
from voiceplatform.campaigns import lifecycle
from voiceplatform.channels.dev.routes import messaging
from voiceplatform.exceptions import ChannelUnavailableError
from voiceplatform.messages import senders
from voiceplatform.messages.whatsapp_catalog import catalog_for
from voiceplatform.dialer.jobs import Jobs
from voiceplatform.engagement.report import click_summary
from voiceplatform.flow import Flow, load_flow_text
from voiceplatform.inbound.router import contact_view
from voiceplatform.models import (
    Account, Campaign, CampaignContact, CampaignContactStatus, CampaignStatus, Contact, ContactList, ContactListMember,
    FlowVersion, Role,
)
from voiceplatform.models.base import utcnow
from voiceplatform.models.campaigns import CAMPAIGN_CHANNELS

blueprint = Blueprint("campaigns", __name__, url_prefix="/campaigns")
WAKE = "voiceplatform.dialer.jobs.wake_dialer"
START_SCHEDULED = "voiceplatform.dialer.jobs.start_scheduled_campaign"
#: How far in the past ``scheduled_at`` may be and still be accepted (then it starts at once): the
#: client's clock may run a little behind the server's. Earlier than this is refused (422).
CLOCK_SKEW_GRACE = timedelta(minutes=5)


def rates() -> Rates:
    return current_app.extensions["vp_rates"]


def jobs() -> Jobs:
    return current_app.extensions["vp_jobs"]


def _stamp(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _campaign(row: Campaign) -> dict[str, Any]:
    flow = db().get(FlowVersion, row.flow_version_id)
    return {"id": row.id, "account_id": row.account_id, "name": row.name, "channel": row.channel, "status": row.status.value,
            "reason": row.status_reason, "flow": {"name": flow.name, "version": flow.version} if flow else None,
            "contact_list_id": row.contact_list_id, "settings": CampaignSettings.model_validate(row.settings or {}).model_dump(mode="json"),
            "scheduled_at": _stamp(row.scheduled_at), "started_at": _stamp(row.started_at),
            "finished_at": _stamp(row.finished_at), "created_at": _stamp(row.created_at)}


def _settings(raw: Any, channel: str) -> dict[str, Any]:
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise bad_request("'settings' must be an object", {"field": "settings"})
    try:
        return CampaignSettings.model_validate(raw, context={"channel": channel}).model_dump(mode="json")
    except ValidationError as exc:
        problems = [{"field": ".".join(str(p) for p in error["loc"]), "message": error["msg"]} for error in exc.errors()]
        raise bad_request("invalid campaign settings", {"settings": problems}, code="invalid_settings") from exc


def _channel(body: dict[str, Any]) -> str:
    channel = body.get("channel", "voice")
    if channel not in CAMPAIGN_CHANNELS:
        raise bad_request(f"'channel' must be one of {list(CAMPAIGN_CHANNELS)}", {"field": "channel"})
    return str(channel)


def _flow_of(version: FlowVersion) -> Flow:
    return load_flow_text(version.definition, f"{version.name} v{version.version}")


def _runs_on(version: FlowVersion, channel: str) -> None:
    """A flow that declares its channels must include the campaign's."""
    declared = sorted(c.value for c in _flow_of(version).channels)
    if channel not in declared:
        raise ApiError(422, "flow_channel", f"flow {version.name} version {version.version} runs on "
                       f"{', '.join(declared)} (its channels), not on {channel}: a {channel} campaign needs a flow "
                       f"with {channel} in its channels", {"field": "channel"})


def _sender(settings: dict[str, Any]) -> None:
    """A messaging campaign's ``sender`` is one of the account's own numbers or registered sender
    IDs (voiceplatform.messages.senders)."""
    sender = settings.get("sender")
    if sender is not None and not senders.is_own_sender(db(), account_id(), sender):
        raise bad_request(f"settings.sender {sender} is neither a number nor a registered sender ID of this account",
                          {"field": "settings.sender"})


def _country_warnings(campaign: Campaign, members: Any, sender: str | None) -> list[dict[str, Any]]:
    """The brief's country check (4.2.9) for an SMS campaign's list (voiceplatform.messages.senders)."""
    try:
        transport = messaging().channels.for_engine_channel(campaign.channel).capabilities.name
    except ChannelUnavailableError:
        return []
    phones = members.subquery()
    prefixes = db().scalars(select(func.substr(phones.c.phone, 1, 4)).distinct()).all()
    return senders.destination_warnings(db(), campaign.account_id, sender, transport, prefixes)


def _mine(campaign_id: int) -> Campaign:
    campaign = owned(db().get(Campaign, campaign_id), f"campaign {campaign_id}")
    if campaign.kind != "campaign":
        raise ApiError(404, "not_found", f"campaign {campaign_id} not found")
    return campaign


def _transition(action: Any) -> None:
    try:
        action()
    except lifecycle.TransitionRefused as refused:
        raise ApiError(refused.status, refused.code, refused.message) from refused


@blueprint.post("")
@requires(Role.OPERATOR)
@idempotent
def create():  # type: ignore[no-untyped-def]
    body = json_body()
    name = field(body, "name", str).strip()
    if not name or len(name) > 200:
        raise bad_request("'name' must be 1 to 200 characters", {"field": "name"})
    channel = _channel(body)
    flow = published_flow(body.get("flow"))
    list_id = field(body, "contact_list_id", int)
    contact_list = db().get(ContactList, list_id)
    if contact_list is None or contact_list.account_id != account_id():
        raise ApiError(404, "not_found", f"contact list {list_id} not found")
    settings = _settings(body.get("settings"), channel)
    _runs_on(flow, channel)
    _sender(settings)
    campaign = Campaign(account_id=account_id(), name=name, channel=channel, flow_version_id=flow.id,
                        contact_list_id=list_id, settings=settings, status=CampaignStatus.DRAFT)
    db().add(campaign)
    db().flush()
    start_now = field(body, "start", bool, required=False, default=False)
    if body.get("scheduled_at") is not None:
        if start_now:
            raise bad_request("give either 'scheduled_at' or 'start', not both", {"field": "scheduled_at"})
        when = parse_time(body["scheduled_at"], "scheduled_at")
        if when < utcnow() - CLOCK_SKEW_GRACE:
            raise ApiError(422, "in_the_past", f"scheduled_at {body['scheduled_at']} is in the past (more than "
                           f"{int(CLOCK_SKEW_GRACE.total_seconds() // 60)} minutes ago): give a future time, or start: true",
                           {"field": "scheduled_at"})
        lifecycle.schedule(db(), campaign, when)
        jobs().enqueue_at(when, START_SCHEDULED, campaign.id)
    elif start_now:
        _transition(lambda: lifecycle.start(db(), campaign, rates(), utcnow()))
        jobs().enqueue(WAKE)
    return _campaign(campaign), 201


@blueprint.get("")
@requires(Role.OPERATOR, Role.SUPERVISOR)
def list_campaigns():  # type: ignore[no-untyped-def]
    query = select(Campaign).where(Campaign.account_id.in_(visible_accounts()), Campaign.kind == "campaign")
    if "status" in request.args:
        try:
            query = query.where(Campaign.status == CampaignStatus(request.args["status"]))
        except ValueError as exc:
            raise bad_request(f"status must be one of {[s.value for s in CampaignStatus]}", {"field": "status"}) from exc
    return page_of(query.order_by(Campaign.id.desc()), _campaign)


@blueprint.get("/<int:campaign_id>")
@requires(Role.OPERATOR, Role.SUPERVISOR)
def detail(campaign_id: int):  # type: ignore[no-untyped-def]
    campaign = _mine(campaign_id)
    return {**_campaign(campaign), "progress": progress(db(), campaign, utcnow())}


@blueprint.get("/<int:campaign_id>/stats")
@requires(Role.OPERATOR, Role.SUPERVISOR)
def stats(campaign_id: int):  # type: ignore[no-untyped-def]
    campaign = _mine(campaign_id)
    return {**progress(db(), campaign, utcnow()), "clicks": click_summary(db(), campaign)}


@blueprint.post("/<int:campaign_id>/start")
@requires(Role.OPERATOR)
@idempotent
def start(campaign_id: int):  # type: ignore[no-untyped-def]
    campaign = _mine(campaign_id)
    _transition(lambda: lifecycle.start(db(), campaign, rates(), utcnow()))
    jobs().enqueue(WAKE)
    return _campaign(campaign)


@blueprint.post("/<int:campaign_id>/pause")
@requires(Role.OPERATOR)
@idempotent
def pause(campaign_id: int):  # type: ignore[no-untyped-def]
    campaign = _mine(campaign_id)
    _transition(lambda: lifecycle.pause(db(), campaign))
    return _campaign(campaign)


@blueprint.post("/<int:campaign_id>/resume")
@requires(Role.OPERATOR)
@idempotent
def resume(campaign_id: int):  # type: ignore[no-untyped-def]
    campaign = _mine(campaign_id)
    _transition(lambda: lifecycle.resume(db(), campaign, rates()))
    jobs().enqueue(WAKE)
    return _campaign(campaign)


@blueprint.post("/<int:campaign_id>/cancel")
@requires(Role.OPERATOR)
@idempotent
def cancel(campaign_id: int):  # type: ignore[no-untyped-def]
    campaign = _mine(campaign_id)
    _transition(lambda: lifecycle.cancel(db(), campaign, utcnow()))
    return _campaign(campaign)


@blueprint.post("/<int:campaign_id>/resend")
@requires(Role.OPERATOR)
@idempotent
def resend(campaign_id: int):  # type: ignore[no-untyped-def]
    campaign = _mine(campaign_id)
    counted: list[int] = []
    _transition(lambda: counted.append(lifecycle.resend_failed(db(), campaign, rates(), utcnow())))
    jobs().enqueue(WAKE)
    return {**_campaign(campaign), "contacts_to_dial": counted[0]}


@blueprint.get("/<int:campaign_id>/estimate")
@requires(Role.OPERATOR, Role.SUPERVISOR)
def estimate(campaign_id: int):  # type: ignore[no-untyped-def]
    campaign = _mine(campaign_id)
    members = select(Contact).join(ContactListMember, ContactListMember.contact_id == Contact.id).where(
        ContactListMember.list_id == campaign.contact_list_id, Contact.opted_out_at.is_(None))
    if campaign.fanned_out_at is None and campaign.contact_list_id is not None:
        contacts = db().scalar(select(func.count()).select_from(members.subquery())) or 0
    else:
        contacts = lifecycle.remaining(db(), campaign.id)
    settings = CampaignSettings.model_validate(campaign.settings or {})
    account = db().get(Account, campaign.account_id)
    balance = account.balance if account else 0
    unit, rate = rates().unit(campaign.channel)
    common = {"campaign_id": campaign.id, "channel": campaign.channel, "contacts": contacts, "unit": unit,
              "rate_per_unit": str(rate), "minimum_charge": str(rates().minimum_charge(campaign.channel)),
              "balance": str(balance), "currency": account.currency if account else "USD"}
    if campaign.channel == "voice":
        cost = estimate_voice(rates(), contacts, settings.expected_minutes)
        return {**common, "expected_minutes_per_call": settings.expected_minutes, "rate_per_minute": str(rate),
                "estimated_cost": str(cost), "sufficient": balance >= cost,
                "note": "an estimate: every remaining contact answering for the expected minutes; the actual cost is "
                        "billed per started minute of each answered call"}
    sampled = db().scalars(members.order_by(Contact.id).limit(SAMPLE)).all() if campaign.contact_list_id else []
    version = db().get(FlowVersion, campaign.flow_version_id)
    assert version is not None
    flow, viewed = _flow_of(version), [contact_view(c) for c in sampled]
    sample = sample_first_step(flow, campaign.channel, viewed, utcnow())
    if campaign.channel == "whatsapp":
        return {**common, **_whatsapp_estimate(flow, viewed, contacts, balance, campaign.account_id),
                "sampled_contacts": sample.contacts, "messages_per_contact": sample.messages_per_contact,
                "parts_per_contact": sample.parts_per_contact}
    cost = estimate_messages(rates(), campaign.channel, contacts, sample.messages_per_contact, sample.parts_per_contact)
    per = "part" if campaign.channel == "sms" else "message"
    warnings = _country_warnings(campaign, members, settings.sender) if campaign.channel == "sms" else []
    return {**common, "sampled_contacts": sample.contacts, "messages_per_contact": sample.messages_per_contact,
            "parts_per_contact": sample.parts_per_contact, "estimated_cost": str(cost), "sufficient": balance >= cost,
            "warnings": warnings,
            "note": f"an estimate: every remaining contact sent the flow's first step once, its messages and parts "
                    f"measured on the first {SAMPLE} contacts' own texts; billed per {per} when sent, and again for "
                    f"each retry"}


def _whatsapp_estimate(flow: Flow, contacts_sampled: list[dict[str, Any]], contacts: int, balance: Any,
                       owner: int) -> dict[str, Any]:
    """A WhatsApp campaign's estimate: its opening templates priced by category (the account's
    synced templates say which; marketing when unknown), free-form messages free
    (voiceplatform.campaigns.estimate, docs/messaging-campaigns.md)."""
    opening = sample_whatsapp_opening(flow, contacts_sampled, utcnow(), catalog_for(db(), owner))
    categories = opening.categories_per_contact()
    cost = estimate_whatsapp(rates(), contacts, categories)
    return {"estimated_cost": str(cost), "sufficient": balance >= cost,
            "opening_templates": [{"name": t.name, "language": t.language, "category": t.category, "known": t.known,
                                   "per_contact": t.per_contact} for t in opening.templates],
            "templates_per_contact": categories,
            "rate_per_category": {category: str(rates().whatsapp_rate(category)) for category in categories},
            "free_form_per_contact": opening.free_form_per_contact, "warnings": [], "notes": list(opening.notes),
            "note": f"an estimate: every remaining contact sent the flow's opening templates once, measured on the "
                    f"first {SAMPLE} contacts, each priced by its category (marketing when unknown); free-form messages "
                    "and replies inside the 24-hour window are free; WhatsApp prices per delivered template"}


@blueprint.get("/<int:campaign_id>/contacts")
@requires(Role.OPERATOR, Role.SUPERVISOR)
def contacts(campaign_id: int):  # type: ignore[no-untyped-def]
    campaign = _mine(campaign_id)
    query = select(CampaignContact, Contact.phone).join(Contact, Contact.id == CampaignContact.contact_id).where(
        CampaignContact.campaign_id == campaign.id)
    if "status" in request.args:
        try:
            query = query.where(CampaignContact.status == CampaignContactStatus(request.args["status"]))
        except ValueError as exc:
            raise bad_request(f"status must be one of {[s.value for s in CampaignContactStatus]}", {"field": "status"}) from exc

    def row(pair: Any) -> dict[str, Any]:
        entry, phone = pair
        return {"contact_id": entry.contact_id, "phone": phone, "status": entry.status.value, "attempts": entry.attempts,
                "last_outcome": entry.last_outcome, "last_call_id": entry.last_call_id,
                "next_attempt_at": _stamp(entry.next_attempt_at), "final_at": _stamp(entry.final_at)}

    return page_of(query.order_by(CampaignContact.id), row, rows=True)
