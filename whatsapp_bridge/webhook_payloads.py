"""The Cloud API's webhook POST, parsed tolerantly: :func:`parse` never raises on a body's
content. What it cannot use it skips and says why in ``problems``; the rest of the batch goes on
(one bad status must not lose the messages beside it).

What it tolerates, each seen in the field (docs/whatsapp-bridge.md, "Webhooks"):

* several entries and changes in one POST, each routed on its own ``metadata.phone_number_id``
  (not the WABA id);
* no ``contacts`` (failed statuses), no ``from`` (a user with a username: only ``from_user_id`` /
  ``user_id``, the BSUID), no ``context``;
* unknown message types (kind ``unknown``, and a problem) and unknown statuses (status
  ``unknown``, and a problem), ``value.errors`` with no messages (:attr:`WebhookBatch.errors`);
* timestamps in seconds or milliseconds, as strings or numbers;
* the same wamid twice in one POST (kept once; Meta's at-least-once delivery repeats whole POSTs
  too, which the runtime dedupes on wamid);
* wrong types anywhere (a hostile body): the field is dropped, or the item skipped.

:func:`to_input` turns an inbound event into the engine's :class:`~voiceplatform.flow.Input`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Mapping

from voiceplatform.flow.inputs import Input, InputKind
from whatsapp_bridge.identity import is_bsuid

MAX_ID_CHARS = 256  # a wamid is at most 128; more is not an id
MAX_PROBLEMS = 100  # a hostile body cannot make the problem list unbounded
MAX_CALLBACK_DATA = 512  # Meta's limit on biz_opaque_callback_data
STATUSES = frozenset({"sent", "delivered", "read", "failed", "played", "deleted"})
MEDIA_TYPES = frozenset({"image", "document", "video", "sticker", "audio"})
# Unix seconds after 2100 are taken as milliseconds (Meta's known quirk); anything beyond is junk.
SECONDS_UNTIL = 4_102_444_800
MILLISECONDS_UNTIL = SECONDS_UNTIL * 1000

# Kinds of inbound events
TEXT = "text"
BUTTON_REPLY = "button_reply"
LIST_REPLY = "list_reply"
TEMPLATE_BUTTON = "template_button"
AUDIO = "audio"
LOCATION = "location"
UNKNOWN = "unknown"
VOICE_NOTE = "voice_note"  # the key of an audio message's marker in Input.data (see to_input)


@dataclass(frozen=True, slots=True)
class Media:
    id: str
    mime_type: str | None = None
    sha256: str | None = None
    voice: bool = False  # a voice note recorded in WhatsApp (audio only)
    caption: str | None = None
    filename: str | None = None
    url: str | None = None


@dataclass(frozen=True, slots=True)
class Location:
    latitude: float
    longitude: float
    name: str | None = None
    address: str | None = None


@dataclass(frozen=True, slots=True)
class InboundEvent:
    """One message a user sent. ``wa_id`` (their phone number, digits) or ``user_id`` (their
    BSUID) may be missing, never both. ``reply_id`` is a button's or row's id, or a template
    quick reply's payload; ``text`` the body, a caption, or a tapped button's title."""

    message_id: str
    phone_number_id: str
    display_phone_number: str | None
    wa_id: str | None
    user_id: str | None
    profile_name: str | None
    timestamp: datetime | None
    kind: str  # text, button_reply, list_reply, template_button, audio, location, image, document, video, sticker, unknown
    type: str  # the payload's own "type" ("interactive", "button", "reaction", ...)
    text: str | None = None
    reply_id: str | None = None
    reply_title: str | None = None
    media: Media | None = None
    location: Location | None = None
    context_id: str | None = None  # the wamid this replies to
    username: str | None = None
    waba_id: str | None = None


@dataclass(frozen=True, slots=True)
class Pricing:
    billable: bool | None
    pricing_model: str | None
    type: str | None  # regular, free_customer_service, free_entry_point
    category: str | None  # marketing, utility, authentication, service, ...


@dataclass(frozen=True, slots=True)
class ErrorDetail:
    code: int | None
    title: str | None
    message: str | None
    details: str | None
    href: str | None = None


@dataclass(frozen=True, slots=True)
class StatusEvent:
    """A status of a message we sent. ``status`` is one of :data:`STATUSES` or ``unknown``
    (``raw_status`` keeps what came)."""

    message_id: str
    phone_number_id: str
    status: str
    raw_status: str
    timestamp: datetime | None
    recipient_id: str | None  # the phone number (digits), if known
    recipient_user_id: str | None  # the BSUID, if known
    pricing: Pricing | None = None
    errors: tuple[ErrorDetail, ...] = ()
    conversation_id: str | None = None
    waba_id: str | None = None
    callback_data: str | None = None  # our biz_opaque_callback_data, echoed (at most 512 characters)


@dataclass(frozen=True, slots=True)
class WebhookError:
    """An error Meta reported outside a status (``value.errors``, or on an unsupported message)."""

    phone_number_id: str | None
    error: ErrorDetail
    waba_id: str | None = None
    message_id: str | None = None


@dataclass
class WebhookBatch:
    inbound: list[InboundEvent] = field(default_factory=list)
    statuses: list[StatusEvent] = field(default_factory=list)
    errors: list[WebhookError] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def problem(self, text: str) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(text)
        elif len(self.problems) == MAX_PROBLEMS:
            self.problems.append("more problems left out")


# ---- reading values of unknown type ------------------------------------------------------------------


def _str(value: Any) -> str | None:
    """``value`` if it is a string (lone surrogates replaced by U+FFFD: no store takes them)."""
    if not isinstance(value, str):
        return None
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "".join("\ufffd" if 0xD800 <= ord(ch) <= 0xDFFF else ch for ch in value)
    return value


def _id(value: Any) -> str | None:
    text = _str(value)
    return text if text and len(text) <= MAX_ID_CHARS and text.strip() == text else None


def _map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit() and len(value) <= 15:
        return int(value)
    return None


def _float(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        number = float(value)
    except (ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def timestamp(value: Any) -> datetime | None:
    """A webhook timestamp (Unix seconds or, Meta's quirk, milliseconds; string or number) as an
    aware UTC datetime; None if it is not one."""
    number = _int(value)
    if number is None and isinstance(value, float) and math.isfinite(value):
        number = int(value)
    if number is None or number <= 0:
        return None
    if number > SECONDS_UNTIL:
        if number > MILLISECONDS_UNTIL:
            return None
        return datetime.fromtimestamp(number / 1000, tz=timezone.utc)
    return datetime.fromtimestamp(number, tz=timezone.utc)


def _error(raw: Any) -> ErrorDetail | None:
    if not isinstance(raw, Mapping):
        return None
    return ErrorDetail(code=_int(raw.get("code")), title=_str(raw.get("title")), message=_str(raw.get("message")),
                       details=_str(_map(raw.get("error_data")).get("details")), href=_str(raw.get("href")))


# ---- the envelope -----------------------------------------------------------------------------------


def parse(body: Any) -> WebhookBatch:
    """Every inbound message, status and error in a webhook POST's decoded JSON ``body``."""
    batch = WebhookBatch()
    if not isinstance(body, Mapping):
        batch.problem(f"the body is {type(body).__name__}, not an object")
        return batch
    kind = body.get("object")
    if kind != "whatsapp_business_account":
        batch.problem(f"object is {str(kind)[:40]!r}, not 'whatsapp_business_account'")
        return batch
    entries = body.get("entry")
    if not isinstance(entries, list):
        batch.problem("entry is not a list")
        return batch
    seen_messages: set[str] = set()
    seen_statuses: set[tuple[str, str]] = set()
    for number, entry in enumerate(entries):
        if not isinstance(entry, Mapping):
            batch.problem(f"entry[{number}] is not an object")
            continue
        waba_id = _id(entry.get("id"))
        changes = entry.get("changes")
        if not isinstance(changes, list):
            batch.problem(f"entry[{number}].changes is not a list")
            continue
        for position, change in enumerate(changes):
            where = f"entry[{number}].changes[{position}]"
            if not isinstance(change, Mapping):
                batch.problem(f"{where} is not an object")
                continue
            if change.get("field", "messages") != "messages":
                batch.problem(f"{where}: field {str(change.get('field'))[:40]!r} ignored")
                continue
            _change(batch, where, waba_id, _map(change.get("value")), seen_messages, seen_statuses)
    return batch


def _change(batch: WebhookBatch, where: str, waba_id: str | None, value: Mapping[str, Any],
            seen_messages: set[str], seen_statuses: set[tuple[str, str]]) -> None:
    metadata = _map(value.get("metadata"))
    phone_number_id = _id(metadata.get("phone_number_id"))
    for raw in _list(value.get("errors")):
        error = _error(raw)
        if error is not None:
            batch.errors.append(WebhookError(phone_number_id, error, waba_id))
    if phone_number_id is None:
        if value.get("messages") or value.get("statuses"):
            batch.problem(f"{where}: no metadata.phone_number_id, its messages and statuses skipped")
        return
    display = _str(metadata.get("display_phone_number"))
    contacts = [contact for contact in _list(value.get("contacts")) if isinstance(contact, Mapping)]
    messages = value.get("messages")
    if messages is not None and not isinstance(messages, list):
        batch.problem(f"{where}.value.messages is not a list")
    for number, raw in enumerate(_list(messages)):
        at = f"{where}.value.messages[{number}]"
        event = _inbound(batch, at, raw, phone_number_id, display, waba_id, contacts)
        if event is None:
            continue
        if event.message_id in seen_messages:
            batch.problem(f"{at}: {event.message_id} repeated in this POST, kept once")
            continue
        seen_messages.add(event.message_id)
        batch.inbound.append(event)
    statuses = value.get("statuses")
    if statuses is not None and not isinstance(statuses, list):
        batch.problem(f"{where}.value.statuses is not a list")
    for number, raw in enumerate(_list(statuses)):
        at = f"{where}.value.statuses[{number}]"
        status = _status(batch, at, raw, phone_number_id, waba_id)
        if status is None:
            continue
        key = (status.message_id, status.raw_status)
        if key in seen_statuses:
            batch.problem(f"{at}: {status.raw_status} of {status.message_id} repeated in this POST, kept once")
            continue
        seen_statuses.add(key)
        batch.statuses.append(status)


# ---- inbound messages --------------------------------------------------------------------------------


def _contact_for(contacts: list[Mapping[str, Any]], wa_id: str | None, user_id: str | None) -> Mapping[str, Any]:
    for contact in contacts:
        if (wa_id is not None and contact.get("wa_id") == wa_id) or (
                user_id is not None and contact.get("user_id") == user_id):
            return contact
    return contacts[0] if len(contacts) == 1 else {}


def _inbound(batch: WebhookBatch, at: str, raw: Any, phone_number_id: str, display: str | None,
             waba_id: str | None, contacts: list[Mapping[str, Any]]) -> InboundEvent | None:
    if not isinstance(raw, Mapping):
        batch.problem(f"{at} is not an object")
        return None
    message_id = _id(raw.get("id"))
    if message_id is None:
        batch.problem(f"{at}: no message id, skipped")
        return None
    sender = _id(raw.get("from"))
    user_id = _id(raw.get("from_user_id")) or _id(raw.get("user_id"))
    wa_id: str | None = sender if sender is not None and sender.isdigit() else None
    if user_id is None and sender is not None and is_bsuid(sender):
        user_id = sender
    contact = _contact_for(contacts, wa_id, user_id)
    wa_id = wa_id or _digits(contact.get("wa_id"))
    user_id = user_id or _id(contact.get("user_id"))
    if user_id is not None and not is_bsuid(user_id):
        batch.problem(f"{at}: user id {user_id[:40]!r} is not a BSUID, dropped")
        user_id = None
    if wa_id is None and user_id is None:
        batch.problem(f"{at}: {message_id} names no sender (no from, from_user_id or contact), skipped")
        return None
    profile = _map(contact.get("profile"))
    moment = timestamp(raw.get("timestamp"))
    if moment is None:
        batch.problem(f"{at}: {message_id} has no usable timestamp")
    kind_of_payload = _str(raw.get("type")) or ""
    base: dict[str, Any] = dict(
        message_id=message_id, phone_number_id=phone_number_id, display_phone_number=display, wa_id=wa_id,
        user_id=user_id, profile_name=_str(profile.get("name")), username=_str(profile.get("username")),
        timestamp=moment, type=kind_of_payload, context_id=_id(_map(raw.get("context")).get("id")), waba_id=waba_id)
    for error in _list(raw.get("errors")):
        detail = _error(error)
        if detail is not None:
            batch.errors.append(WebhookError(phone_number_id, detail, waba_id, message_id))
    content = _map(raw.get(kind_of_payload)) if kind_of_payload else {}
    if kind_of_payload == "text":
        body = _str(content.get("body"))
        if body is not None:
            return InboundEvent(kind=TEXT, text=body, **base)
    elif kind_of_payload == "interactive":
        reply_kind = _str(content.get("type"))
        if reply_kind in (BUTTON_REPLY, LIST_REPLY):
            reply = _map(content.get(reply_kind))
            reply_id, title = _str(reply.get("id")), _str(reply.get("title"))
            if reply_id or title:
                return InboundEvent(kind=reply_kind, text=title, reply_id=reply_id or title,
                                    reply_title=title, **base)
    elif kind_of_payload == "button":
        payload, title = _str(content.get("payload")), _str(content.get("text"))
        if payload or title:
            return InboundEvent(kind=TEMPLATE_BUTTON, text=title, reply_id=payload or title,
                                reply_title=title, **base)
    elif kind_of_payload in MEDIA_TYPES:
        media_id = _id(content.get("id"))
        if media_id is not None:
            media = Media(media_id, _str(content.get("mime_type")), _str(content.get("sha256")),
                          content.get("voice") is True, _str(content.get("caption")), _str(content.get("filename")),
                          _str(content.get("url")))
            return InboundEvent(kind=kind_of_payload, text=media.caption, media=media, **base)
    elif kind_of_payload == "location":
        latitude, longitude = _float(content.get("latitude")), _float(content.get("longitude"))
        if latitude is not None and longitude is not None and abs(latitude) <= 90 and abs(longitude) <= 180:
            place = Location(latitude, longitude, _str(content.get("name")), _str(content.get("address")))
            return InboundEvent(kind=LOCATION, location=place, **base)
    if kind_of_payload in ("text", "interactive", "button", "location", *MEDIA_TYPES):
        batch.problem(f"{at}: {message_id} of type {kind_of_payload!r} is malformed, kept as unknown")
    else:
        batch.problem(f"{at}: {message_id} has the unsupported type {kind_of_payload[:40]!r}, kept as unknown")
    return InboundEvent(kind=UNKNOWN, **base)


def _digits(value: Any) -> str | None:
    text = _id(value)
    return text if text is not None and text.isdigit() else None


# ---- statuses --------------------------------------------------------------------------------------


def _status(batch: WebhookBatch, at: str, raw: Any, phone_number_id: str, waba_id: str | None) -> StatusEvent | None:
    if not isinstance(raw, Mapping):
        batch.problem(f"{at} is not an object")
        return None
    message_id = _id(raw.get("id"))
    raw_status = _str(raw.get("status"))
    if message_id is None or raw_status is None:
        batch.problem(f"{at}: a status needs an id and a status, skipped")
        return None
    status = raw_status if raw_status in STATUSES else UNKNOWN
    if status == UNKNOWN:
        batch.problem(f"{at}: unknown status {raw_status[:40]!r} of {message_id}")
    moment = timestamp(raw.get("timestamp"))
    if moment is None:
        batch.problem(f"{at}: {raw_status} of {message_id} has no usable timestamp")
    pricing_raw = raw.get("pricing")
    pricing = None
    if isinstance(pricing_raw, Mapping):
        billable = pricing_raw.get("billable")
        pricing = Pricing(billable if isinstance(billable, bool) else None, _str(pricing_raw.get("pricing_model")),
                          _str(pricing_raw.get("type")), _str(pricing_raw.get("category")))
    errors = tuple(detail for detail in (_error(item) for item in _list(raw.get("errors"))) if detail is not None)
    user_id = _id(raw.get("recipient_user_id"))
    recipient = _id(raw.get("recipient_id"))
    if recipient is not None and not recipient.isdigit():
        user_id = user_id or (recipient if is_bsuid(recipient) else None)
        recipient = None
    return StatusEvent(message_id=message_id, phone_number_id=phone_number_id, status=status, raw_status=raw_status,
                       timestamp=moment, recipient_id=recipient,
                       recipient_user_id=user_id if user_id is not None and is_bsuid(user_id) else None,
                       pricing=pricing, errors=errors, conversation_id=_id(_map(raw.get("conversation")).get("id")),
                       waba_id=waba_id, callback_data=_callback_data(raw.get("biz_opaque_callback_data")))


def _callback_data(raw: Any) -> str | None:
    return raw if isinstance(raw, str) and 0 < len(raw) <= MAX_CALLBACK_DATA else None


# ---- engine inputs ---------------------------------------------------------------------------------


def to_input(event: InboundEvent) -> Input:
    """What the engine is given for ``event``. Always a TEXT input (the kind every waiting node
    of a messaging channel accepts: ``wait`` takes only text, ``gather`` text, speech or digits):

    * text: its body;
    * a button or list reply: the id (the engine's WhatsApp renderer uses the choice's key as the
      id, ``__more`` for a list's "More" row), as the dev channel sends a button's id as text;
      ``data["reply"]`` keeps id and title;
    * a template quick reply: its payload (``data["template_button"]``);
    * a location: ``"latitude,longitude"``, with ``data["location"]``;
    * an audio message: **a marker the runtime resolves before the engine sees it**: an empty
      text with ``data["voice_note"] = {"media_id", "mime_type", "voice"}``; the runtime fetches
      and transcribes the audio and gives the engine :func:`with_transcript` (or, for a node
      waiting for a recording, ``Input.recording`` of the downloaded file);
    * other media: the caption (or ""), with ``data["media"]``;
    * unknown: "" with ``data["unsupported"]`` naming the payload's type.
    """
    if event.kind == TEXT:
        return Input.text(event.text or "")
    if event.kind in (BUTTON_REPLY, LIST_REPLY):
        return Input(InputKind.TEXT, event.reply_id or "", data={"reply": {"id": event.reply_id,
                                                                            "title": event.reply_title}})
    if event.kind == TEMPLATE_BUTTON:
        return Input(InputKind.TEXT, event.reply_id or "", data={"template_button": {"payload": event.reply_id,
                                                                                      "text": event.reply_title}})
    if event.kind == LOCATION and event.location is not None:
        place = event.location
        return Input(InputKind.TEXT, f"{place.latitude},{place.longitude}", data={"location": {
            "latitude": place.latitude, "longitude": place.longitude, "name": place.name, "address": place.address}})
    if event.kind == AUDIO and event.media is not None:
        return Input(InputKind.TEXT, "", data={VOICE_NOTE: {"media_id": event.media.id,
                                                            "mime_type": event.media.mime_type,
                                                            "voice": event.media.voice}})
    if event.media is not None:
        return Input(InputKind.TEXT, event.media.caption or "", data={"media": {
            "kind": event.kind, "media_id": event.media.id, "mime_type": event.media.mime_type,
            "filename": event.media.filename}})
    return Input(InputKind.TEXT, "", data={"unsupported": event.type})


def needs_transcription(given: Input) -> bool:
    """Whether ``given`` is a voice-note marker the runtime must resolve first (not yet given a
    transcript: an empty one, a note that could not be heard, is resolved)."""
    return (given.kind is InputKind.TEXT and not given.value and VOICE_NOTE in given.data
            and "transcript" not in given.data)


def with_transcript(given: Input, transcript: str) -> Input:
    """The voice-note marker ``given`` resolved: the transcript as text, the note kept in data."""
    return Input(InputKind.TEXT, transcript, data={**given.data, "transcript": transcript})
