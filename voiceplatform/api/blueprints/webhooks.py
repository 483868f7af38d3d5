"""Webhook subscriptions (admins and operators): create (the signing secret is shown once), list,
read, change, delete; a subscription's deliveries, a manual retry, and a ping."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, request
from sqlalchemy import select

from voiceplatform.api.auth import account_id, owned, requires, visible_accounts
from voiceplatform.db.request_session import db
from voiceplatform.api.errors import ApiError, bad_request, not_found
from voiceplatform.api.idempotency import idempotent
from voiceplatform.api.pagination import page_of
from voiceplatform.api.requests import field, json_body, patch_body
from voiceplatform.models import Role, WebhookDelivery, WebhookSubscription
from voiceplatform.safety import outbound_http
from voiceplatform.webhooks.delivery import STATUSES, AlreadyPending, redeliver
from voiceplatform.webhooks.events import ALL, EVENTS, PING, queue_ping

blueprint = Blueprint("webhooks", __name__, url_prefix="/webhooks")
MAX_URL = 2000  # the column's length
SECRET_LENGTHS = (16, 200)  # a caller's own secret: at least 16 characters, at most the column's 200
PATCHABLE = ("url", "events", "active")


def _stamp(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _subscription(row: WebhookSubscription) -> dict[str, Any]:
    return {"id": row.id, "account_id": row.account_id, "url": row.url, "events": row.events,
            "active": row.active, "created_at": _stamp(row.created_at)}


def _delivery(row: WebhookDelivery) -> dict[str, Any]:
    return {"id": row.id, "subscription_id": row.subscription_id, "event": row.event, "payload": row.payload,
            "status": row.status, "attempts": row.attempts, "next_attempt_at": _stamp(row.next_attempt_at),
            "last_status_code": row.last_status_code, "last_error": row.last_error,
            "delivered_at": _stamp(row.delivered_at), "created_at": _stamp(row.created_at)}


def _url(body: dict[str, Any]) -> str:
    url = field(body, "url", str).strip()
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises ValueError for a port that is not a number or out of range)
    except ValueError as exc:
        raise bad_request(f"url is not a valid URL: {exc}", {"field": "url"}) from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise bad_request("url must be an absolute http:// or https:// URL", {"field": "url"})
    if len(url) > MAX_URL or any(character.isspace() for character in url):
        raise bad_request(f"url must be at most {MAX_URL} characters, without spaces", {"field": "url"})
    refused = outbound_http.literal_refusal(url)  # the rest (DNS, redirects) is checked at each delivery
    if refused:
        raise bad_request(f"url is not a permitted destination: {refused}", {"field": "url"}, code="url_refused")
    return url


def _events(body: dict[str, Any]) -> list[str]:
    events = field(body, "events", list)
    if not events or not all(isinstance(event, str) for event in events):
        raise bad_request("events must be a non-empty list of event names", {"field": "events"})
    unknown = [event for event in events if event not in (*EVENTS, ALL)]
    if unknown:
        hint = " (ping is sent only by POST /webhooks/{id}/ping)" if PING in unknown else ""
        raise bad_request(f"unknown events {unknown}: use {[*EVENTS, ALL]}{hint}", {"field": "events"},
                          code="unknown_event")
    return list(dict.fromkeys(events))  # without repeats, in the caller's order


def _secret(body: dict[str, Any]) -> str:
    secret = field(body, "secret", str, required=False)
    if secret is None:
        return secrets.token_urlsafe(32)
    low, high = SECRET_LENGTHS
    if not low <= len(secret) <= high:
        raise bad_request(f"secret must be {low} to {high} characters", {"field": "secret"})
    return secret


def _owned(webhook_id: int) -> WebhookSubscription:
    return owned(db().get(WebhookSubscription, webhook_id), f"webhook {webhook_id}")


@blueprint.post("")
@requires(Role.OPERATOR)
@idempotent
def create():  # type: ignore[no-untyped-def]
    body = json_body()
    target = field(body, "account_id", int, required=False, default=account_id())
    if target not in visible_accounts():  # this account or one of its sub-accounts
        raise not_found(f"account {target}")
    row = WebhookSubscription(account_id=target, url=_url(body), events=_events(body), secret=_secret(body),
                              active=field(body, "active", bool, required=False, default=True))
    db().add(row)
    db().flush()
    return {**_subscription(row), "secret": row.secret}, 201


@blueprint.get("")
@requires(Role.OPERATOR)
def list_webhooks():  # type: ignore[no-untyped-def]
    return page_of(select(WebhookSubscription).where(WebhookSubscription.account_id.in_(visible_accounts()))
                   .order_by(WebhookSubscription.id), _subscription)


@blueprint.get("/<int:webhook_id>")
@requires(Role.OPERATOR)
def detail(webhook_id: int):  # type: ignore[no-untyped-def]
    return _subscription(_owned(webhook_id))


@blueprint.patch("/<int:webhook_id>")
@requires(Role.OPERATOR)
def change(webhook_id: int):  # type: ignore[no-untyped-def]
    row = _owned(webhook_id)
    body = patch_body(PATCHABLE)
    if "url" in body:
        row.url = _url(body)
    if "events" in body:
        row.events = _events(body)
    if "active" in body:
        row.active = field(body, "active", bool)
    db().flush()
    return _subscription(row)


@blueprint.delete("/<int:webhook_id>")
@requires(Role.OPERATOR)
def delete(webhook_id: int):  # type: ignore[no-untyped-def]
    db().delete(_owned(webhook_id))  # its deliveries go with it (ON DELETE CASCADE)
    return "", 204


@blueprint.get("/<int:webhook_id>/deliveries")
@requires(Role.OPERATOR)
def deliveries(webhook_id: int):  # type: ignore[no-untyped-def]
    row = _owned(webhook_id)
    query = select(WebhookDelivery).where(WebhookDelivery.subscription_id == row.id)
    status = request.args.get("status")
    if status is not None:
        if status not in STATUSES:
            raise bad_request(f"status must be one of {list(STATUSES)}", {"field": "status"})
        query = query.where(WebhookDelivery.status == status)
    return page_of(query.order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id.desc()), _delivery)


@blueprint.post("/<int:webhook_id>/deliveries/<int:delivery_id>/retry")
@requires(Role.OPERATOR)
@idempotent
def retry(webhook_id: int, delivery_id: int):  # type: ignore[no-untyped-def]
    row = _owned(webhook_id)
    delivery = db().get(WebhookDelivery, delivery_id)
    if delivery is None or delivery.subscription_id != row.id:
        raise not_found(f"delivery {delivery_id} of webhook {webhook_id}")
    try:
        redeliver(db(), delivery)
    except AlreadyPending as exc:
        raise ApiError(409, "already_pending", f"{exc}; it is retried at next_attempt_at") from exc
    return _delivery(delivery), 202


@blueprint.post("/<int:webhook_id>/ping")
@requires(Role.OPERATOR)
@idempotent
def ping(webhook_id: int):  # type: ignore[no-untyped-def]
    row = _owned(webhook_id)
    if not row.active:
        raise ApiError(409, "inactive", f"webhook {webhook_id} is not active: activate it first")
    delivery = queue_ping(db(), row)
    db().flush()
    return _delivery(delivery), 202
