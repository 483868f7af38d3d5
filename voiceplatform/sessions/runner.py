"""The shared runner: what every channel does alike, once.

* **start** a session on a store-and-resume channel, pinned to a flow version;
* **resume** it with one input, exactly once, under the session's lock (store.lock) and its row
  version (store.save): two replies that arrive together are applied one after the other;
* hand each step's outputs to the channel's driver *inside* the transaction (the driver only
  queues), deliver a ``send`` for another channel through that channel's driver, follow
  ``switch_channel`` (the same session, its row's ``channel`` now the other driver's), apply
  ``opt_out`` to the contact, and write every event, output and input as history rows;
* perform ``http_request`` outputs **after** the commit (never inside a transaction: a slow
  webhook must not hold the lock) through voiceplatform.switches.http_client, which applies the
  outbound-HTTP policy, and resume with the ``http_response``. While the request is in flight
  the session is ``active`` with an expiry (the request's timeout plus a grace), so a worker that
  dies mid-request leaves it to the sweeper, which resumes it with a timeout (the node's
  ``failure`` exit).

What a step's outputs become (history, sends, switches, opt-outs, webhooks) is the handling every
channel shares, voiceplatform.channels.handling; this runner gives it a stored session's side
(sessions/stored_runtime.py) and keeps the transactions, the locking and the saving. The voice
drivers run live sessions in their own greenlets with the same handling (switches/voice_runner.py).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Callable

from sqlalchemy.orm import Session, sessionmaker

from voiceplatform.channels.contract import ChannelDriver
from voiceplatform.channels.handling import PerformHttp, handle_step, perform_webhook
from voiceplatform.channels.registry import ChannelRegistry
from voiceplatform.exceptions import (ChannelUnavailableError, InvalidInputError, SessionConflictError,
                                      SessionEndedError, StateError)
from voiceplatform.flow import Channel, Input, Step, resume, start
from voiceplatform.flow import outputs as out
from voiceplatform.flow.render import ChannelLimits
from voiceplatform.models.base import utcnow
from voiceplatform.models.sessions import EventKind, SessionStatus
from voiceplatform.sessions import store, stored_runtime
from voiceplatform.sessions.flows import FlowCache
from voiceplatform.sessions.rows import SessionRow
from voiceplatform.switches import http_client

log = logging.getLogger(__name__)

HTTP_GRACE = timedelta(seconds=30)  # past a request's own timeout, the sweeper takes over
MAX_HTTP_HOPS = 20  # webhook after webhook without a wait for the contact: stop there
CONFLICT_RETRIES = 5


@dataclass(frozen=True, slots=True)
class RunResult:
    """What one start or resume did. ``outcome``: started, resumed, ended (the session had
    already ended: nothing applied), refused (the session was not waiting for this input).
    ``outputs``: a start's first step's (what a campaign's attempt records as sent)."""

    session_id: str
    outcome: str
    status: str
    outputs: tuple[out.Output, ...] = ()


class SessionRunner:
    def __init__(self, sessions: sessionmaker[Session], channels: ChannelRegistry, *,
                 perform_http: PerformHttp = http_client.perform, clock: Callable[[], datetime] = utcnow,
                 flows: FlowCache | None = None) -> None:
        self.sessions = sessions
        self.channels = channels
        self.perform_http = perform_http
        self.clock = clock
        self.flows = flows or FlowCache()

    # ---- starting ------------------------------------------------------------------------------

    def start(self, *, account_id: int, flow_version_id: int, channel: str, address: str,
              our_address: str | None = None, number_id: int | None = None, contact_id: int | None = None,
              contact: dict[str, Any] | None = None, campaign_contact_id: int | None = None,
              language: str | None = None, trigger: Input | None = None) -> RunResult:
        """Start a session of the flow version on ``channel`` (a store-and-resume channel)."""
        with self.sessions.begin() as db, store.batched(db):
            result, requests = self.start_in(
                db, account_id=account_id, flow_version_id=flow_version_id, channel=channel, address=address,
                our_address=our_address, number_id=number_id, contact_id=contact_id, contact=contact,
                campaign_contact_id=campaign_contact_id, language=language, trigger=trigger)
        return self._follow_http(result, requests)

    def start_in(self, db: Session, *, account_id: int, flow_version_id: int, channel: str, address: str,
                 our_address: str | None = None, number_id: int | None = None, contact_id: int | None = None,
                 contact: dict[str, Any] | None = None, campaign_contact_id: int | None = None,
                 language: str | None = None, trigger: Input | None = None,
                 renders_as: str | None = None) -> tuple[RunResult, list[out.HttpRequest]]:
        """:meth:`start` inside the caller's transaction; the caller commits, then passes the
        requests to :meth:`follow_http`. ``renders_as`` is the engine channel the session runs on
        when the driver serves more than one (the dev channel standing in for WhatsApp); by default
        the driver's own."""
        driver = self.channels.get(channel)
        if driver.capabilities.live:
            raise ChannelUnavailableError(f"{channel} sessions are run live by their driver, not started here")
        engine_channel = engine_channel_of(driver, renders_as)
        now = self.clock()
        flow = self.flows.get(db, flow_version_id)
        session_id = store.new_id()
        step = start(flow, dict(contact or {"phone": address}), engine_channel, session_id=session_id, now=now,
                     language=language, channel_limits=limits_of(driver))
        row = store.start_row(db, session_id=session_id, account_id=account_id, flow_version_id=flow_version_id,
                              channel=channel, address=address, state=step.state, contact_id=contact_id,
                              campaign_contact_id=campaign_contact_id, our_address=our_address,
                              number_id=number_id, now=now)
        if trigger is not None:  # the message that started it: history, not an answer to the flow
            store.append(db, row, [(EventKind.INPUT, trigger.kind.value, {**trigger.to_dict(), "trigger": True})], now=now)
        requests = self._apply(db, row, step, driver, now, rendered_as=engine_channel.value)
        return RunResult(session_id, "started", row.status, tuple(step.outputs)), requests

    # ---- resuming ------------------------------------------------------------------------------

    def resume(self, session_id: str, given: Input) -> RunResult:
        """Apply ``given`` to the session, exactly once, then any webhook that follows."""
        for attempt in range(CONFLICT_RETRIES):
            try:
                with self.sessions.begin() as db, store.batched(db):
                    row = store.lock(db, session_id)
                    result, requests = self.resume_in(db, row, given)
                break
            except SessionConflictError:
                if attempt == CONFLICT_RETRIES - 1:
                    raise
                log.info("session %s: changed by another writer; reading it again", session_id)
        return self._follow_http(result, requests)

    def resume_in(self, db: Session, row: SessionRow, given: Input,
                  now: datetime | None = None) -> tuple[RunResult, list[out.HttpRequest]]:
        """:meth:`resume` on a row the caller has locked (store.lock, lock_many or claim_many), in
        the caller's transaction, at ``now`` (default: the runner's clock; a batch reads it once).
        A session that has ended, or that is not waiting for this input, is left as it is
        (``ended`` / ``refused``): the caller decides what the input becomes."""
        if row.ended:
            return RunResult(row.id, "ended", row.status), []
        now = now or self.clock()
        flow = self.flows.get(db, row.flow_version_id)
        driver = self.channels.get(row.channel)
        rendered_as = str(row.state.get("channel") or driver.capabilities.renders_as.value)  # before this step
        try:
            step = resume(flow, row.state, given, now=now,
                          channel_limits=limits_of(driver))
        except SessionEndedError:
            return RunResult(row.id, "ended", row.status), []
        except InvalidInputError:
            return RunResult(row.id, "refused", row.status), []
        except StateError as exc:
            log.warning("session %s: its state cannot be resumed (%s); failing it", row.id, exc)
            store.append(db, row, [(EventKind.INPUT, given.kind.value, given.to_dict()),
                                   (EventKind.RUNTIME, "state_error", {"error": str(exc)})], now=now)
            store.end(db, row, SessionStatus.FAILED, "state_error", now)
            return RunResult(row.id, "resumed", row.status), []
        requests = self._apply(db, row, step, driver, now, rendered_as=rendered_as, given=given)  # input first
        return RunResult(row.id, "resumed", row.status), requests

    def follow_http(self, result: RunResult, requests: list[out.HttpRequest]) -> RunResult:
        """Perform the webhooks a committed step asked for, resuming with each answer."""
        return self._follow_http(result, requests)

    def apply_in(self, db: Session, row: SessionRow, step: Step, driver: ChannelDriver,
                 now: datetime) -> list[out.HttpRequest]:
        """Apply a step the caller ran itself (a finished call's ``on.no_answer``, started by
        voiceplatform.sessions.calls) to ``row`` as any step: history, deliveries, switches,
        opt-outs, the row saved; gives the webhooks to :meth:`follow_http` after the commit."""
        return self._apply(db, row, step, driver, now)

    def driver_for(self, channel: str, db: Session, row: SessionRow, now: datetime) -> ChannelDriver | None:
        """The driver for engine channel ``channel``; None (and an ``undeliverable`` history row)
        when no driver delivers it."""
        return stored_runtime.driver_for(self.channels, db, row, channel, now)

    # ---- what every channel does alike: voiceplatform.channels.handling ------------------------

    def _apply(self, db: Session, row: SessionRow, step: Step, driver: ChannelDriver, now: datetime,
               rendered_as: str | None = None, given: Input | None = None) -> list[out.HttpRequest]:
        runtime = stored_runtime.StoredSessionRuntime(db, row, driver, self.channels, now, rendered_as)
        requests = list(handle_step(step, runtime, given).requests)  # the input that made the step, if given
        runtime.flush()
        if requests and step.wait and step.wait.get("kind") == "http":
            timeout = max(request.timeout for request in requests)
            store.save(db, row, step, now=now, status=SessionStatus.ACTIVE,
                       wait_expires_at=now + timedelta(seconds=timeout) + HTTP_GRACE)
        else:
            store.save(db, row, step, now=now)
        return requests

    def _follow_http(self, result: RunResult, requests: list[out.HttpRequest]) -> RunResult:
        hops = 0
        while requests and hops < MAX_HTTP_HOPS:
            hops += 1
            given, error = perform_webhook(requests[-1], self.perform_http)  # the engine waits after each webhook
            if error:
                log.info("session %s: %s", result.session_id, error)
            with self.sessions.begin() as db, store.batched(db):
                row = store.lock(db, result.session_id)
                if row.wait_kind != "http":
                    return RunResult(row.id, "resumed", row.status)  # the sweeper expired it meanwhile
                next_result, requests = self.resume_in(db, row, given)
            result = RunResult(result.session_id, result.outcome, next_result.status)
        return result


def engine_channel_of(driver: ChannelDriver, renders_as: str | None) -> Channel:
    """The engine channel a session on ``driver`` runs on: ``renders_as`` when the driver serves
    it (its own, or one it stands in for), else ChannelUnavailableError; by default its own."""
    own = driver.capabilities.renders_as
    if renders_as is None or renders_as == own.value:
        return own
    try:
        wanted = Channel(renders_as)
    except ValueError:
        raise ChannelUnavailableError(f"unknown channel {renders_as!r}") from None
    if wanted not in driver.capabilities.stands_in_for:
        raise ChannelUnavailableError(f"the {driver.capabilities.name} channel does not carry {renders_as} sessions")
    return wanted


def limits_of(driver: ChannelDriver) -> dict[Channel, ChannelLimits]:
    """The limits the driver declares, for the engine channel they belong to (a session the
    driver carries on another channel, standing in, is rendered with that channel's standard ones)."""
    return {driver.capabilities.renders_as: driver.capabilities.limits}
