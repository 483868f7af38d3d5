"""What calls and messages cost, per channel, and a campaign's estimate against the balance.

Rates are configuration: ``VOICEPLATFORM_RATES`` holds JSON such as
``{"voice_per_minute": "0.02", "sms_per_message": "0.0075", "whatsapp_per_message": "0.005"}``;
the API's ``RATES`` setting overrides it. A call is billed per started minute of billable
(answered) time; an unanswered call costs nothing. The estimate is an estimate: the actual cost
is known once the calls are made."""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, fields
from decimal import Decimal
from typing import Any, Mapping


@dataclass(frozen=True)
class Rates:
    voice_per_minute: Decimal = Decimal("0.02")
    sms_per_message: Decimal = Decimal("0.0075")
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

    @property
    def minimum_call_charge(self) -> Decimal:
        """What a campaign needs in the balance to place its next call: one minute."""
        return self.voice_per_minute


def estimate_voice(rates: Rates, contacts: int, expected_minutes: float) -> Decimal:
    """Every remaining contact answering for ``expected_minutes`` (rounded up to whole minutes)."""
    return (rates.voice_per_minute * math.ceil(expected_minutes) * contacts).quantize(Decimal("0.0001"))
