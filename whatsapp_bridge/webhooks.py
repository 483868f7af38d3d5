"""The Cloud API's webhook endpoint (a Flask blueprint, ``/whatsapp/webhook``).

* ``GET``: Meta's verification handshake. ``hub.mode`` must be ``subscribe`` and
  ``hub.verify_token`` our verify token (compared in constant time; an empty token of ours
  accepts nothing); then ``hub.challenge`` is echoed as ``text/plain`` with 200. Anything else
  is 403.
* ``POST``: a body over the request limit (voiceplatform.limits ``max_request_bytes``, 1 MiB) is
  413 before it is read (by its Content-Length, or by reading one byte past the limit); the
  ``X-Hub-Signature-256`` header is checked on the **raw bytes** (whatsapp_bridge.signature:
  missing → 401, wrong → 403); the bytes are stored as they came (``whatsapp_webhook_events``)
  and 200 is answered at once. Nothing is parsed here: the inbox (whatsapp_bridge.inbox)
  processes stored events after the answer, so a slow database step never makes Meta retry,
  and a crash after the answer loses nothing.

Errors are the platform's JSON shape (``{"error": {"code", "message"}}``); a database that is
away is 503, so Meta delivers the POST again.
"""

from __future__ import annotations

import hmac
import logging
from typing import Callable

from flask import Blueprint, Response, jsonify, request
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from voiceplatform import limits
from voiceplatform.models.base import utcnow
from voiceplatform.models.whatsapp import WhatsAppWebhookEvent

from whatsapp_bridge.config import WhatsAppSettings
from whatsapp_bridge.signature import HEADER_NAME, verify

log = logging.getLogger(__name__)

PATH = "/whatsapp/webhook"


def _error(status: int, code: str, message: str) -> tuple[Response, int]:
    return jsonify({"error": {"code": code, "message": message}}), status


def verify_token_matches(expected: str, given: str | None) -> bool:
    if not expected or given is None:
        return False
    return hmac.compare_digest(expected.encode("utf-8"), given.encode("utf-8", "replace"))


def store_event(sessions: sessionmaker[Session], body: bytes) -> int:
    with sessions.begin() as db:
        event = WhatsAppWebhookEvent(body=body, received_at=utcnow(), attempts=0)
        db.add(event)
        db.flush()
        return event.id


def webhook_blueprint(sessions: sessionmaker[Session], settings: WhatsAppSettings,
                      on_stored: Callable[[int], None] = lambda event_id: None) -> Blueprint:
    """The endpoint; ``on_stored`` is called with each stored event's id (the inbox wakes)."""
    blueprint = Blueprint("whatsapp_webhook", __name__)

    @blueprint.get(PATH)
    def handshake() -> Response | tuple[Response, int]:
        mode = request.args.get("hub.mode")
        challenge = request.args.get("hub.challenge", "")
        if mode != "subscribe" or not verify_token_matches(settings.verify_token, request.args.get("hub.verify_token")):
            return _error(403, "forbidden", "the verification needs hub.mode=subscribe and our verify token")
        if len(challenge) > limits.current().max_header_chars:
            return _error(400, "invalid", "hub.challenge is too long")
        return Response(challenge, status=200, mimetype="text/plain")

    @blueprint.post(PATH)
    def receive() -> tuple[Response, int]:
        cap = limits.current().max_request_bytes
        if request.content_length is not None and request.content_length > cap:
            return _error(413, "too_large", f"a webhook body is at most {cap} bytes")
        body = request.stream.read(cap + 1)
        if len(body) > cap:
            return _error(413, "too_large", f"a webhook body is at most {cap} bytes")
        header = request.headers.get(HEADER_NAME)
        if not header:
            return _error(401, "unauthorized", f"no {HEADER_NAME} header")
        if not verify(settings.app_secret, body, header):
            return _error(403, "forbidden", f"the {HEADER_NAME} signature does not match the body")
        try:
            event_id = store_event(sessions, body)
        except SQLAlchemyError as exc:
            log.warning("a webhook POST not stored (%s); Meta will deliver it again", exc)
            return _error(503, "unavailable", "the webhook could not be stored; deliver it again")
        try:
            on_stored(event_id)
        except Exception:  # the inbox's poll finds it anyway
            log.exception("webhook event %s: waking the inbox failed", event_id)
        return jsonify({"received": True}), 200

    return blueprint
