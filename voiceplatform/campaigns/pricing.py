"""What calls and messages cost, per channel, and a campaign's estimate against the balance.

Rates are configuration: ``VOICEPLATFORM_RATES`` holds JSON such as
``{"voice_per_minute": "0.02", "sms_per_part": "0.0075", "whatsapp_per_message": "0.005",
"sms_per_part_by_country": {"SA": "0.034", "EG": "0.021"}}``; the API's ``RATES`` setting
overrides it. ``sms_per_part_by_country`` prices a part by the destination's country (ISO 3166
codes, the region of the E.164 number: voiceplatform.phone.region_of); a country it does not
name pays ``sms_per_part``.

- **voice**: billed per started minute of billable (answered) time; an unanswered call costs
  nothing. The minimum charge (what the balance must cover to place the next call) is a minute.
- **sms**: billed per part on submission (a 200-character GSM-7 text is 2 parts, an 80-character
  Arabic one 2 parts: voiceplatform.text.sms_segments), at the destination country's rate; the
  minimum charge is one part at the default rate.
- **whatsapp**: billed per message on submission; the minimum charge is one message.

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


@dataclass(frozen=True)
class Rates:
    voice_per_minute: Decimal = Decimal("0.02")
    sms_per_part: Decimal = Decimal("0.0075")
    whatsapp_per_message: Decimal = Decimal("0.005")
    #: A part's rate by destination country (ISO 3166 region: ``{"SA": Decimal("0.034")}``).
    sms_per_part_by_country: Mapping[str, Decimal] = field(default_factory=dict)

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any] | None) -> Rates:
        known = {f.name for f in fields(cls)}
        unknown = set(raw or {}) - known
        if unknown:
            raise ValueError(f"unknown rates {sorted(unknown)}; known: {sorted(known)}")
        values: dict[str, Any] = {name: Decimal(str(value)) for name, value in (raw or {}).items()
                                  if name != "sms_per_part_by_country"}
        by_country = (raw or {}).get("sms_per_part_by_country")
        if by_country is not None:
            values["sms_per_part_by_country"] = _country_rates(by_country)
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

    def message_cost(self, channel: str, messages: int, parts: int, to: str | None = None) -> Decimal:
        """What ``messages`` messages of ``parts`` SMS parts in all cost on ``channel``, sent to
        ``to`` (E.164: an SMS part is priced by its destination's country)."""
        if channel == "sms":
            return self.sms_part_rate(to) * parts
        if channel == "whatsapp":
            return self.whatsapp_per_message * messages
        raise ValueError(f"{channel!r} is not a messaging channel")

    def minimum_charge(self, channel: str = "voice") -> Decimal:
        """What the balance must cover for a campaign on ``channel`` to make its next attempt."""
        if channel == "voice":
            return self.voice_per_minute
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
