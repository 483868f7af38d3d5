"""The emulated Meta side, without HTTP: sends checked against the rules, users' messages
injected, and the webhooks that follow. :mod:`.app` puts Meta's HTTP surface on it and
:mod:`.control` the tests'.

After an accepted send the user's phone answers by default with ``sent`` then ``delivered``
(both with ``pricing``), then ``read`` if the user reads (and ``played`` for audio). A send
that is accepted but cannot be delivered (an undeliverable user: 131026; outside the window in
``webhook`` mode: 131047; a forced ``webhook`` error) gets one ``failed`` status with
``errors[]`` instead.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import threading
from dataclasses import dataclass, field
from typing import Any

from voiceplatform.testing.whatsapp_cloud import payloads
from voiceplatform.testing.whatsapp_cloud.clock import ControllableClock
from voiceplatform.testing.whatsapp_cloud.errors import CloudApiError, status_error
from voiceplatform.testing.whatsapp_cloud.faults import FaultInjector, ForcedError
from voiceplatform.testing.whatsapp_cloud.ids import wamid as new_wamid
from voiceplatform.testing.whatsapp_cloud.media import VOICE_NOTE_BYTES, MediaStore
from voiceplatform.testing.whatsapp_cloud.payloads import WebhookEvent
from voiceplatform.testing.whatsapp_cloud.registry import PhoneNumber, Registry, User, seeded_registry
from voiceplatform.testing.whatsapp_cloud.rules import PairRateLimiter, ServiceWindows, ThroughputLimiter
from voiceplatform.testing.whatsapp_cloud.validation import (
    MarkReadRequest,
    OutboundRequest,
    check_template,
    validate_request,
)
from voiceplatform.testing.whatsapp_cloud.webhooks import DeliverySettings, WebhookEmitter

WINDOW_ERROR_MODES = ("sync", "webhook")
INBOUND_KINDS = ("text", "button_reply", "list_reply", "quick_reply", "audio", "location")


@dataclass
class SentRecord:
    """One accepted request, as the control endpoint lists it."""

    seq: int
    kind: str
    phone_number_id: str
    body: dict[str, Any]
    at: float
    wamid: str | None = None
    recipient: str | None = None
    user_id: str | None = None
    outcome: str = "accepted"

    def as_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "kind": self.kind, "wamid": self.wamid, "phone_number_id": self.phone_number_id,
                "recipient": self.recipient, "user_id": self.user_id, "at": self.at, "outcome": self.outcome,
                "body": self.body}


@dataclass
class Outbound:
    number: PhoneNumber
    user: User
    type: str
    category: str


@dataclass
class AccountSettings:
    #: how a free-form message outside the 24 h window is refused: a sync 131047, or a 200 then a
    #: ``failed`` status with 131047
    window_error_mode: str = "sync"
    #: statuses after an accepted send (``read`` also needs a user who reads)
    auto_statuses: bool = True
    delivery: DeliverySettings = field(default_factory=DeliverySettings)

    def as_dict(self) -> dict[str, Any]:
        return {"window_error_mode": self.window_error_mode, "auto_statuses": self.auto_statuses,
                **self.delivery.as_dict()}

    def update(self, changes: dict[str, Any]) -> None:
        delivery = {k: v for k, v in changes.items() if k not in ("window_error_mode", "auto_statuses")}
        if "window_error_mode" in changes and changes["window_error_mode"] not in WINDOW_ERROR_MODES:
            raise ValueError(f"window_error_mode must be one of {', '.join(WINDOW_ERROR_MODES)}")
        if "auto_statuses" in changes and not isinstance(changes["auto_statuses"], bool):
            raise ValueError("auto_statuses must be true or false")
        self.delivery.update(delivery)
        if "window_error_mode" in changes:
            self.window_error_mode = changes["window_error_mode"]
        if "auto_statuses" in changes:
            self.auto_statuses = changes["auto_statuses"]


class CloudAccount:
    def __init__(self, *, webhook_url: str | None, app_secret: str, token: str,
                 clock: ControllableClock | None = None, settings: AccountSettings | None = None,
                 registry: Registry | None = None) -> None:
        self.token = token
        self.clock = clock or ControllableClock()
        self.settings = settings or AccountSettings()
        #: what reset() returns to: the registry given (a copy), else the seed
        self._registry_seed = copy.deepcopy(registry) if registry is not None else None
        self.webhooks = WebhookEmitter(webhook_url, app_secret, self.settings.delivery)
        self.base_url = ""
        self._lock = threading.RLock()
        self._reset_state()

    def _reset_state(self) -> None:
        self.registry = copy.deepcopy(self._registry_seed) if self._registry_seed is not None else seeded_registry()
        self.windows = ServiceWindows(self.clock.now)
        self.throughput = ThroughputLimiter(self.clock.now)
        self.pairs = PairRateLimiter(self.clock.now)
        self.media = MediaStore()
        self.faults = FaultInjector()
        self.sent: list[SentRecord] = []
        self.refused: list[dict[str, Any]] = []
        self._seq = itertools.count(1)
        self._inbound: dict[str, tuple[str, str]] = {}  # wamid -> (phone_number_id, user_id)
        self._outbound: dict[str, Outbound] = {}
        self._last_outbound: dict[tuple[str, str], str] = {}

    def reset(self) -> None:
        """Back to the start: registry (the one given, else the seed), windows, limits, logs,
        deliveries, settings, time flowing."""
        with self._lock:
            self.webhooks.reset()
            self.settings.window_error_mode = "sync"
            self.settings.auto_statuses = True
            self.settings.delivery.update(DeliverySettings().as_dict())
            self.webhooks.reseed()
            self.clock.unfreeze()
            self._reset_state()

    def close(self) -> None:
        self.webhooks.close()

    # ------------------------------------------------------------ lookups
    def number(self, phone_number_id: str) -> PhoneNumber:
        number = self.registry.numbers.get(phone_number_id)
        if number is None:
            raise CloudApiError(100, f"Unsupported post request. Object with ID '{phone_number_id[:64]}' does not "
                                     "exist, cannot be loaded due to missing permissions, or does not support "
                                     "this operation.")
        return number

    def default_number(self) -> PhoneNumber:
        return next(iter(self.registry.numbers.values()))

    def _recipient(self, request: OutboundRequest) -> User:
        if request.to is not None:
            return self.registry.user_by_phone(request.to)
        user = self.registry.user_by_bsuid(str(request.recipient))
        if user is None:
            raise CloudApiError(131009, f"The parameter recipient ({request.recipient}) is not a user of this business.")
        return user

    # ------------------------------------------------------------ sending
    def send(self, phone_number_id: str, body: Any) -> dict[str, Any]:
        """``POST /{phone-number-id}/messages``: Meta's success body, or CloudApiError."""
        early: WebhookEvent | None = None
        with self._lock:
            try:
                result, early = self._send(phone_number_id, body)
            except CloudApiError as exc:
                self.refused.append({"at": self.clock.now(), "phone_number_id": phone_number_id,
                                     "code": exc.code, "details": exc.details,
                                     "body": body if isinstance(body, dict) else None})
                raise
        if early is not None:
            self.webhooks.emit_now(early)
        return result

    def _send(self, phone_number_id: str, body: Any) -> tuple[dict[str, Any], WebhookEvent | None]:
        number = self.number(phone_number_id)
        request = validate_request(body)
        if isinstance(request, MarkReadRequest):
            return self._mark_read(number, request, body), None
        user = self._recipient(request)
        template = check_template(self.registry, request.template) if request.template is not None else None
        forced = self.faults.take((request.recipient_input, user.user_id, user.wa_id or ""))
        if forced is not None and forced.mode == "sync":
            raise CloudApiError(forced.code, forced.details, http_status=forced.http_status)
        self.throughput.admit_outbound(number.phone_number_id, number.tier)
        self.pairs.admit(number.phone_number_id, user.user_id)
        in_window = self.windows.is_open(number.phone_number_id, user.user_id)
        entry_point = self.windows.entry_point_open(number.phone_number_id, user.user_id)
        failure: tuple[int, str] | None = None
        if forced is not None:
            failure = (forced.code, forced.details)
        elif template is None and not in_window:
            if self.settings.window_error_mode == "sync":
                self.windows.require_open(number.phone_number_id, user.user_id)
            failure = (131047, "Message failed to send because more than 24 hours have passed since the "
                               "customer last replied to this number.")
        elif user.undeliverable:
            failure = (131026, "Message Undeliverable: the recipient cannot receive this message "
                               "(not on WhatsApp, an old app, or the recipient has not accepted the terms).")
        wamid = new_wamid(user.wa_id or user.user_id)
        category = template.category.lower() if template is not None else "service"
        self._outbound[wamid] = Outbound(number, user, request.type, category)
        self._last_outbound[(number.phone_number_id, user.user_id)] = wamid
        self.sent.append(SentRecord(next(self._seq), request.type, number.phone_number_id, request.body,
                                    self.clock.now(), wamid, request.recipient_input, user.user_id,
                                    "accepted" if failure is None else f"failed:{failure[0]}"))
        contact: dict[str, Any] = {"input": request.recipient_input}
        if user.wa_id is not None:
            contact["wa_id"] = user.wa_id
        contact["user_id"] = user.user_id
        message: dict[str, Any] = {"id": wamid}
        if template is not None:
            message["message_status"] = "accepted"
        response = {"messaging_product": "whatsapp", "contacts": [contact], "messages": [message]}
        callback = request.body.get("biz_opaque_callback_data")
        price = _pricing(category, in_window, entry_point)
        conversation = self._entry_point_conversation(number, user) if entry_point else None
        events = self._statuses_after_send(number, user, wamid, request.type, price, conversation, failure,
                                           callback if isinstance(callback, str) else None)
        early: WebhookEvent | None = None
        if events and self.settings.delivery.early_status:
            early, events = events[0], events[1:]
        if events:
            self.webhooks.emit(events)
        return response, early

    def _entry_point_conversation(self, number: PhoneNumber, user: User) -> dict[str, Any]:
        """The ``conversation`` object, which v24.0+ sends only inside a free entry point."""
        closes = self.windows.entry_point_closes_at(number.phone_number_id, user.user_id) or self.clock.now()
        key = f"{number.phone_number_id}:{user.user_id}:{closes}".encode()
        return {"id": hashlib.md5(key).hexdigest(), "expiration_timestamp": str(int(closes)),
                "origin": {"type": "referral_conversion"}}

    def _statuses_after_send(self, number: PhoneNumber, user: User, wamid: str, kind: str, price: dict[str, Any],
                             conversation: dict[str, Any] | None, failure: tuple[int, str] | None,
                             callback: str | None) -> list[WebhookEvent]:
        now = self.clock.now()
        if failure is not None:
            item = payloads.status(wamid, "failed", now, user, errors=[status_error(*failure)], callback_data=callback)
            return [WebhookEvent(number, "statuses", item)]  # failed statuses carry no contacts
        if not self.settings.auto_statuses:
            return []
        contact = payloads.contact(user)
        names = ["sent", "delivered"] + (["read"] if user.reads else []) + (
            ["played"] if user.reads and kind == "audio" else [])
        events = []
        for i, name in enumerate(names):
            priced = name in ("sent", "delivered")
            item = payloads.status(wamid, name, now + i, user, callback_data=callback,
                                   pricing_info=price if priced else None,
                                   conversation=conversation if priced else None)
            # Meta leaves the username out of sent statuses' contacts
            shown = _without_username(contact) if name == "sent" else contact
            events.append(WebhookEvent(number, "statuses", item, shown))
        return events

    def _mark_read(self, number: PhoneNumber, request: MarkReadRequest, body: dict[str, Any]) -> dict[str, Any]:
        origin = self._inbound.get(request.message_id)
        if origin is None or origin[0] != number.phone_number_id:
            raise CloudApiError(100, f"Invalid parameter: message_id {request.message_id[:128]!r} is not a message "
                                     f"this number received.")
        self.sent.append(SentRecord(next(self._seq), "mark_read", number.phone_number_id, body, self.clock.now(),
                                    request.message_id, None, origin[1]))
        return {"success": True}

    # ------------------------------------------------------------ statuses on demand
    def emit_status(self, wamid: str, status: str, *, errors: list[dict[str, Any]] | None = None,
                    with_pricing: bool = False) -> dict[str, Any]:
        """Emit any status (``played``, an unknown one, a late ``delivered``...) for a sent message."""
        with self._lock:
            outbound = self._outbound.get(wamid)
            if outbound is None:
                raise KeyError(wamid)
            key = (outbound.number.phone_number_id, outbound.user.user_id)
            price = _pricing(outbound.category, self.windows.is_open(*key), self.windows.entry_point_open(*key))
            item = payloads.status(wamid, status, self.clock.now(), outbound.user, errors=errors,
                                   pricing_info=price if with_pricing else None)
            contact = None if status == "failed" else payloads.contact(outbound.user)
            self.webhooks.emit([WebhookEvent(outbound.number, "statuses", item, contact)], spacing=0)
            return item

    def emit_value_errors(self, phone_number_id: str, errors: list[dict[str, Any]]) -> None:
        """A ``value.errors[]`` webhook with no messages (an account-level problem)."""
        with self._lock:
            number = self.number(phone_number_id)
            events = [WebhookEvent(number, "errors", e) for e in errors]
            self.webhooks.emit(events, spacing=0)

    # ------------------------------------------------------------ users writing
    def inject(self, spec: dict[str, Any]) -> dict[str, Any]:
        """A user's message reaches the business number: the window opens, the throughput window
        counts it, the webhook goes out. ``spec``: kind, from (phone) or user_id, name, and the
        kind's fields (see docs/whatsapp-contract-server.md). Raises ValueError on a bad spec."""
        with self._lock:
            number = self.number(str(spec.get("phone_number_id") or self.default_number().phone_number_id))
            user = self._injecting_user(spec)
            kind = spec.get("kind", "text")
            if kind not in INBOUND_KINDS:
                raise ValueError(f"kind must be one of {', '.join(INBOUND_KINDS)}")
            content, message_type, extra = self._inbound_content(str(kind), spec)
            context_id = spec.get("context_id")
            if context_id is None and kind in ("button_reply", "list_reply", "quick_reply"):
                context_id = self._last_outbound.get((number.phone_number_id, user.user_id))
            context = {"from": number.display_phone_number, "id": str(context_id)} if context_id else None
            wamid = new_wamid(user.wa_id or user.user_id)
            timestamp = self.clock.now()
            item = payloads.inbound_message(user, wamid, timestamp, message_type, content, context)
            referral = spec.get("referral")
            if referral is not None:
                if not isinstance(referral, dict):
                    raise ValueError("referral must be an object (source_url, source_id, source_type, ...)")
                item["referral"] = referral
                self.windows.user_came_from_entry_point(number.phone_number_id, user.user_id)
            self.windows.user_wrote(number.phone_number_id, user.user_id)
            self.throughput.count_inbound(number.phone_number_id)
            self._inbound[wamid] = (number.phone_number_id, user.user_id)
            self.webhooks.emit([WebhookEvent(number, "messages", item, payloads.contact(user))], spacing=0)
            return {"wamid": wamid, "user_id": user.user_id, "wa_id": user.wa_id, "message": item, **extra}

    def _injecting_user(self, spec: dict[str, Any]) -> User:
        phone = spec.get("from")
        user_id = spec.get("user_id")
        if phone is not None:
            if not isinstance(phone, str) or not phone.lstrip("+").isdigit() or not 5 <= len(phone.lstrip("+")) <= 15:
                raise ValueError("from must be a phone number (digits)")
            user = self.registry.user_by_phone(phone.lstrip("+"))
        elif isinstance(user_id, str) and user_id:
            found = self.registry.user_by_bsuid(user_id)
            user = found if found is not None else self.registry.add_user(
                User(user_id, None, str(spec.get("name") or "WhatsApp user"), username=spec.get("username")))
        else:
            raise ValueError("from (a phone number) or user_id (a BSUID) is required")
        if isinstance(spec.get("name"), str) and spec["name"]:
            user.name = spec["name"]
        return user

    def _inbound_content(self, kind: str, spec: dict[str, Any]) -> tuple[dict[str, Any], str, dict[str, Any]]:
        def text(key: str, default: str | None = None) -> str:
            value = spec.get(key, default)
            if not isinstance(value, str):
                raise ValueError(f"{key} (a string) is required for a {kind} message")
            return value

        if kind == "text":
            return {"body": text("text")}, "text", {}
        if kind == "button_reply":
            return {"type": "button_reply", "button_reply": {"id": text("id"), "title": text("title")}}, "interactive", {}
        if kind == "list_reply":
            reply = {"id": text("id"), "title": text("title")}
            if spec.get("description") is not None:
                reply["description"] = text("description")
            return {"type": "list_reply", "list_reply": reply}, "interactive", {}
        if kind == "quick_reply":
            return {"payload": text("payload"), "text": text("text")}, "button", {}
        if kind == "audio":
            mime = text("mime_type", "audio/ogg; codecs=opus")
            data = spec.get("data")
            media = self.media.add(data if isinstance(data, bytes) else VOICE_NOTE_BYTES, mime)
            content = {"mime_type": mime, "sha256": media.sha256, "id": media.id,
                       "url": self.media.url(self.base_url, media), "voice": bool(spec.get("voice", True))}
            return content, "audio", {"media_id": media.id}
        latitude, longitude = spec.get("latitude"), spec.get("longitude")
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (latitude, longitude)):
            raise ValueError("latitude and longitude (numbers) are required for a location message")
        location: dict[str, Any] = {"latitude": latitude, "longitude": longitude}
        for key in ("name", "address", "url"):
            if spec.get(key) is not None:
                location[key] = text(key)
        return location, "location", {}

    # ------------------------------------------------------------ test controls
    def force_error(self, error: ForcedError) -> None:
        with self._lock:
            self.faults.force(error)

    def set_tier(self, phone_number_id: str, tier: int) -> PhoneNumber:
        with self._lock:
            number = self.number(phone_number_id)
            number.tier = tier
            return number


def _without_username(contact: dict[str, Any]) -> dict[str, Any]:
    profile = {k: v for k, v in contact.get("profile", {}).items() if k != "username"}
    return {**contact, "profile": profile}


def _pricing(category: str, in_window: bool, entry_point: bool) -> dict[str, Any]:
    if entry_point:
        return payloads.pricing("referral_conversion", "free_entry_point", False)
    if category == "service":
        return payloads.pricing("service", "free_customer_service", False)
    if category == "utility" and in_window:
        return payloads.pricing("utility", "free_customer_service", False)
    return payloads.pricing(category, "regular", True)
