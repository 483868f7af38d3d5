"""What calls and messages cost, per channel, and a campaign's estimate against the balance.

Rates are configuration: ``VOICEPLATFORM_RATES`` holds JSON such as
``{"voice_per_minute": "0.02", "sms_per_part": "0.0075", "whatsapp_per_message": "0.005",
"sms_per_part_by_country": {"SA": "0.034", "EG": "0.021"}, "whatsapp_per_category": {"marketing":
"0.25"}}``; the API's ``RATES`` setting
overrides it. ``sms_per_part_by_country`` prices a part by the destination's country (ISO 3166
codes, the region of the E.164 number: voiceplatform.phone.region_of); a country it does not
name pays ``sms_per_part``.

- **voice**: billed per started minute of billable (answered) time; an unanswered call costs
  nothing. The minimum charge (what the balance must cover to place the next call) is a minute.
- **sms**: billed per part on submission (a 200-character GSM-7 text is 2 parts, an 80-character
  Arabic one 2 parts: voiceplatform.text.sms_segments), at the destination country's rate; the
  minimum charge is one part at the default rate.
- **whatsapp**: a campaign's attempt is billed per *delivered* message (the bridge prices each
  from its status's ``pricing``: campaigns.message_outcomes.charge_delivered), nothing when sent;
  on the dev channel standing in, per message on submission at ``whatsapp_per_message``. The
  minimum charge is one marketing message. Meta prices per *delivered*
  message by the template's category (per-message pricing, since 1 July 2025):
  ``whatsapp_per_category`` (``{"marketing": "0.25", "utility": "0.02", "authentication":
  "0.03"}``) holds the rates, and :func:`whatsapp_charge` says what one delivered message costs
  from the ``pricing`` Meta reports with its status (``category``, ``type``): marketing and
  authentication templates always, utility templates only outside the 24-hour window (inside it
  Meta reports them ``free_customer_service``), free-form (service) messages and anything in a
  free window (``free_customer_service``, ``free_entry_point``) nothing. A category the mapping
  does not name pays ``whatsapp_per_message`` (the fallback); the default mapping is the brief's
  0.25 a marketing message (SAR in the brief; rates are in the account's currency) and 0 for
  service. The campaign estimate prices a WhatsApp campaign's opening template by its category.

The estimate is an estimate: the actual cost is known once the calls are made or the messages
sent (a personalised text's length, and so its parts, differs from contact to contact)."""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field, fields
from decimal import Decimal
from typing import Any, Iterable, Mapping

import phonenumbers

from voiceplatform.phone import region_of
from voiceplatform.text.sms_segments import measure

QUANTUM = Decimal("0.0001")
#: The categories Meta prices WhatsApp messages by (``pricing.category`` of a status webhook).
WHATSAPP_CATEGORIES = ("marketing", "utility", "authentication", "authentication_international", "service",
                       "referral_conversion", "marketing_lite")
#: Pricing types of a message sent in a free window (``pricing.type``): they cost nothing.
FREE_PRICING_TYPES = frozenset({"free_customer_service", "free_entry_point"})
#: The brief's WhatsApp figure (0.250 SAR a message, its channel mix's unit cost) for marketing;
#: free-form messages in the customer service window are free.
DEFAULT_WHATSAPP_PER_CATEGORY: Mapping[str, Decimal] = {"marketing": Decimal("0.25"), "service": Decimal("0")}


@dataclass(frozen=True)
class Rates:
    voice_per_minute: Decimal = Decimal("0.02")
    sms_per_part: Decimal = Decimal("0.0075")
    whatsapp_per_message: Decimal = Decimal("0.005")
    #: A part's rate by destination country (ISO 3166 region: ``{"SA": Decimal("0.034")}``).
    sms_per_part_by_country: Mapping[str, Decimal] = field(default_factory=dict)
    #: A delivered WhatsApp message's rate by its category (``marketing``, ``utility``,
    #: ``authentication`` ...); a category not named pays ``whatsapp_per_message``.
    whatsapp_per_category: Mapping[str, Decimal] = field(default_factory=lambda: dict(DEFAULT_WHATSAPP_PER_CATEGORY))

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any] | None) -> Rates:
        known = {f.name for f in fields(cls)}
        unknown = set(raw or {}) - known
        if unknown:
            raise ValueError(f"unknown rates {sorted(unknown)}; known: {sorted(known)}")
        values: dict[str, Any] = {name: Decimal(str(value)) for name, value in (raw or {}).items()
                                  if name not in ("sms_per_part_by_country", "whatsapp_per_category")}
        by_country = (raw or {}).get("sms_per_part_by_country")
        if by_country is not None:
            values["sms_per_part_by_country"] = _country_rates(by_country)
        by_category = (raw or {}).get("whatsapp_per_category")
        if by_category is not None:
            values["whatsapp_per_category"] = {**DEFAULT_WHATSAPP_PER_CATEGORY, **_category_rates(by_category)}
        return cls(**values)

    @classmethod
    def from_env(cls) -> Rates:
        return cls.from_mapping(json.loads(os.environ.get("VOICEPLATFORM_RATES") or "{}"))

    def call_cost(self, billable_seconds: float) -> Decimal:
        return self.voice_per_minute * math.ceil(max(0.0, float(billable_seconds)) / 60)

    def sms_part_rate(self, to: str | None = None) -> Decimal:
        """What one SMS part to ``to`` (E.164) costs: its country's rate, else the default."""
        if to and self.sms_per_part_by_country:
            region = region_of(to)
            if region is not None and region in self.sms_per_part_by_country:
                return self.sms_per_part_by_country[region]
        return self.sms_per_part

    def whatsapp_rate(self, category: str | None) -> Decimal:
        """What one delivered WhatsApp message of ``category`` costs when it is charged: the
        category's rate, else ``whatsapp_per_message``."""
        return self.whatsapp_per_category.get((category or "").strip().lower(), self.whatsapp_per_message)

    def message_cost(self, channel: str, messages: int, parts: int, to: str | None = None) -> Decimal:
        """What ``messages`` messages of ``parts`` SMS parts in all cost on ``channel``, sent to
        ``to`` (E.164: an SMS part is priced by its destination's country)."""
        if channel == "sms":
            return self.sms_part_rate(to) * parts
        if channel == "whatsapp":
            return self.whatsapp_per_message * messages
        raise ValueError(f"{channel!r} is not a messaging channel")

    def minimum_charge(self, channel: str = "voice") -> Decimal:
        """What the balance must cover for a campaign on ``channel`` to make its next attempt: a
        minute, a part, or on WhatsApp a marketing message (charged when delivered, by its
        category: the dearest a campaign's opening template usually is)."""
        if channel == "voice":
            return self.voice_per_minute
        if channel == "whatsapp":
            return self.whatsapp_rate("marketing")
        return self.message_cost(channel, 1, 1)

    def unit(self, channel: str) -> tuple[str, Decimal]:
        """The channel's billing unit and its rate: (``minute``, ...), (``part``, ...), (``message``, ...)."""
        if channel == "voice":
            return "minute", self.voice_per_minute
        if channel == "sms":
            return "part", self.sms_per_part
        return "message", self.whatsapp_per_message


