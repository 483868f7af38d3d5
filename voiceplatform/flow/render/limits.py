"""What one channel can show: the limits its renderer reads and its driver declares.

A channel's renderer (``voiceplatform.flow.render``) builds every question and message from these
numbers, and a channel driver (``voiceplatform.channels.contract.Capabilities``) declares the same
object, so the engine, the drivers and the flow validator agree on one set of facts. A bridge whose
provider allows something else (fewer buttons, shorter titles) passes its own limits to
``start`` / ``resume``. Zero means "none" for counts and "no limit" for lengths.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from voiceplatform.flow.channels import Channel
from voiceplatform.text.sms_segments import SINGLE


@dataclass(frozen=True, slots=True)
class ChannelLimits:
    buttons: int = 0  # quick-reply buttons one message can carry (0: none)
    list_rows: int = 0  # rows of one list message (0: no lists); a longer menu is paged with "More"
    button_title_chars: int = 0  # a button's title (longer labels are shortened with "…"; 0: no limit)
    row_title_chars: int = 0  # a list row's title (likewise)
    list_button_chars: int = 0  # the label of the button that opens a list (likewise)
    body_chars: int = 0  # the text of an interactive message (buttons or a list; 0: no limit)
    segment_chars_gsm7: int = 0  # one SMS segment: 160 GSM-7 characters (153 a part when concatenated)
    segment_chars_ucs2: int = 0  # 70 UCS-2 characters (67 a part)
    max_segments: int = 0  # parts a long message may use (0: no limit on this channel)
    media: bool = False  # images, audio and documents go with a message (on a call: audio is played)

    def __post_init__(self) -> None:
        for spec in fields(self):
            value = getattr(self, spec.name)
            if spec.name != "media" and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
                raise ValueError(f"ChannelLimits.{spec.name} must be a whole number of 0 or more, not {value!r}")
        if self.list_rows == 1:
            raise ValueError("ChannelLimits.list_rows must be 0 (no lists) or at least 2 (a row and \"More\")")

    @property
    def list_page_rows(self) -> int:
        """Items on one page of a menu longer than a list: the last row is "More"."""
        return max(self.list_rows - 1, 0)


VOICE_LIMITS = ChannelLimits(media=True)
SMS_LIMITS = ChannelLimits(segment_chars_gsm7=SINGLE["gsm7"], segment_chars_ucs2=SINGLE["ucs2"])
WHATSAPP_LIMITS = ChannelLimits(buttons=3, list_rows=10, button_title_chars=20, row_title_chars=24,
                                list_button_chars=20, body_chars=1024, media=True)

STANDARD_LIMITS: dict[Channel, ChannelLimits] = {
    Channel.VOICE: VOICE_LIMITS,
    Channel.SMS: SMS_LIMITS,
    Channel.WHATSAPP: WHATSAPP_LIMITS,
}


def standard_limits(channel: Channel) -> ChannelLimits:
    """The limits the engine renders ``channel`` with unless a driver gives its own."""
    return STANDARD_LIMITS[channel]
