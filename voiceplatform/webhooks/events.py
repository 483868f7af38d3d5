"""The events a customer can subscribe to, and ``emit``: the outbox half of webhooks.

``emit`` runs inside the caller's transaction (the one that ends the call or changes the
campaign) and only adds pending ``WebhookDelivery`` rows, one per active subscription of the
account that wants the event. Nothing is sent here: ``delivery.deliver_due`` sends them later, so
an event is queued if and only if the change that caused it is committed.

A subscription receives the events of its own account only. A master account does not receive
its sub-accounts' events through its own subscriptions: a sub-account is a tenant of its own
(often a customer of the master), one event reaches exactly the endpoints configured for the
account it happened in, and a master that wants a sub-account's events creates a subscription
*on* that sub-account (``POST /webhooks`` with ``account_id``), where it can choose the URL and
events and see the deliveries like any other.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from voiceplatform.exceptions import VoicePlatformError
from voiceplatform.models import WebhookDelivery, WebhookSubscription
from voiceplatform.models.base import utcnow

CALL_ENDED = "call.ended"
CAMPAIGN_STARTED = "campaign.started"
CAMPAIGN_PAUSED = "campaign.paused"
CAMPAIGN_RESUMED = "campaign.resumed"
CAMPAIGN_CANCELLED = "campaign.cancelled"
CAMPAIGN_COMPLETED = "campaign.completed"
CAMPAIGN_FAILED = "campaign.failed"
MESSAGE_RECEIVED = "message.received"  # an inbound message no session or flow took (sessions.inbound)
MESSAGE_STATUS = "message.status"  # a message of the messages API changed status (voiceplatform.messages)
PING = "ping"  # sent only by POST /webhooks/{id}/ping, to that one subscription
ALL = "*"  # in a subscription's events: every event in EVENTS, including ones added later

EVENTS: tuple[str, ...] = (
    CALL_ENDED, CAMPAIGN_STARTED, CAMPAIGN_PAUSED, CAMPAIGN_RESUMED, CAMPAIGN_CANCELLED,
    CAMPAIGN_COMPLETED, CAMPAIGN_FAILED, MESSAGE_RECEIVED, MESSAGE_STATUS,
)
"""The events ``emit`` accepts and a subscription may list (besides ``*``)."""
KNOWN_EVENTS: tuple[str, ...] = (*EVENTS, PING)
"""Every event a delivery can carry."""


class UnknownEventError(VoicePlatformError, ValueError):
    """``emit`` was called with an event that is not in ``EVENTS`` (a programming error)."""


def wants(subscribed: list[str], event: str) -> bool:
    """Does a subscription listing ``subscribed`` receive ``event``?"""
    return event in subscribed or (ALL in subscribed and event in EVENTS)


def emit(session: Session, account_id: int, event: str, payload: dict[str, Any]) -> int:
    """Queue ``event`` for every active subscription of ``account_id`` that wants it, inside the
    caller's transaction (the caller commits). Returns how many deliveries were queued.

    One SELECT (the account's active subscriptions) and one INSERT per matching subscription;
    ``payload`` must be JSON-serialisable (checked here, so a bad payload fails at the call site
    and not later in the worker).
    """
    if event not in EVENTS:
        raise UnknownEventError(f"unknown webhook event {event!r}; known: {', '.join(EVENTS)}")
    data = json.loads(json.dumps(payload))  # a private copy, and a clear TypeError for non-JSON values
    subscriptions = session.execute(
        select(WebhookSubscription.id, WebhookSubscription.events)
        .where(WebhookSubscription.account_id == account_id, WebhookSubscription.active.is_(True))
    ).all()
    now = utcnow()
    deliveries = [
        WebhookDelivery(subscription_id=subscription_id, event=event, payload=data, status="pending",
                        attempts=0, next_attempt_at=now, created_at=now)
        for subscription_id, subscribed in subscriptions if wants(subscribed or [], event)
    ]
    session.add_all(deliveries)
    return len(deliveries)


def queue_ping(session: Session, subscription: WebhookSubscription) -> WebhookDelivery:
    """Queue a ``ping`` delivery to ``subscription`` alone (the caller commits)."""
    now = utcnow()
    delivery = WebhookDelivery(subscription_id=subscription.id, event=PING,
                               payload={"subscription_id": subscription.id, "url": subscription.url},
                               status="pending", attempts=0, next_attempt_at=now, created_at=now)
    session.add(delivery)
    return delivery
