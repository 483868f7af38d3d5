"""A click on a click-tracked link (``GET /l/<token>``): whose link it is, where it goes, and the
click recorded.

The token names a session (voiceplatform.flow.short_links). The session gives the contact and,
for a campaign's session, the campaign contact and so the campaign, whose settings say where the
click goes: ``redirect_url`` for ``track_link()``, ``links.<name>`` for ``track_link('name')``.
What follows:

============================================  ===========================  ================
the link                                       recorded                     goes to
============================================  ===========================  ================
a session's, within the campaign's link_days  yes (a ``click`` row)        the campaign's URL,
                                                                            else the neutral page
not a token, or no such session (forged,      no                           the neutral page
mistyped, a stand-in)
older than ``link_days`` after the session's  no                           the neutral page
start (expired)
============================================  ===========================  ================

A link of a session with no campaign (an inbound journey) is recorded and goes to the neutral
page. ``record=False`` (a ``HEAD`` request: link previewers) finds the target without recording.
The caller commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from voiceplatform.campaigns.settings import CampaignSettings
from voiceplatform.engagement.privacy import clean_user_agent, network_of
from voiceplatform.flow.short_links import parse_token
from voiceplatform.models import Call, Campaign, CampaignContact, FlowSession, SessionEvent
from voiceplatform.models.engagement import EngagementEvent, EngagementKind
from voiceplatform.models.sessions import EventKind

DEFAULT_LINK_DAYS = CampaignSettings.model_fields["link_days"].default
SENDS_LOOKED_AT = 200  # a session's newest sends searched for the one that carried the link


@dataclass(frozen=True)
class LinkOwner:
    """Whose link a token is. ``session_id`` is None for a call with no session row."""

    session_id: str | None
    account_id: int
    contact_id: int | None
    campaign_contact_id: int | None
    campaign: Campaign | None
    started_at: datetime | None
    fallback_channel: str


@dataclass(frozen=True)
class Followed:
    """What a click did: ``target`` is the campaign's URL (None: the neutral page); ``outcome``
    is ``recorded``, ``previewed`` (not recorded), ``unknown`` or ``expired``."""

    target: str | None
    outcome: str


def owner_of(db: Session, session_id: str) -> LinkOwner | None:
    """The session's (else the call's: a call with no session row) link owner, or None."""
    row = db.get(FlowSession, session_id)
    if row is not None:
        entry = db.get(CampaignContact, row.campaign_contact_id) if row.campaign_contact_id else None
        campaign = db.get(Campaign, entry.campaign_id) if entry is not None else None
        return LinkOwner(row.id, row.account_id, row.contact_id, row.campaign_contact_id, campaign, row.started_at,
                         campaign.channel if campaign else str(row.state.get("channel") or row.channel))
    call = db.get(Call, session_id)
    if call is None:
        return None
    campaign = db.get(Campaign, call.campaign_id) if call.campaign_id else None
    return LinkOwner(None, call.account_id, call.contact_id, call.campaign_contact_id, campaign,
                     call.dialling_at or call.created_at, "voice")


def _settings(campaign: Campaign | None) -> CampaignSettings | None:
    if campaign is None:
        return None
    try:
        return CampaignSettings.model_validate(campaign.settings or {})
    except ValidationError:
        return None  # stored before these checks: nothing in it is redirected to


def sent_on(db: Session, session_id: str, token: str, fallback: str) -> str:
    """The channel of the session's message that carried ``token`` (its newest sends are read),
    else ``fallback``."""
    payloads = db.scalars(select(SessionEvent.payload).where(
        SessionEvent.session_id == session_id, SessionEvent.kind == EventKind.OUTPUT.value, SessionEvent.type == "send")
        .order_by(SessionEvent.seq.desc()).limit(SENDS_LOOKED_AT))
    for payload in payloads:  # a named link's token begins with the plain one: either says the channel
        if token in str(payload.get("text") or ""):
            return str(payload.get("channel") or fallback)
    return fallback


def follow(db: Session, token: str, *, user_agent: str | None, address: str | None, now: datetime,
           record: bool = True) -> Followed:
    """Resolve ``token`` and record the click (see the module's docstring)."""
    parsed = parse_token(token)
    owner = owner_of(db, parsed[0]) if parsed is not None else None
    if parsed is None or owner is None:
        return Followed(None, "unknown")
    name = parsed[1]
    settings = _settings(owner.campaign)
    days = settings.link_days if settings else DEFAULT_LINK_DAYS
    if owner.started_at is not None and now > owner.started_at + timedelta(days=days):
        return Followed(None, "expired")
    target = None
    if settings is not None:
        target = settings.redirect_url if name is None else settings.links.get(name)
    if not record:
        return Followed(target, "previewed")
    channel = sent_on(db, owner.session_id, token, owner.fallback_channel) if owner.session_id else owner.fallback_channel
    db.add(EngagementEvent(
        account_id=owner.account_id, contact_id=owner.contact_id,
        campaign_id=owner.campaign.id if owner.campaign else None, campaign_contact_id=owner.campaign_contact_id,
        session_id=owner.session_id, channel=channel,
        kind=EngagementKind.CLICK.value, link=name or "", at=now, user_agent=clean_user_agent(user_agent),
        network=network_of(address)))
    db.flush()
    return Followed(target, "recorded")