def _country_rates(raw: Any) -> dict[str, Decimal]:
    """``{"SA": "0.034"}`` checked: known ISO 3166 regions (upper case), non-negative rates."""
    if not isinstance(raw, Mapping):
        raise ValueError("sms_per_part_by_country must map ISO 3166 country codes to rates")
    rates: dict[str, Decimal] = {}
    for region, value in raw.items():
        code = str(region).strip().upper()
        if code not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(f"sms_per_part_by_country: {region!r} is not an ISO 3166 country code phonenumbers knows")
        rate = Decimal(str(value))
        if not rate.is_finite() or rate < 0:
            raise ValueError(f"sms_per_part_by_country: the rate of {code} must be a non-negative number")
        rates[code] = rate
    return rates


def _category_rates(raw: Any) -> dict[str, Decimal]:
    """``{"marketing": "0.25"}`` checked: Meta's categories (lower case), non-negative rates."""
    if not isinstance(raw, Mapping):
        raise ValueError("whatsapp_per_category must map WhatsApp categories to rates")
    rates: dict[str, Decimal] = {}
    for category, value in raw.items():
        name = str(category).strip().lower()
        if name not in WHATSAPP_CATEGORIES:
            raise ValueError(f"whatsapp_per_category: {category!r} is not a WhatsApp category "
                             f"(one of {', '.join(WHATSAPP_CATEGORIES)})")
        rate = Decimal(str(value))
        if not rate.is_finite() or rate < 0:
            raise ValueError(f"whatsapp_per_category: the rate of {name} must be a non-negative number")
        rates[name] = rate
    return rates


def whatsapp_charge(rates: Rates, category: str | None, pricing_type: str | None) -> Decimal:
    """What one *delivered* WhatsApp message costs, from the ``pricing`` Meta reports with its
    status: nothing in a free window (``free_customer_service``: a free-form message, or a utility
    template, inside the 24-hour window; ``free_entry_point``: the 72 hours after a click-to-WhatsApp
    ad), nothing for a service (free-form) message; otherwise (``regular``, or a type Meta adds
    later) the category's rate: marketing and authentication templates always, utility templates
    outside the window."""
    kind = (pricing_type or "regular").strip().lower()
    if kind in FREE_PRICING_TYPES:
        return Decimal("0")
    if (category or "").strip().lower() == "service":
        return Decimal("0")
    return rates.whatsapp_rate(category)


def estimate_whatsapp(rates: Rates, contacts: int, categories_per_contact: Mapping[str, float]) -> Decimal:
    """Every remaining contact sent the campaign's opening templates: ``categories_per_contact``
    says how many of each category a contact gets (voiceplatform.campaigns.estimate); free-form
    messages are not in it (inside the window they are free)."""
    per_contact = sum((rates.whatsapp_rate(category) * Decimal(str(count))
                       for category, count in categories_per_contact.items()), Decimal("0"))
    return (per_contact * contacts).quantize(QUANTUM)


def parts_of(channel: str, texts: Iterable[str]) -> int:
    """The billed parts of ``texts`` on ``channel``: SMS segments on sms, one a message elsewhere."""
    if channel == "sms":
        return sum(measure(text).segments for text in texts)
    return sum(1 for _ in texts)


def estimate_voice(rates: Rates, contacts: int, expected_minutes: float) -> Decimal:
    """Every remaining contact answering for ``expected_minutes`` (rounded up to whole minutes)."""
    return (rates.voice_per_minute * math.ceil(expected_minutes) * contacts).quantize(QUANTUM)


def estimate_messages(rates: Rates, channel: str, contacts: int, messages_per_contact: float,
                      parts_per_contact: float) -> Decimal:
    """Every remaining contact sent the campaign's first step once (its messages and parts, as a
    sample of the contacts' own texts measured them: voiceplatform.campaigns.estimate)."""
    if channel == "sms":
        return (rates.sms_per_part * Decimal(str(parts_per_contact)) * contacts).quantize(QUANTUM)
    return (rates.whatsapp_per_message * Decimal(str(messages_per_contact)) * contacts).quantize(QUANTUM)
