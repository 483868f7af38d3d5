"""The binds of one route: ``route.binds`` transceivers, each kept up by its own greenlet that
reconnects with backoff (``reconnect_min`` doubling to ``reconnect_max``, with jitter, reset once
a bind succeeds). A submit goes to the bound, unpaused bind with the fewest submits in flight;
with none bound it waits up to ``bind_wait`` for one, then raises SubmitNotSent (the message
goes back to the queue).

**A gateway that binds but drops the connection under its submits** (Jasmin while its RabbitMQ is
away) is not retried at full speed. A bind closed with submits unanswered makes the route
*suspect* until a bind accepts a submit again: meanwhile each bind starts with a window of one
(sms_bridge.window), so it costs at most one ``unknown`` submit, not a window, and one that
closes having accepted nothing counts as a failed bind for the backoff.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable

import gevent
from gevent.event import Event

from voiceplatform.exceptions import SmppError

from sms_bridge.config import BridgeSettings, SmppRoute
from sms_bridge.esme import Deliver, Esme, SubmitAnswer, SubmitNotSent, SubmitRequest

log = logging.getLogger(__name__)


class BindPool:
    def __init__(self, route: SmppRoute, settings: BridgeSettings, on_deliver: Callable[[Esme, Deliver], None],
                 *, name: str = "smpp") -> None:
        self.route = route
        self.settings = settings
        self.on_deliver = on_deliver
        self.on_answer: Callable[[str], None] | None = None  # each bind's (Esme.on_answer)
        self.name = name
        self.binds: list[Esme | None] = [None] * route.binds
        self.bind_failures = 0
        self._any_bound = Event()
        self._stopping = False
        self._keepers: list[gevent.Greenlet] = []

    @property
    def bound(self) -> list[Esme]:
        return [esme for esme in self.binds if esme is not None and esme.bound]

    def start(self) -> BindPool:
        self._keepers = [gevent.spawn(self._keep, index) for index in range(self.route.binds)]
        return self

    def wait_bound(self, count: int | None = None, timeout: float = 10.0) -> bool:
        """Whether ``count`` binds (default: all) are up within ``timeout``."""
        wanted = self.route.binds if count is None else count
        with gevent.Timeout(timeout, False):  # type: ignore[arg-type]  # gevent's stubs: False means no exception
            while len(self.bound) < wanted:
                gevent.sleep(0.01)
        return len(self.bound) >= wanted

    def stop(self) -> None:
        self._stopping = True
        for keeper in self._keepers:
            keeper.kill(block=False)
        for esme in self.binds:
            if esme is not None:
                esme.unbind()
        self.binds = [None] * self.route.binds
        self._any_bound.clear()

    def submit(self, request: SubmitRequest) -> SubmitAnswer:
        esme = self._pick()
        return esme.submit(request)

    def _pick(self) -> Esme:
        bound = self.bound
        if not bound:
            self._any_bound.clear()
            if not self._any_bound.wait(self.settings.bind_wait) or not self.bound:
                raise SubmitNotSent(f"{self.name}: no bind is up")
            bound = self.bound
        ready = [esme for esme in bound if not esme.paused] or bound
        return min(ready, key=lambda esme: esme.outstanding)

    def _keep(self, index: int) -> None:
        delay = self.settings.reconnect_min
        start_window: int | None = None
        while not self._stopping:
            esme = Esme(self.route, self.settings, self.on_deliver, name=f"{self.name}-{index + 1}",
                        on_answer=self.on_answer, start_window=start_window)
            try:
                esme.open()
            except SmppError as exc:
                self.bind_failures += 1
                wait = delay * random.uniform(0.8, 1.2)
                log.warning("%s: %s; trying again in %.1f s", esme.name, exc, wait)
                gevent.sleep(wait)
                delay = min(delay * 2, self.settings.reconnect_max)
                continue
            self.binds[index] = esme
            self._any_bound.set()
            esme.closed.wait()
            self.binds[index] = None
            if self._stopping:
                return
            # suspect from a bind dropped under its submits until a bind accepts one again
            suspect = esme.unanswered_at_close > 0 or (start_window is not None and not esme.accepted)
            start_window = 1 if suspect else None
            if suspect and not esme.accepted:  # bound, yet took nothing: as a failed bind
                self.bind_failures += 1
                wait = delay * random.uniform(0.8, 1.2)
                delay = min(delay * 2, self.settings.reconnect_max)
            else:
                delay = self.settings.reconnect_min
                wait = delay * random.uniform(0.8, 1.2)
            log.warning("%s: the bind is gone (%s, %d submits unanswered); reconnecting in %.1f s", esme.name,
                        esme.close_reason, esme.unanswered_at_close, wait)
            gevent.sleep(wait)
