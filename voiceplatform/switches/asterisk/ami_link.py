"""The AMI connection: login, actions, events, and reconnection with backoff when Asterisk
restarts (panoramisk retries at a fixed interval; this doubles it up to a ceiling and resets it
after a successful login)."""

from __future__ import annotations

import logging
import time
from typing import Any, Callable

from gevent.event import Event

from panoramisk import Manager

from voiceplatform.exceptions import SwitchConnectionError
from voiceplatform.safety import switch_values
from voiceplatform.switches.asterisk.async_bridge import AsyncBridge, BridgeTimeout
from voiceplatform.switches.asterisk.config import AsteriskConfig

log = logging.getLogger(__name__)

FIRST_RETRY = 1
MAX_RETRY = 30


class AmiLink:
    def __init__(self, bridge: AsyncBridge, config: AsteriskConfig,
                 on_event: Callable[[dict[str, Any]], None],
                 on_disconnect: Callable[[], None], on_login: Callable[[], None]) -> None:
        self.bridge = bridge
        self.logins = 0
        self.disconnects = 0
        self._login_seen = Event()
        self._on_disconnect = on_disconnect
        self._on_login = on_login
        self.manager = Manager(
            loop=bridge.loop, host=config.ami_host, port=config.ami_port,
            username=config.ami_username, secret=config.ami_secret,
            ping_delay=5, ping_interval=5, reconnect_timeout=FIRST_RETRY,
            on_login=self._logged_in, on_disconnect=self._disconnected,
        )
        self.manager.register_event("*", lambda _manager, event: on_event(dict(event)))
        connect = self.manager.connect

        def connect_with_backoff(*args: Any, **kwargs: Any) -> Any:
            if self.disconnects and not self.manager.authenticated:
                self.manager.reconnect_timeout = min(MAX_RETRY, max(FIRST_RETRY, self.manager.reconnect_timeout * 2))
            return connect(*args, **kwargs)

        self.manager.connect = connect_with_backoff

    @property
    def connected(self) -> bool:
        return bool(self.manager.authenticated and self.manager._connected)

    def connect(self, timeout: float = 15.0) -> None:
        try:
            self.bridge.call(self.manager.connect(), timeout=timeout)
        except (BridgeTimeout, OSError) as exc:
            raise SwitchConnectionError(f"cannot reach AMI at {self.manager.config['host']}:{self.manager.config['port']}: {exc}") from exc
        if not self.wait_for_logins(1, timeout):
            raise SwitchConnectionError("AMI connected but the login was refused or never answered")

    def send(self, action: dict[str, Any], timeout: float) -> Any:
        """Send one action and wait for its reply. Every header passes the one validator first
        (:func:`voiceplatform.safety.switch_values.ami_action`): a value with CR/LF or another
        control character raises UnsafeValueError and nothing is written, so no value can
        become a second action."""
        checked = switch_values.ami_action(action)
        return self.bridge.call(self.manager.send_action(checked), timeout=timeout)

    def close(self) -> None:
        self.manager.close()

    def wait_for_logins(self, count: int, timeout: float) -> bool:
        """Block until AMI has logged in ``count`` times in all (reconnections included)."""
        deadline = time.monotonic() + timeout
        while self.logins < count:
            self._login_seen.clear()
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not self._login_seen.wait(remaining):
                return self.logins >= count
        return True

    def _logged_in(self, _manager: Manager) -> None:
        self.logins += 1
        self._login_seen.set()
        self.manager.reconnect_timeout = FIRST_RETRY
        self._on_login()

    def _disconnected(self, _manager: Manager, exc: Exception | None) -> None:
        self.disconnects += 1
        self.manager.authenticated = False
        log.warning("AMI connection lost (%s); reconnecting with backoff", exc)
        self._on_disconnect()
