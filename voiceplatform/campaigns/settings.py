"""A campaign's settings, validated: pacing, the cap, the calling (or sending) window, and retry
rules per outcome. The same settings serve every channel: ``calls_per_second`` paces the
campaign's interactions (calls on voice, sessions started on messaging), ``max_concurrent`` caps
the calls in progress on voice and ``max_sessions_per_second`` the sessions started in any one
second on messaging; ``caller_id``, ``ring_seconds`` and ``expected_minutes`` are voice's,
``sender`` is messaging's (one of the account's numbers: the address replies come back to).
``redirect_url``, ``links`` and ``link_days`` are the click-tracked links' (any channel's
``track_link``; voiceplatform.safety.redirect_urls checks the URLs).

Validated with ``context={"channel": ...}`` (the API does, at creation), retry rules must name
outcomes of that channel; without it, any known outcome is accepted (a stored campaign)."""

from __future__ import annotations

from datetime import time

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from voiceplatform.campaigns.windows import DAY_NAMES, CallingWindow
from voiceplatform.flow.short_links import check_name
from voiceplatform.safety import switch_values
from voiceplatform.safety.redirect_urls import redirect_target

VOICE_OUTCOMES = ("busy", "no-answer", "rejected", "congestion", "failed", "machine")
#: A message's outcomes that may be retried: what a delivery report (or the send itself) says
#: went wrong, and ``unknown`` (a submit the SMSC never answered: not retried unless a rule says
#: so, since the handset may have it). ``sent`` and ``delivered`` are final
#: (voiceplatform.campaigns.message_outcomes).
MESSAGE_OUTCOMES = ("undelivered", "expired", "rejected", "failed", "unknown")
OUTCOMES = tuple(dict.fromkeys(VOICE_OUTCOMES + MESSAGE_OUTCOMES))
RETRY_OUTCOMES = {"voice": VOICE_OUTCOMES, "sms": MESSAGE_OUTCOMES, "whatsapp": MESSAGE_OUTCOMES}
MAX_LINKS = 20  # named links of one campaign
#: ``calls_per_second`` at most: a switch places 200 calls a second at most; a messaging campaign
#: starts up to 2,000 sessions a second (in batches: voiceplatform.dialer.dispatcher)
MAX_CALLS_PER_SECOND = 200
MAX_SESSIONS_PER_SECOND = 2000


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
    "undelivered": RetryRule(retries=1, minutes=60),  # the handset was off: once more, an hour later
    "expired": RetryRule(retries=0),  # the network gave up after its own retries
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

    calls_per_second: float = Field(default=1.0, gt=0, le=MAX_SESSIONS_PER_SECOND)  # voice: MAX_CALLS_PER_SECOND
    max_concurrent: int = Field(default=10, ge=1, le=5000)
    window: Window = Field(default_factory=Window)
    retries: dict[str, RetryRule] = Field(default_factory=lambda: dict(DEFAULT_RETRIES))
    caller_id: str | None = None
    ring_seconds: float = Field(default=30, ge=5, le=120)
    expected_minutes: float = Field(default=1, gt=0, le=120)  # per answered call, for the cost estimate
    max_sessions_per_second: float = Field(default=200, gt=0, le=5000)  # messaging: the cap, across workers
    sender: str | None = Field(default=None, min_length=1, max_length=64)  # messaging: our number (default: the first)
    # Click-tracked links (docs/engagement.md): where track_link() sends a click (None: the neutral
    # page), where track_link('name') does, and for how many days after a session's start a click counts.
    redirect_url: str | None = None
    links: dict[str, str] = Field(default_factory=dict, max_length=MAX_LINKS)
    link_days: int = Field(default=90, ge=1, le=3650)

    @field_validator("caller_id")
    @classmethod
    def _caller_id(cls, value: str | None) -> str | None:
        # It reaches the switch (AMI CallerID, FreeSWITCH origination_caller_id_*): the one
        # validator refuses CR/LF, separators and over-long values (an UnsafeValueError is a
        # ValueError, so it is reported as this field's error).
        return None if value is None else switch_values.caller_id_text(value, "caller_id")

    @field_validator("redirect_url")
    @classmethod
    def _redirect_url(cls, value: str | None) -> str | None:
        return None if value is None else redirect_target(value, "redirect_url")

    @field_validator("links")
    @classmethod
    def _links(cls, value: dict[str, str]) -> dict[str, str]:
        return {check_name(name): redirect_target(url, f"links.{name}") for name, url in value.items()}

    @field_validator("calls_per_second")
    @classmethod
    def _rate(cls, value: float, info: ValidationInfo) -> float:
        if (info.context or {}).get("channel") == "voice" and value > MAX_CALLS_PER_SECOND:
            raise ValueError(f"a voice campaign places at most {MAX_CALLS_PER_SECOND} calls a second")
        return value

    @field_validator("retries")
    @classmethod
    def _outcomes(cls, value: dict[str, RetryRule], info: ValidationInfo) -> dict[str, RetryRule]:
        channel = str((info.context or {}).get("channel") or "")
        known = RETRY_OUTCOMES.get(channel, OUTCOMES)
        unknown = set(value) - set(known)
        if unknown:
            which = f"{channel} campaigns' " if channel in RETRY_OUTCOMES else ""
            raise ValueError(f"{which}retry rules are for outcomes {list(known)}; not {sorted(unknown)}")
        return {**DEFAULT_RETRIES, **value}
