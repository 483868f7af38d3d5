"""The template sync on a schedule: each WhatsApp Business Account the bridge is told of
(``VOICEPLATFORM_WHATSAPP_WABAS=waba_id=account_id,...``) has its templates listed from the Graph
API and its account's registry brought in line (whatsapp_bridge.template_sync.sync_templates), when
the bridge starts and every ``template_sync_every`` seconds (``VOICEPLATFORM_WHATSAPP_TEMPLATE_SYNC_MINUTES``,
default 60).

One account's failure (the Graph API away, a refused token, an account id the platform does not
have) is logged and leaves its registry as it was; the others are synced, and the next round
tries again. Several bridges may sync the same WABA: the sync is idempotent and each writes in one
transaction (the rows are locked ``FOR UPDATE``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Protocol, runtime_checkable

import gevent
from gevent.event import Event
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from voiceplatform.exceptions import InputRejectedError
from voiceplatform.models.base import utcnow

from whatsapp_bridge.errors import WhatsAppSendError
from whatsapp_bridge.graph_client import TemplateRecord
from whatsapp_bridge.template_sync import Synced, sync_templates

log = logging.getLogger(__name__)


@runtime_checkable
class TemplateSource(Protocol):
    """What lists a WABA's templates (whatsapp_bridge.graph_client.GraphClient)."""

    def templates(self, waba_id: str) -> list[TemplateRecord]: ...


def sync_wabas(sessions: sessionmaker[Session], source: TemplateSource, wabas: Sequence[tuple[str, int]],
               now: datetime) -> dict[str, Synced | str]:
    """Sync each (WABA id, account id); gives per WABA what changed, or the error that stopped it."""
    done: dict[str, Synced | str] = {}
    for waba_id, account_id in wabas:
        try:
            records = source.templates(waba_id)
            with sessions.begin() as db:
                done[waba_id] = synced = sync_templates(db, account_id, records, now)
            log.info("whatsapp templates of WABA %s (account %s): %d listed, %d added, %d changed, %d removed",
                     waba_id, account_id, len(records), synced.added, synced.changed, synced.removed)
        except (WhatsAppSendError, InputRejectedError, SQLAlchemyError) as exc:
            done[waba_id] = f"{type(exc).__name__}: {exc}"[:300]
            log.warning("whatsapp templates of WABA %s (account %s) not synced: %s", waba_id, account_id,
                        done[waba_id])
    return done


class TemplateSchedule:
    """Runs :func:`sync_wabas` now and then every ``every`` seconds, in a greenlet."""

    def __init__(self, sessions: sessionmaker[Session], source: TemplateSource, wabas: Sequence[tuple[str, int]],
                 every: float, *, clock: Callable[[], datetime] = utcnow) -> None:
        self.sessions, self.source, self.wabas, self.every, self.clock = sessions, source, tuple(wabas), every, clock
        self.rounds = 0
        self.last: dict[str, Synced | str] = {}
        self._stopping = Event()
        self._greenlet: gevent.Greenlet | None = None

    def start(self) -> TemplateSchedule:
        if self.wabas:
            self._greenlet = gevent.spawn(self._loop)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping.set()
        if self._greenlet is not None:
            self._greenlet.join(timeout)
            self._greenlet.kill(block=False)

    def run_once(self) -> dict[str, Synced | str]:
        self.last = sync_wabas(self.sessions, self.source, self.wabas, self.clock())
        self.rounds += 1
        return self.last

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                self.run_once()
            except Exception:  # never let the schedule die: the next round tries again
                log.exception("whatsapp template sync: a round failed; next round")
            self._stopping.wait(self.every)
