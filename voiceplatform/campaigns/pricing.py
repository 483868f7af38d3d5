"""What calls and messages cost, per channel, and a campaign's estimate against the balance.

Rates are configuration: ``VOICEPLATFORM_RATES`` holds JSON such as
``{"voice_per_minute": "0.02", "sms_per_part": "0.0075", "whatsapp_per_message": "0.005"}``;
the API's ``RATES`` setting overrides it.

- **voice**: billed per started minute of billable (answered) time; an unanswered call costs
  nothing. The minimum charge (what the balance must cover to place the next call) is a minute.
- **sms**: billed per part on submission (a 200-character GSM-7 text is 2 parts, an 80-character
  Arabic one 2 parts: voiceplatform.text.sms_segments); the minimum charge is one part.
- **whatsapp**: billed per message on submission; the minimum charge is one message.

The estimate is an estimate: the actual cost is known once the calls are made or the messages
sent (a personalised text's length, and so its parts, differs from contact to contact)."""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, fields
from decimal import Decimal
from typing import Any, Iterable, Mapping

from voiceplatform.text.sms_segments import measure

QUANTUM = Decimal("0.0001")


@dataclass(frozen=True)
class Rates:
    voice_per_minute: Decimal = Decimal("0.02")
    sms_per_part: Decimal = Decimal("0.0075")
    whatsapp_per_message: Decimal = Decimal("0.005")

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any] | None) -> Rates:
        known = {f.name for f in fields(cls)}
        unknown = set(raw or {}) - known
        if unknown:
            raise ValueError(f"unknown rates {sorted(unknown)}; known: {sorted(known)}")
        return cls(**{name: Decimal(str(value)) for name, value in (raw or {}).items()})

    @classmethod
    def from_env(cls) -> Rates:
        return cls.from_mapping(json.loads(os.environ.get("VOICEPLATFORM_RATES") or "{}"))

    def call_cost(self, billable_seconds: float) -> Decimal:
        return self.voice_per_minute * math.ceil(max(0.0, float(billable_seconds)) / 60)

    def message_cost(self, channel: str, messages: int, parts: int) -> Decimal:
        """What ``messages`` messages of ``parts`` SMS parts in all cost on ``channel``."""
        if channel == "sms":
            return self.sms_per_part * parts
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
