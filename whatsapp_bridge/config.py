"""The WhatsApp bridge's settings, read once from the environment (docs/whatsapp-bridge.md lists
them).

``VOICEPLATFORM_WHATSAPP_NUMBERS`` names our business numbers: ``phone_number_id=+E164[:tier]``
entries separated by commas (``106540352242922=+15550001111:80``); the tier is the number's
messages per second (80 by default, ``VOICEPLATFORM_WHATSAPP_TIER``; 1,000 once Meta upgraded
it). A session's ``our_address`` is the number (E.164), the Graph API's path names the id.

``VOICEPLATFORM_WHATSAPP_RATES`` prices delivered messages by Meta's category
(``marketing=0.25,utility=0.02,authentication=0.03``) over the platform's rate card
(``campaigns.pricing.Rates``, its ``whatsapp_per_category``; a category named nowhere pays its
``whatsapp_per_message``): one pricing rule, whatsapp_bridge.pricing.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Mapping

from voiceplatform.campaigns.pricing import Rates
from voiceplatform.settings import paths

from whatsapp_bridge.pricing import bridge_rates

PREFIX = "VOICEPLATFORM_WHATSAPP_"
GRAPH_URL_ENV = PREFIX + "GRAPH_URL"
TOKEN_ENV = PREFIX + "TOKEN"
APP_SECRET_ENV = PREFIX + "APP_SECRET"
VERIFY_TOKEN_ENV = PREFIX + "VERIFY_TOKEN"
NUMBERS_ENV = PREFIX + "NUMBERS"
TIER_ENV = PREFIX + "TIER"
RATES_ENV = PREFIX + "RATES"
LISTEN_ENV = PREFIX + "LISTEN"
REDIS_URL_ENV = PREFIX + "REDIS_URL"
CLAIM_LEASE_ENV = PREFIX + "CLAIM_LEASE"
INBOX_LEASE_ENV = PREFIX + "INBOX_LEASE"
VOICE_NOTES_ENV = PREFIX + "VOICE_NOTES"
VOICE_NOTE_MAX_BYTES_ENV = PREFIX + "VOICE_NOTE_MAX_BYTES"
TRANSCRIBE_TIMEOUT_ENV = PREFIX + "TRANSCRIBE_TIMEOUT"
MARK_READ_ENV = PREFIX + "MARK_READ"
WABAS_ENV = PREFIX + "WABAS"
TEMPLATE_SYNC_MINUTES_ENV = PREFIX + "TEMPLATE_SYNC_MINUTES"

DEFAULT_GRAPH_URL = "https://graph.facebook.com/v23.0"
DEFAULT_TIER = 80
MAX_TIER = 10_000
DEFAULT_LISTEN = "127.0.0.1:8089"
#: Meta's limit on an audio message (16 MB): a larger download is not a voice note
DEFAULT_VOICE_NOTE_MAX_BYTES = 16 * 1024 * 1024
MAX_VOICE_NOTE_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class BusinessNumber:
    phone_number_id: str
    number: str  # E.164 with +
    tier: int = DEFAULT_TIER  # messages per second


def _numbers(raw: str, default_tier: int) -> tuple[BusinessNumber, ...]:
    found: list[BusinessNumber] = []
    for entry in (item.strip() for item in raw.split(",")):
        if not entry:
            continue
        number_id, equals, rest = entry.partition("=")
        number, _, tier_text = rest.partition(":")
        number_id, number = number_id.strip(), number.strip()
        if not equals or not number_id.isdigit() or not number.startswith("+") or not number[1:].isdigit():
            raise ValueError(f"{NUMBERS_ENV}: {entry!r} is not phone_number_id=+E164[:tier]")
        tier = default_tier
        if tier_text:
            if not tier_text.isdigit() or not 1 <= int(tier_text) <= MAX_TIER:
                raise ValueError(f"{NUMBERS_ENV}: the tier of {entry!r} is messages a second, 1 to {MAX_TIER}")
            tier = int(tier_text)
        found.append(BusinessNumber(number_id, number, tier))
    return tuple(found)


def _rates(raw: str) -> dict[str, Decimal]:
    rates: dict[str, Decimal] = {}
    for entry in (item.strip() for item in raw.split(",")):
        if not entry:
            continue
        category, equals, value = entry.partition("=")
        try:
            amount = Decimal(value.strip())
        except InvalidOperation:
            amount = Decimal(-1)
        if not equals or not category.strip() or not amount.is_finite() or amount < 0:
            raise ValueError(f"{RATES_ENV}: {entry!r} is not category=amount")
        rates[category.strip().lower()] = amount
    return rates


def _wabas(raw: str) -> tuple[tuple[str, int], ...]:
    """``waba_id=account_id`` entries, comma-separated: whose templates the bridge keeps in sync."""
    found: list[tuple[str, int]] = []
    for entry in (item.strip() for item in raw.split(",")):
        if not entry:
            continue
        waba_id, equals, account = (part.strip() for part in entry.partition("="))
        if not equals or not waba_id.isdigit() or not account.isdigit() or len(waba_id) > 32 or len(account) > 12:
            raise ValueError(f"{WABAS_ENV}: {entry!r} is not waba_id=account_id")
        found.append((waba_id, int(account)))
    return tuple(found)


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or not raw.strip():
        return default
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{name} is 1 or 0 (true or false), not {raw!r}")


def _whole(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name)
    if raw is None:
        return default
    if not raw.strip().isdigit() or not low <= int(raw) <= high:
        raise ValueError(f"{name} is a whole number from {low} to {high}, not {raw!r}")
    return int(raw)


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = 0.0
    if not 0 < value < float("inf"):
        raise ValueError(f"{name} is a number of seconds above 0, not {raw!r}")
    return value


@dataclass(frozen=True, slots=True)
class WhatsAppSettings:
    """Everything the bridge reads. Times are seconds."""

    graph_url: str = DEFAULT_GRAPH_URL
    token: str = field(default="", repr=False)
    app_secret: str = field(default="", repr=False)
    verify_token: str = field(default="", repr=False)
    numbers: tuple[BusinessNumber, ...] = ()
    default_tier: int = DEFAULT_TIER
    #: the platform's rate card a delivered message is priced with (whatsapp_bridge.pricing); a
    #: mapping of category rates given here is taken over the default card
    rates: Rates = field(default_factory=bridge_rates)
    #: where the webhook server listens (host:port; port 0: any free port)
    listen: str = DEFAULT_LISTEN
    #: the Redis that the throughput limiter of every worker shares (None: this process only)
    redis_url: str | None = None
    connect_timeout: float = 5.0
    read_timeout: float = 20.0
    #: messages claimed in one statement, and the most in flight at once
    claim_batch: int = 100
    max_in_flight: int = 500
    claim_lease: float = 120.0
    poll_every: float = 0.05
    #: throttled sends (130429, HTTP 429) come back after this, doubling per pass, up to the max
    retry_delay: float = 1.0
    retry_delay_max: float = 300.0
    #: transient faults (5xx, no connection) are tried this many passes, then the message fails
    transient_attempts: int = 8
    #: the pair limit: a burst of this many to one user, then one every pair_every seconds
    pair_burst: int = 45
    pair_every: float = 6.0
    #: the inbox: events processed a batch at a time, a failed one tried again this many times
    inbox_batch: int = 50
    inbox_attempts: int = 10
    inbox_poll_every: float = 0.5
    #: seconds an inbox's claim on stored webhook events lasts: a bridge that died with events in
    #: hand leaves them to another after this (long enough for a voice note's transcription)
    inbox_lease: float = 120.0
    #: statuses that came before their wamid are matched again this often, dropped after the ttl
    held_every: float = 1.0
    held_ttl: float = 86400.0
    #: voice notes (whatsapp_bridge.voice_notes): transcribed when on; the largest download, the
    #: seconds heard of one, the time its transcription may take (a child process), where they
    #: are kept (None: ``<media dir>/whatsapp/voice_notes``, the media dir VOICEPLATFORM_MEDIA_DIR)
    voice_notes: bool = True
    voice_note_max_bytes: int = DEFAULT_VOICE_NOTE_MAX_BYTES
    voice_note_max_seconds: float = 120.0
    transcribe_timeout: float = 30.0
    media_dir: str | None = None
    #: mark each inbound message read (the blue ticks) once the inbox applied it
    mark_read: bool = True
    #: (WABA id, account id) pairs whose templates are synced at start and every template_sync_every s
    wabas: tuple[tuple[str, int], ...] = ()
    template_sync_every: float = 3600.0

    def __post_init__(self) -> None:
        if not isinstance(self.rates, Rates):  # category rates (tests, callers): over the default card
            object.__setattr__(self, "rates", bridge_rates(self.rates))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> WhatsAppSettings:
        env = os.environ if environ is None else environ
        tier_text = env.get(TIER_ENV, str(DEFAULT_TIER))
        if not tier_text.isdigit() or not 1 <= int(tier_text) <= MAX_TIER:
            raise ValueError(f"{TIER_ENV} is messages a second, 1 to {MAX_TIER}, not {tier_text!r}")
        tier = int(tier_text)
        rates_text = env.get(RATES_ENV)
        rates = bridge_rates(_rates(rates_text) if rates_text else None, Rates.from_env())
        settings = cls(graph_url=env.get(GRAPH_URL_ENV, DEFAULT_GRAPH_URL), token=env.get(TOKEN_ENV, ""),
                       app_secret=env.get(APP_SECRET_ENV, ""), verify_token=env.get(VERIFY_TOKEN_ENV, ""),
                       numbers=_numbers(env.get(NUMBERS_ENV, ""), tier), default_tier=tier, rates=rates,
                       listen=env.get(LISTEN_ENV, DEFAULT_LISTEN), redis_url=env.get(REDIS_URL_ENV) or None,
                       claim_lease=_seconds(env, CLAIM_LEASE_ENV, 120.0),
                       inbox_lease=_seconds(env, INBOX_LEASE_ENV, 120.0),
                       voice_notes=_flag(env, VOICE_NOTES_ENV, True),
                       voice_note_max_bytes=_whole(env, VOICE_NOTE_MAX_BYTES_ENV, DEFAULT_VOICE_NOTE_MAX_BYTES, 1,
                                                   MAX_VOICE_NOTE_BYTES),
                       transcribe_timeout=_seconds(env, TRANSCRIBE_TIMEOUT_ENV, 30.0),
                       mark_read=_flag(env, MARK_READ_ENV, True), wabas=_wabas(env.get(WABAS_ENV, "")),
                       template_sync_every=60.0 * _whole(env, TEMPLATE_SYNC_MINUTES_ENV, 60, 1, 7 * 24 * 60))
        return replace(settings, **overrides) if overrides else settings

    def by_id(self, phone_number_id: str) -> BusinessNumber | None:
        return next((number for number in self.numbers if number.phone_number_id == phone_number_id), None)

    def by_number(self, number: str) -> BusinessNumber | None:
        return next((entry for entry in self.numbers if entry.number == number), None)

    def tier_of(self, phone_number_id: str) -> int:
        number = self.by_id(phone_number_id)
        return number.tier if number is not None else self.default_tier

    def media_root(self) -> Path:
        """The media directory (``media_dir``, else the instance's: VOICEPLATFORM_MEDIA_DIR)."""
        return Path(self.media_dir).resolve() if self.media_dir else paths().media_dir

    def voice_notes_dir(self) -> Path:
        return self.media_root() / "whatsapp" / "voice_notes"

    def listen_address(self) -> tuple[str, int]:
        host, _, port = self.listen.rpartition(":")
        if not host or not port.isdigit() or int(port) > 65535:
            raise ValueError(f"{LISTEN_ENV} is host:port, not {self.listen!r}")
        return host.strip("[]"), int(port)
