"""The channels a journey runs on."""

from __future__ import annotations

from enum import Enum


class Channel(str, Enum):
    VOICE = "voice"
    SMS = "sms"
    WHATSAPP = "whatsapp"

    @property
    def is_messaging(self) -> bool:
        return self is not Channel.VOICE


ALL_CHANNELS: frozenset[Channel] = frozenset(Channel)
MESSAGING: frozenset[Channel] = frozenset({Channel.SMS, Channel.WHATSAPP})
