"""The SMS bridge of one process: the binds (sms_bridge.binds), the sender (sms_bridge.sender),
the deliveries (sms_bridge.deliveries) and the upkeep, put together on one database.

    bridge = SmsBridge(sessions, BridgeSettings.from_env()).start()
    ...
    bridge.stop()

It routes messages from handsets through the process's messaging runtime
(voiceplatform.sessions.runtime: the registry with the ``sms`` driver, the shared runner, the
router), built here unless one is given. Upkeep, every few seconds: claims that ran out are
settled (outbox.recover), held receipts matched again (delivery_reports.apply_held), and
held receipts older than ``held_receipt_ttl`` dropped.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid

import gevent
from gevent.event import Event
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from voiceplatform.models.base import utcnow
from voiceplatform.sessions import runtime
from voiceplatform.sessions.runtime import MessagingRuntime

from sms_bridge import delivery_reports, outbox
from sms_bridge.binds import BindPool
from sms_bridge.config import URL_ENV, BridgeSettings
from sms_bridge.counters import Counters
from sms_bridge.deliveries import Deliveries
from sms_bridge.driver import NAME, SmsChannel
from sms_bridge.sender import Sender

log = logging.getLogger(__name__)

UPKEEP_EVERY = 1.0
RECOVER_EVERY = 5.0
DROP_EVERY = 3600.0


def worker_name() -> str:
    return f"sms-{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"[:64]


def messaging_runtime(sessions: sessionmaker[Session], settings: BridgeSettings) -> MessagingRuntime:
    """The process's registry (VOICEPLATFORM_CHANNELS) with the ``sms`` driver in it."""
    registry = runtime.default_channels()
    if NAME not in registry.names():
        registry.register(SmsChannel(settings))
    return runtime.build(sessions, registry)


class SmsBridge:
    def __init__(self, sessions: sessionmaker[Session], settings: BridgeSettings | None = None, *,
                 messaging: MessagingRuntime | None = None, worker: str | None = None) -> None:
        self.settings = settings or BridgeSettings.from_env()
        if self.settings.route is None:
            raise ValueError(f"no SMSC to bind to: set {URL_ENV} (smpp://system_id:password@host:port)")
        self.route = self.settings.route
        self.sessions = sessions
        self.messaging = messaging or messaging_runtime(sessions, self.settings)
        driver = self.messaging.channels.get(NAME)
        if not isinstance(driver, SmsChannel):
            raise ValueError(f"the {NAME!r} channel of this runtime is not the SMS bridge's driver")
        self.worker = worker or worker_name()
        self.counters = Counters()
        self.deliveries = Deliveries(sessions, self.messaging.router, driver, self.counters,
                                     reassembly_timeout=self.settings.reassembly_timeout, on_queued=self.wake)
        self.binds = BindPool(self.route, self.settings, self.deliveries.on_deliver)
        self.sender = Sender(sessions, self.binds, self.settings, self.worker, self.counters)
        self.deliveries.answers = self.sender
        self.binds.on_answer = self.sender.answered
        self._upkeep: gevent.Greenlet | None = None
        self._stopping = Event()

    def start(self) -> SmsBridge:
        self.deliveries.start()
        self.binds.start()
        self.sender.start()
        self._upkeep = gevent.spawn(self._upkeep_loop)
        log.info("sms bridge %s: %d binds to %s:%s", self.worker, self.route.binds, self.route.host, self.route.port)
        return self

    def wake(self) -> None:
        """A message was queued in this process: the sender looks now."""
        self.sender.wake()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop claiming, wait for the answers in flight and write them, unbind."""
        self._stopping.set()
        if self._upkeep is not None:
            self._upkeep.join(timeout)
        self.sender.stop(timeout)
        self.deliveries.stop(timeout)  # what the binds delivered meanwhile is stored and answered
        self.binds.stop()
        log.info("sms bridge %s stopped: %s", self.worker, self.counters.as_dict())

    def upkeep_once(self, *, recover: bool = True, drop: bool = False) -> None:
        now = utcnow()
        with self.sessions.begin() as db:
            if recover:
                outbox.recover(db, now, self.settings)
            delivery_reports.apply_held(db, now)
            if drop:
                delivery_reports.drop_expired(db, delivery_reports.expiry_cutoff(now, self.settings.held_receipt_ttl))

    def _upkeep_loop(self) -> None:
        rounds = 0
        while not self._stopping.wait(self.settings.held_receipts_every):
            rounds += 1
            try:
                self.upkeep_once(recover=rounds % max(1, int(RECOVER_EVERY / self.settings.held_receipts_every)) == 0,
                                 drop=rounds % max(1, int(DROP_EVERY / self.settings.held_receipts_every)) == 0)
            except SQLAlchemyError as exc:
                log.warning("sms bridge upkeep failed (%s); next round", exc)
