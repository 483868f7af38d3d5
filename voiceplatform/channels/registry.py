"""Which driver serves a channel: by transport name (a session's ``channel``), or by the engine
channel a ``send`` or ``switch_channel`` names. A real bridge registered for ``sms`` serves
``sms``; without one, the dev channel (when it is on) stands in, so a journey that continues
"by SMS" runs end to end on a machine with no carrier."""

from __future__ import annotations

from typing import Iterable

from voiceplatform.channels.contract import ChannelDriver
from voiceplatform.exceptions import ChannelUnavailableError
from voiceplatform.flow import Channel


class ChannelRegistry:
    def __init__(self, drivers: Iterable[ChannelDriver] = ()) -> None:
        self._drivers: dict[str, ChannelDriver] = {}
        for driver in drivers:
            self.register(driver)

    def register(self, driver: ChannelDriver) -> None:
        self._drivers[driver.capabilities.name] = driver

    def names(self) -> list[str]:
        return sorted(self._drivers)

    def get(self, name: str) -> ChannelDriver:
        """The driver of transport ``name``; ChannelUnavailableError when none is registered."""
        driver = self._drivers.get(name)
        if driver is None:
            raise ChannelUnavailableError(f"no driver for channel {name!r} (registered: {', '.join(self.names()) or 'none'})")
        return driver

    def for_engine_channel(self, channel: str) -> ChannelDriver:
        """The driver that delivers what the engine made for ``channel`` (``sms``, ``whatsapp``)."""
        if channel in self._drivers and not self._drivers[channel].capabilities.live:
            return self._drivers[channel]
        try:
            wanted = Channel(channel)
        except ValueError:
            raise ChannelUnavailableError(f"unknown channel {channel!r}") from None
        for driver in self._drivers.values():
            if wanted in driver.capabilities.stands_in_for:
                return driver
        raise ChannelUnavailableError(f"no driver delivers {channel!r} messages (registered: {', '.join(self.names()) or 'none'})")
