"""The SMS bridge's settings, read once from the environment (docs/sms-bridge.md lists them).

``VOICEPLATFORM_SMPP_URL`` is the SMSC: ``smpp://system_id:password@host:port`` (``smpps://``
for TLS), with query options ``binds`` (transceiver binds, default 1), ``window`` (submits in
flight per bind, default 50), ``system_type``, ``verify`` (TLS: 0 accepts any certificate, for a
test SMSC) and ``ca`` (a CA file). Without it, the bridge has nowhere to send: the driver still
queues (a worker or the API can run without a bind), and ``python -m sms_bridge`` refuses to
start.

``VOICEPLATFORM_SMS_NO_RESPONSE`` is the policy for a submit whose ``submit_sm_resp`` never
came: ``unknown`` (the default) marks the part ``unknown`` and never sends it again (it may have
reached the handset: no silent resend); ``resend`` submits it again on the next pass (the
handset may get it twice). Either way the case is counted (``sms_messages.unconfirmed``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from typing import Any, Mapping
from urllib.parse import parse_qs, unquote, urlsplit

from voiceplatform.inbound.addresses import DEFAULT_REGION

URL_ENV = "VOICEPLATFORM_SMPP_URL"
NO_RESPONSE_ENV = "VOICEPLATFORM_SMS_NO_RESPONSE"
SENDER_ENV = "VOICEPLATFORM_SMS_SENDER"
REGION_ENV = "VOICEPLATFORM_SMS_REGION"
RESPONSE_TIMEOUT_ENV = "VOICEPLATFORM_SMS_RESPONSE_TIMEOUT"
CLAIM_LEASE_ENV = "VOICEPLATFORM_SMS_CLAIM_LEASE"

UNKNOWN, RESEND = "unknown", "resend"
NO_RESPONSE_POLICIES = (UNKNOWN, RESEND)
MAX_BINDS = 32
MAX_WINDOW = 1000
DEFAULT_RESPONSE_TIMEOUT = 10.0
DEFAULT_CLAIM_LEASE = 120.0
#: passes on which a temporary refusal (ESME_RSYSERR, ESME_RSUBMITFAIL) is tried again: with the
#: retry delay doubling from 1 s, the last is about 4 minutes after the first refusal
TEMPORARY_REFUSALS = 8


@dataclass(frozen=True, slots=True)
class SmppRoute:
    """Where the ESME binds, and how: ``binds`` transceiver connections with one account."""

    host: str
    port: int
    system_id: str
    password: str = field(repr=False)
    system_type: str = ""
    binds: int = 1
    window: int = 50
    tls: bool = False
    tls_verify: bool = True
    ca_file: str | None = None

    @classmethod
    def from_url(cls, url: str) -> SmppRoute:
        parts = urlsplit(url)
        if parts.scheme not in ("smpp", "smpps"):
            raise ValueError(f"{URL_ENV}: the scheme is smpp:// or smpps://, not {parts.scheme!r}")
        if not parts.hostname or not parts.username:
            raise ValueError(f"{URL_ENV}: smpp://system_id:password@host:port")
        query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
        unknown = set(query) - {"binds", "window", "system_type", "verify", "ca"}
        if unknown:
            raise ValueError(f"{URL_ENV}: unknown options {sorted(unknown)}")
        binds, window = _int(query, "binds", 1, MAX_BINDS), _int(query, "window", 50, MAX_WINDOW)
        return cls(host=parts.hostname, port=parts.port or (3550 if parts.scheme == "smpps" else 2775),
                   system_id=unquote(parts.username), password=unquote(parts.password or ""),
                   system_type=query.get("system_type", ""), binds=binds, window=window,
                   tls=parts.scheme == "smpps", tls_verify=query.get("verify", "1") not in ("0", "false", "no"),
                   ca_file=query.get("ca"))


def _int(query: Mapping[str, str], name: str, default: int, maximum: int) -> int:
    raw = query.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= maximum:
        raise ValueError(f"{URL_ENV}: {name} is a whole number from 1 to {maximum}, not {raw!r}")
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
class BridgeSettings:
    """Everything the bridge reads. Times are seconds."""

    route: SmppRoute | None = None
    #: the policy for a submit with no answer (see the module's docstring)
    no_response: str = UNKNOWN
    #: how long a submit waits for its submit_sm_resp before it counts as unanswered
    response_timeout: float = DEFAULT_RESPONSE_TIMEOUT
    #: our address when a delivery has none (a session with no number of ours)
    default_sender: str | None = None
    #: the region a national number from the SMSC is read in
    region: str = DEFAULT_REGION
    enquire_link_every: float = 30.0
    #: no PDU at all for this long after an enquire_link: the bind is dead
    link_timeout: float = 10.0
    bind_timeout: float = 10.0
    reconnect_min: float = 0.5
    reconnect_max: float = 30.0
    #: a bind that is answered ESME_RTHROTTLED / ESME_RMSGQFUL pauses this long (doubling while
    #: the answers last, up to throttle_pause_max)
    throttle_pause: float = 0.2
    throttle_pause_max: float = 10.0
    #: a message with a part refused for throttling is tried again after this (doubling per pass)
    retry_delay: float = 1.0
    retry_delay_max: float = 300.0
    #: a part refused with a temporary error (esme.TEMPORARY) on the message's first this many
    #: passes is tried again (after retry_delay, doubling); on a later pass it is rejected
    temporary_refusals: int = TEMPORARY_REFUSALS
    #: how long a message may wait for a bind before it goes back to the queue
    bind_wait: float = 5.0
    #: messages claimed in one statement, and the most in flight at once
    claim_batch: int = 200
    max_in_flight: int = 2000
    #: how long a claim lasts unless renewed: a sender that died leaves its messages this long
    claim_lease: float = DEFAULT_CLAIM_LEASE
    #: how often an idle sender looks for queued messages
    poll_every: float = 0.05
    #: a long MO message whose parts have not all come within this is delivered incomplete
    reassembly_timeout: float = 60.0
    #: held receipts (before their submit_sm_resp was stored) are matched again this often, and
    #: dropped after held_receipt_ttl
    held_receipts_every: float = 1.0
    held_receipt_ttl: float = 86400.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> BridgeSettings:
        env = os.environ if environ is None else environ
        url = env.get(URL_ENV)
        policy = env.get(NO_RESPONSE_ENV, UNKNOWN).strip().lower()
        if policy not in NO_RESPONSE_POLICIES:
            raise ValueError(f"{NO_RESPONSE_ENV} is one of {list(NO_RESPONSE_POLICIES)}, not {policy!r}")
        settings = cls(route=SmppRoute.from_url(url) if url else None, no_response=policy,
                       response_timeout=float(env.get(RESPONSE_TIMEOUT_ENV, DEFAULT_RESPONSE_TIMEOUT)),
                       claim_lease=_seconds(env, CLAIM_LEASE_ENV, DEFAULT_CLAIM_LEASE),
                       default_sender=env.get(SENDER_ENV) or None, region=env.get(REGION_ENV, DEFAULT_REGION))
        return replace(settings, **overrides) if overrides else settings
