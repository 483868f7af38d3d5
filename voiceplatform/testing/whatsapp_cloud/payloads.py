"""The pieces of a ``messages`` webhook value, shaped as Meta sends them (Meta's webhook
reference pages for text, interactive, button, audio, location and status; the
business-scoped-user-id page for ``user_id`` / ``from_user_id`` / ``recipient_user_id``).

Users with no phone number (a username) have no ``wa_id``, ``from`` or ``recipient_id``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from voiceplatform.testing.whatsapp_cloud.registry import PhoneNumber, User

#: Meta's pricing categories and types (per-message pricing)
PRICING_CATEGORIES = ("marketing", "utility", "authentication", "authentication_international",
                      "service", "referral_conversion", "marketing_lite")
PRICING_TYPES = ("regular", "free_customer_service", "free_entry_point")


@dataclass(frozen=True)
class WebhookEvent:
    """One message, status or error for one business number; a POST carries one or more."""

    number: PhoneNumber
    kind: str  # "messages" | "statuses" | "errors"
    item: dict[str, Any]
    contact: dict[str, Any] | None = None


def metadata(number: PhoneNumber) -> dict[str, str]:
    return {"display_phone_number": number.display_phone_number, "phone_number_id": number.phone_number_id}


def contact(user: User) -> dict[str, Any]:
    profile: dict[str, Any] = {"name": user.name}
    if user.username:
        profile["username"] = user.username
    result: dict[str, Any] = {"profile": profile}
    if user.wa_id is not None:
        result["wa_id"] = user.wa_id
    result["user_id"] = user.user_id
    return result


def inbound_message(user: User, wamid: str, timestamp: float, kind: str, content: dict[str, Any],
                    context: dict[str, str] | None = None) -> dict[str, Any]:
    message: dict[str, Any] = {}
    if user.wa_id is not None:
        message["from"] = user.wa_id
    message["from_user_id"] = user.user_id
    if context is not None:
        message["context"] = context
    message.update({"id": wamid, "timestamp": str(int(timestamp)), "type": kind, kind: content})
    return message


def pricing(category: str, pricing_type: str, billable: bool) -> dict[str, Any]:
    return {"billable": billable, "pricing_model": "PMP", "type": pricing_type, "category": category}


def status(wamid: str, name: str, timestamp: float, user: User, *, pricing_info: dict[str, Any] | None = None,
           errors: list[dict[str, Any]] | None = None, callback_data: str | None = None,
           conversation: dict[str, Any] | None = None) -> dict[str, Any]:
    item: dict[str, Any] = {"id": wamid, "status": name, "timestamp": str(int(timestamp))}
    if user.wa_id is not None:
        item["recipient_id"] = user.wa_id
    item["recipient_user_id"] = user.user_id
    if callback_data is not None:
        item["biz_opaque_callback_data"] = callback_data
    if conversation is not None:
        item["conversation"] = conversation
    if pricing_info is not None:
        item["pricing"] = pricing_info
    if errors is not None:
        item["errors"] = errors
    return item


def envelope(events: list[WebhookEvent]) -> dict[str, Any]:
    """``{"object": "whatsapp_business_account", "entry": [...]}``: one entry per WABA, one
    change per run of events of the same number and kind (a batch of statuses shares a value)."""
    entries: dict[str, list[dict[str, Any]]] = {}
    last: tuple[str, str, str] | None = None
    for event in events:
        changes = entries.setdefault(event.number.waba_id, [])
        key = (event.number.waba_id, event.number.phone_number_id, event.kind)
        if key != last or not changes:
            value: dict[str, Any] = {"messaging_product": "whatsapp", "metadata": metadata(event.number)}
            changes.append({"value": value, "field": "messages"})
        value = changes[-1]["value"]
        last = key
        if event.contact is not None:
            contacts = value.setdefault("contacts", [])
            if event.contact not in contacts:
                contacts.append(event.contact)
        value.setdefault(event.kind, []).append(event.item)
    for changes in entries.values():  # contacts come before messages/statuses, as Meta orders them
        for change in changes:
            value = change["value"]
            if "contacts" in value:
                ordered = {"messaging_product": value["messaging_product"], "metadata": value["metadata"],
                           "contacts": value["contacts"]}
                ordered.update({k: v for k, v in value.items() if k not in ordered})
                change["value"] = ordered
    return {"object": "whatsapp_business_account",
            "entry": [{"id": waba, "changes": changes} for waba, changes in entries.items()]}
