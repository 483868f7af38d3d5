"""Building a dialling runtime for a process: the switch driver with the settling sink, the
switch's capacity slots, the campaign locks, and the supervisor. Redis-backed for workers,
in-process for the embedded server.

Settings from the environment: ``VOICEPLATFORM_SWITCH`` (``asterisk``, ``freeswitch``, or
``none``: a worker with no switch, which runs messaging campaigns and stored sessions only),
``VOICEPLATFORM_SWITCH_NAME`` (whose capacity the slots count; default the switch kind), ``VOICEPLATFORM_SWITCH_CAPACITY`` (default 100),
``VOICEPLATFORM_LOCK_TTL_SECONDS`` (how soon a dead worker's campaigns move on; default 15) and
``VOICEPLATFORM_CLAIM_LEASE_SECONDS`` (how soon a dead worker's calls are settled; default 20)."""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from voiceplatform.campaigns.pricing import Rates
from voiceplatform.dialer.dispatcher import DialerContext
from voiceplatform.dialer.leases import DEFAULT_LOCK_TTL, LocalCampaignLock, LocalSwitchSlots, RedisCampaignLock, RedisSwitchSlots
from voiceplatform.dialer.settle import DialerCallSink
from voiceplatform.sessions import runtime as messaging
from voiceplatform.sessions.calls import CallSessions
from voiceplatform.dialer.supervisor import BackgroundTask, DialerRuntime
from voiceplatform.inbound.router import DatabaseInboundRouter
from voiceplatform.dialer.switch import make_driver, switch_name
from voiceplatform.switches.voice_channel import SwitchDriver

DEFAULT_CAPACITY = 100
NO_SWITCH = "none"
RECORDINGS_EVERY = 5.0  # seconds between passes of the recording pipeline
RETENTION_EVERY = 3600.0


@dataclass
class Dialer:
    runtime: DialerRuntime
    driver: SwitchDriver | None  # None: no switch

    def stop(self, timeout: float = 60.0) -> None:
        self.runtime.stop(timeout)
        if self.driver is not None:
            self.driver.stop()


def worker_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


def review_tasks(sessions: sessionmaker[Session]) -> list[BackgroundTask]:
    """After calls: transcribe recordings and compute their waveforms (in a child process, so the
    calls' greenlets never wait on it), and delete audio past each account's retention."""
    from voiceplatform.review.pipeline import process_due
    from voiceplatform.review.retention import apply_retention

    return [BackgroundTask("recording transcription", lambda: process_due(sessions), RECORDINGS_EVERY),
            BackgroundTask("recording retention", lambda: apply_retention(sessions), RETENTION_EVERY)]


def start_dialer(sessions: sessionmaker[Session], *, redis_client: Any = None, switch: str | None = None,
                 capacity: int | None = None, rates: Rates | None = None, worker: str | None = None,
                 driver: SwitchDriver | None = None) -> Dialer:
    """Start the driver and the supervisor. ``redis_client=None`` is the embedded mode."""
    no_switch = (switch or os.environ.get("VOICEPLATFORM_SWITCH")) == NO_SWITCH and driver is None
    kind = NO_SWITCH if no_switch else switch_name(switch)
    slot_name = os.environ.get("VOICEPLATFORM_SWITCH_NAME", kind)
    capacity = capacity or int(os.environ.get("VOICEPLATFORM_SWITCH_CAPACITY", DEFAULT_CAPACITY))
    rates = rates or Rates.from_env()
    worker = worker or worker_name()
    stored = messaging.build(sessions)  # the channel registry and the shared runner (messaging campaigns)
    # a call is the voice part of its session: its sends go out through the channel registry, and
    # an unanswered call or a switch_channel continues as a stored session (sessions/calls.py)
    call_sessions = CallSessions(sessions, stored.runner)
    sink = DialerCallSink(sessions, rates, call_sessions)
    # calls coming in on the accounts' numbers: routed against this database (docs/inbound-calls.md)
    if not no_switch:
        driver = driver or make_driver(kind, sink, inbound=DatabaseInboundRouter(sessions),
                                       send_message=call_sessions.send_during_call)
        driver.start()
    lock_ttl = float(os.environ.get("VOICEPLATFORM_LOCK_TTL_SECONDS", DEFAULT_LOCK_TTL))
    claim_lease = timedelta(seconds=float(os.environ.get("VOICEPLATFORM_CLAIM_LEASE_SECONDS", 20)))
    if redis_client is None:
        slots: Any = LocalSwitchSlots(slot_name, capacity)
        lock_for: Any = lambda name: LocalCampaignLock(name, worker, lock_ttl)  # noqa: E731
    else:
        slots = RedisSwitchSlots(redis_client, slot_name, capacity)
        lock_for = lambda name: RedisCampaignLock(redis_client, name, worker, lock_ttl)  # noqa: E731
    context = DialerContext(sessions, None if no_switch else driver, None if no_switch else slots, worker, rates,
                            claim_lease=claim_lease, runner=stored.runner)
    runtime = DialerRuntime(context, lock_for, background=review_tasks(sessions)).start()
    return Dialer(runtime, driver)
