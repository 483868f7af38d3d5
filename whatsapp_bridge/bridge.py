"""The WhatsApp bridge of one process: the sender (whatsapp_bridge.sender), the inbox processor
(whatsapp_bridge.inbox), the webhook server (whatsapp_bridge.webhooks on gevent's WSGI server)
and the upkeep, put together on one database.

    bridge = WhatsAppBridge(sessions, WhatsAppSettings.from_env()).start()
    bridge.webhook_url        # http://127.0.0.1:PORT/whatsapp/webhook

``listener`` (a bound socket) serves the webhooks on it instead of ``settings.listen``: a test
learns the URL before the contract server that posts to it is made.
    ...
    bridge.stop()

It routes users' messages through the process's messaging runtime
(voiceplatform.sessions.runtime: the registry with the ``whatsapp`` driver, the shared runner,
the router), built here unless one is given. The Graph client (``client``, else its own) also
fetches voice notes (whatsapp_bridge.voice_notes), marks messages read and lists templates for
the schedule of ``settings.wabas`` (whatsapp_bridge.template_schedule), when it can (a test's
scripted client that only sends does none of it). Upkeep, every ``held_every`` seconds: held
statuses matched again; every 5 s claims that ran out recovered (never started: queued again;
started: ``unknown``, never resent); every hour held statuses older than ``held_ttl`` dropped.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from typing import Any

import gevent
from flask import Flask
from gevent.event import Event
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from voiceplatform.models.base import utcnow
from voiceplatform.processes.server import NoDelayWSGIServer
from voiceplatform.sessions import runtime
from voiceplatform.sessions.runtime import MessagingRuntime

from whatsapp_bridge import outbox, status_updates
from whatsapp_bridge.config import WhatsAppSettings
from whatsapp_bridge.driver import NAME, WhatsAppChannel
from whatsapp_bridge.graph_client import GraphClient
from whatsapp_bridge.inbox import Inbox, ReadMarker
from whatsapp_bridge.pairs import PairPacer
from whatsapp_bridge.sender import GraphSender, Sender, Sending
from whatsapp_bridge.template_schedule import TemplateSchedule, TemplateSource
from whatsapp_bridge.throughput import LocalThroughput, RedisThroughput, Throughput, redis_client
from whatsapp_bridge.voice_notes import MediaSource, VoiceNotes
from whatsapp_bridge.webhooks import PATH, webhook_blueprint

log = logging.getLogger(__name__)

RECOVER_EVERY = 5.0
DROP_EVERY = 3600.0


def worker_name() -> str:
    return f"wa-{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"[:64]


def messaging_runtime(sessions: sessionmaker[Session], settings: WhatsAppSettings) -> MessagingRuntime:
    """The process's registry (VOICEPLATFORM_CHANNELS) with the ``whatsapp`` driver in it."""
    registry = runtime.default_channels()
    if NAME not in registry.names():
        registry.register(WhatsAppChannel(settings))
    return runtime.build(sessions, registry)


def throughput_for(settings: WhatsAppSettings) -> Throughput:
    if settings.redis_url:
        return RedisThroughput(redis_client(settings.redis_url))
    return LocalThroughput()


def webhook_app(bridge: WhatsAppBridge) -> Flask:
    app = Flask("whatsapp_bridge")
    app.register_blueprint(webhook_blueprint(bridge.sessions, bridge.settings, bridge.inbox.wake))
    return app


