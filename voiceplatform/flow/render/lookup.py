"""The renderer of an engine channel, with its standard limits or the ones a driver declares."""

from __future__ import annotations

from functools import lru_cache
from typing import Callable

from voiceplatform.flow.channels import Channel
from voiceplatform.flow.render.limits import ChannelLimits, standard_limits
from voiceplatform.flow.render.renderer import Renderer
from voiceplatform.flow.render.sms import SmsRenderer
from voiceplatform.flow.render.voice import VoiceRenderer
from voiceplatform.flow.render.whatsapp import WhatsAppRenderer

RENDERERS: dict[Channel, Callable[[ChannelLimits], Renderer]] = {
    Channel.VOICE: VoiceRenderer,
    Channel.SMS: SmsRenderer,
    Channel.WHATSAPP: WhatsAppRenderer,
}


@lru_cache(maxsize=64)
def renderer_for(channel: Channel, limits: ChannelLimits | None = None) -> Renderer:
    """The renderer for ``channel``, reading ``limits`` (default: the channel's standard limits)."""
    return RENDERERS[channel](limits or standard_limits(channel))
