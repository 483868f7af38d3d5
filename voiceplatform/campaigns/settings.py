"""A campaign's settings, validated: pacing, the calling window, and retry rules per outcome."""

from __future__ import annotations

from datetime import time

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from voiceplatform.campaigns.windows import DAY_NAMES, CallingWindow
from voiceplatform.safety import switch_values

OUTCOMES = ("busy", "no-answer", "rejected", "congestion", "failed", "machine")


class RetryRule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    retries: int = Field(ge=0, le=20)  # how many more attempts after the first one
    minutes: float = Field(default=10, ge=0, le=7 * 24 * 60)  # between attempts


DEFAULT_RETRIES = {
    "busy": RetryRule(retries=3, minutes=10),
    "no-answer": RetryRule(retries=2, minutes=60),
    "congestion": RetryRule(retries=3, minutes=5),
    "failed": RetryRule(retries=1, minutes=30),
    "rejected": RetryRule(retries=0),
    "machine": RetryRule(retries=0),  # the flow's on.machine leaves the voicemail
}


class Window(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    start: str = Field(default="09:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    end: str = Field(default="20:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$")
    days: tuple[str, ...] = DAY_NAMES

    @field_validator("days")
    @classmethod
    def _days(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [day for day in value if day not in DAY_NAMES]
        if unknown or not value:
            raise ValueError(f"days must be among {list(DAY_NAMES)}")
        return value

    @model_validator(mode="after")
    def _order(self) -> Window:
        self.calling_window()  # raises when start is not before end
        return self

    def calling_window(self) -> CallingWindow:
        end = time(23, 59, 59, 999999) if self.end == "24:00" else time.fromisoformat(self.end)
        return CallingWindow(time.fromisoformat(self.start), end, frozenset(DAY_NAMES.index(d) for d in self.days))


class CampaignSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    calls_per_second: float = Field(default=1.0, gt=0, le=200)
    max_concurrent: int = Field(default=10, ge=1, le=5000)
    window: Window = Field(default_factory=Window)
    retries: dict[str, RetryRule] = Field(default_factory=lambda: dict(DEFAULT_RETRIES))
    caller_id: str | None = None
    ring_seconds: float = Field(default=30, ge=5, le=120)
    expected_minutes: float = Field(default=1, gt=0, le=120)  # per answered call, for the cost estimate

    @field_validator("caller_id")
    @classmethod
    def _caller_id(cls, value: str | None) -> str | None:
        # It reaches the switch (AMI CallerID, FreeSWITCH origination_caller_id_*): the one
        # validator refuses CR/LF, separators and over-long values (an UnsafeValueError is a
        # ValueError, so it is reported as this field's error).
        return None if value is None else switch_values.caller_id_text(value, "caller_id")

    @field_validator("retries")
    @classmethod
    def _outcomes(cls, value: dict[str, RetryRule]) -> dict[str, RetryRule]:
        unknown = set(value) - set(OUTCOMES)
        if unknown:
            raise ValueError(f"retry rules are for outcomes {list(OUTCOMES)}; not {sorted(unknown)}")
        return {**DEFAULT_RETRIES, **value}