class WhatsAppBridge:
    def __init__(self, sessions: sessionmaker[Session], settings: WhatsAppSettings | None = None, *,
                 messaging: MessagingRuntime | None = None, worker: str | None = None,
                 client: GraphSender | None = None, throughput: Throughput | None = None,
                 listener: socket.socket | None = None) -> None:
        self.settings = settings or WhatsAppSettings.from_env()
        self.sessions = sessions
        self.messaging = messaging or messaging_runtime(sessions, self.settings)
        driver = self.messaging.channels.get(NAME)
        if not isinstance(driver, WhatsAppChannel):
            raise ValueError(f"the {NAME!r} channel of this runtime is not the WhatsApp bridge's driver")
        self.driver = driver
        self.worker = worker or worker_name()
        self._own_client: GraphClient | None = None
        if client is None:
            self._own_client = client = GraphClient(self.settings.graph_url, self.settings.token,
                                                    connect_timeout=self.settings.connect_timeout,
                                                    read_timeout=self.settings.read_timeout)
        pacer = PairPacer(self.settings.pair_burst, self.settings.pair_every)
        self.sending = Sending(client, self.settings, throughput or throughput_for(self.settings), pacer)
        self.sender = Sender(sessions, self.sending, self.worker)
        self.voice_notes = (VoiceNotes(sessions, client, self.settings)
                            if self.settings.voice_notes and isinstance(client, MediaSource) else None)
        self.inbox = Inbox(sessions, self.messaging.router, driver, self.settings, self.worker,
                           on_queued=self.sender.wake, voice_notes=self.voice_notes,
                           reader=client if isinstance(client, ReadMarker) else None)
        self.templates = (TemplateSchedule(sessions, client, self.settings.wabas, self.settings.template_sync_every)
                          if isinstance(client, TemplateSource) else None)
        self.app = webhook_app(self)
        self.server: NoDelayWSGIServer | None = None
        self.listener = listener  # a bound socket to serve on (else settings.listen)
        self._upkeep: gevent.Greenlet | None = None
        self._stopping = Event()

    @property
    def webhook_url(self) -> str:
        assert self.server is not None, "start the bridge first"
        host = self.server.server_host or self.settings.listen_address()[0]
        return f"http://{host}:{self.server.server_port}{PATH}"

    def start(self) -> WhatsAppBridge:
        where: socket.socket | tuple[str, int] = self.listener or self.settings.listen_address()
        self.server = NoDelayWSGIServer(where, self.app, log=None, error_log=log)  # no 40 ms Nagle wait
        self.server.start()
        self.inbox.start()
        self.sender.start()
        if self.templates is not None:
            self.templates.start()
        self._upkeep = gevent.spawn(self._upkeep_loop)
        log.info("whatsapp bridge %s: webhooks at %s, numbers %s", self.worker, self.webhook_url,
                 ", ".join(f"{n.phone_number_id}={n.number}:{n.tier}/s" for n in self.settings.numbers) or "none")
        return self

    def wake(self) -> None:
        self.sender.wake()

    def counters(self) -> dict[str, Any]:
        voice = self.voice_notes.counters if self.voice_notes is not None else {}
        return {**self.sender.counters, **self.inbox.counters, **voice}

    def stop(self, timeout: float = 30.0) -> None:
        """Stop taking webhooks, finish the inbox's round, stop claiming, write the answers in flight."""
        self._stopping.set()
        if self.server is not None:
            self.server.stop(timeout=min(timeout, 5.0))
        if self._upkeep is not None:
            self._upkeep.join(timeout)
        if self.templates is not None:
            self.templates.stop(min(timeout, 5.0))
        self.inbox.stop(timeout)
        self.sender.stop(timeout)
        if self._own_client is not None:
            self._own_client.close()
        log.info("whatsapp bridge %s stopped: %s", self.worker, self.counters())

    def upkeep_once(self, *, recover: bool = True, drop: bool = False) -> None:
        now = utcnow()
        with self.sessions.begin() as db:
            if recover:
                outbox.recover(db, now)
            status_updates.apply_held(db, now, self.settings.rates)
            if drop:
                status_updates.drop_expired(db, now, self.settings.held_ttl)

    def _upkeep_loop(self) -> None:
        rounds = 0
        every = self.settings.held_every
        while not self._stopping.wait(every):
            rounds += 1
            try:
                self.upkeep_once(recover=rounds % max(1, int(RECOVER_EVERY / every)) == 0,
                                 drop=rounds % max(1, int(DROP_EVERY / every)) == 0)
            except SQLAlchemyError as exc:
                log.warning("whatsapp bridge upkeep failed (%s); next round", exc)
