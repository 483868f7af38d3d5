"""What the emulated Meta account holds: phone numbers (with their throughput tier), the WhatsApp
Business Account's message templates (name, language, category, status, components, hence the
parameter counts), and the WhatsApp users the numbers talk to.

The seed (:func:`seeded_registry`) is what a fresh server and every ``/_control/reset`` start
from; tests add to it with the control endpoints.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from voiceplatform.testing.whatsapp_cloud.ids import bsuid_for_phone

DEFAULT_TIER = 80
UPGRADED_TIER = 1000
COEXISTENCE_TIER = 20
TEMPLATE_STATUSES = ("APPROVED", "PENDING", "REJECTED", "PAUSED", "DISABLED", "IN_APPEAL",
                     "PENDING_DELETION", "DELETED", "LIMIT_EXCEEDED", "ARCHIVED", "LOCKED")
TEMPLATE_CATEGORIES = ("MARKETING", "UTILITY", "AUTHENTICATION")
_PLACEHOLDER = re.compile(r"\{\{\s*(\w+)\s*\}\}")


@dataclass
class PhoneNumber:
    phone_number_id: str
    display_phone_number: str
    waba_id: str
    #: messages per second, inbound and outbound together (80 default, 1,000 upgraded)
    tier: int = DEFAULT_TIER


@dataclass
class User:
    """A WhatsApp user. ``wa_id`` is None for a user who adopted a username and hides the phone
    number: webhooks then carry only ``user_id`` / ``from_user_id``."""

    user_id: str
    wa_id: str | None
    name: str
    username: str | None = None
    #: refuses delivery: every message to this user ends in a ``failed`` 131026 status
    undeliverable: bool = False
    #: opens what it receives: a ``read`` status follows ``delivered`` (and ``played`` for audio)
    reads: bool = False


@dataclass
class Template:
    name: str
    language: str
    category: str
    status: str
    components: list[dict[str, Any]]
    id: str = ""

    def component(self, kind: str) -> dict[str, Any] | None:
        for component in self.components:
            if str(component.get("type", "")).upper() == kind:
                return component
        return None

    @property
    def body_params(self) -> int:
        body = self.component("BODY")
        return _count_placeholders(str(body.get("text", ""))) if body else 0

    @property
    def header_format(self) -> str | None:
        header = self.component("HEADER")
        return str(header.get("format", "TEXT")).upper() if header else None

    @property
    def header_params(self) -> int:
        header = self.component("HEADER")
        if header is None:
            return 0
        if self.header_format == "TEXT":
            return _count_placeholders(str(header.get("text", "")))
        return 1  # an IMAGE / VIDEO / DOCUMENT / LOCATION header takes its media as a parameter

    @property
    def buttons(self) -> list[dict[str, Any]]:
        component = self.component("BUTTONS")
        return list(component.get("buttons", [])) if component else []

    def button_params(self, index: int) -> int:
        button = self.buttons[index]
        if button.get("type") == "URL":
            return _count_placeholders(str(button.get("url", "")))
        if button.get("type") == "COPY_CODE" or button.get("otp_type"):
            return 1
        return 0

    def listing(self) -> dict[str, Any]:
        """The template as ``GET /{waba-id}/message_templates`` lists it."""
        return {"name": self.name, "language": self.language, "status": self.status,
                "category": self.category, "components": self.components, "id": self.id}


def _count_placeholders(text: str) -> int:
    return len(set(_PLACEHOLDER.findall(text)))


@dataclass
class Registry:
    numbers: dict[str, PhoneNumber] = field(default_factory=dict)
    templates: list[Template] = field(default_factory=list)
    #: users by BSUID
    users: dict[str, User] = field(default_factory=dict)

    def add_number(self, number: PhoneNumber) -> PhoneNumber:
        self.numbers[number.phone_number_id] = number
        return number

    def add_user(self, user: User) -> User:
        self.users[user.user_id] = user
        return user

    def add_template(self, template: Template) -> Template:
        self.templates = [t for t in self.templates
                          if not (t.name == template.name and t.language == template.language)]
        if not template.id:
            template.id = str(900_000_000_000_000 + len(self.templates) + 1)
        self.templates.append(template)
        return template

    def user_by_phone(self, wa_id: str) -> User:
        """The user with this phone number; a plain reachable user is created for a new one
        (any phone number may be on WhatsApp)."""
        for user in self.users.values():
            if user.wa_id == wa_id:
                return user
        return self.add_user(User(user_id=bsuid_for_phone(wa_id), wa_id=wa_id, name=f"User {wa_id[-4:]}"))

    def user_by_bsuid(self, user_id: str) -> User | None:
        return self.users.get(user_id)

    def templates_named(self, name: str) -> list[Template]:
        return [t for t in self.templates if t.name == name]

    def waba_templates(self, waba_id: str) -> list[Template]:
        if not any(n.waba_id == waba_id for n in self.numbers.values()):
            return []
        return list(self.templates)


SEED_WABA_ID = "102290129340398"
SEED_NUMBER_ID = "106540352242922"
SEED_UPGRADED_NUMBER_ID = "106540352242923"
#: the seeded users' phone numbers / BSUIDs, for tests
ZOE = "15551234567"
LAYLA = "966501234567"
UNDELIVERABLE = "15550009999"
USERNAME_ONLY_BSUID = "US.10000000000000000042"


def seeded_registry() -> Registry:
    registry = Registry()
    registry.add_number(PhoneNumber(SEED_NUMBER_ID, "15550001111", SEED_WABA_ID, DEFAULT_TIER))
    registry.add_number(PhoneNumber(SEED_UPGRADED_NUMBER_ID, "15550002222", SEED_WABA_ID, UPGRADED_TIER))
    registry.add_user(User(bsuid_for_phone(ZOE), ZOE, "Zo\u00eb", reads=True))
    registry.add_user(User(bsuid_for_phone(LAYLA), LAYLA, "\u0644\u064a\u0644\u0649"))
    registry.add_user(User(bsuid_for_phone(UNDELIVERABLE), UNDELIVERABLE, "Ghost", undeliverable=True))
    registry.add_user(User(USERNAME_ONLY_BSUID, None, "Nomad", username="nomad.42", reads=True))
    for template in _SEED_TEMPLATES:
        registry.add_template(Template(template.name, template.language, template.category,
                                       template.status, [dict(c) for c in template.components]))
    return registry


def _body(text: str) -> dict[str, Any]:
    return {"type": "BODY", "text": text}


_QUICK_REPLIES = {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": "Yes"},
                                                 {"type": "QUICK_REPLY", "text": "Stop promotions"}]}
_SEED_TEMPLATES = (
    Template("hello_world", "en_US", "UTILITY", "APPROVED",
             [{"type": "HEADER", "format": "TEXT", "text": "Hello World"},
              _body("Welcome and congratulations!!"), {"type": "FOOTER", "text": "WhatsApp Business Platform sample message"}]),
    Template("order_update", "en_US", "UTILITY", "APPROVED",
             [_body("Hi {{1}}, your order {{2}} is on its way."), _QUICK_REPLIES]),
    Template("order_update", "es", "UTILITY", "APPROVED",
             [_body("Hola {{1}}, tu pedido {{2}} va en camino."), _QUICK_REPLIES]),
    Template("appointment_reminder", "en_US", "UTILITY", "APPROVED",
             [{"type": "HEADER", "format": "TEXT", "text": "Reminder for {{1}}"},
              _body("Your appointment is on {{1}} at {{2}}."),
              {"type": "BUTTONS", "buttons": [{"type": "URL", "text": "Reschedule",
                                               "url": "https://example.com/r/{{1}}"}]}]),
    Template("spring_sale", "en_US", "MARKETING", "APPROVED",
             [{"type": "HEADER", "format": "IMAGE"}, _body("{{1}}, 20% off everything this week."), _QUICK_REPLIES]),
    Template("login_code", "en_US", "AUTHENTICATION", "APPROVED",
             [_body("{{1}} is your verification code."),
              {"type": "BUTTONS", "buttons": [{"type": "URL", "text": "Copy code",
                                               "url": "https://www.whatsapp.com/otp/code/?otp_type=COPY_CODE&code={{1}}"}]}]),
    Template("paused_promo", "en_US", "MARKETING", "PAUSED", [_body("Big news, {{1}}!")]),
    Template("disabled_promo", "en_US", "MARKETING", "DISABLED", [_body("Old news, {{1}}.")]),
    Template("pending_welcome", "en_US", "UTILITY", "PENDING", [_body("Welcome, {{1}}.")]),
    Template("rejected_offer", "en_US", "MARKETING", "REJECTED", [_body("Click here.")]),
)
