"""One pure renderer per channel: how a question or a message looks on voice, SMS and WhatsApp,
read from the channel's declared :class:`ChannelLimits` (buttons, list rows, title lengths, media).
Nodes describe what to say or ask; the renderer of the session's channel makes the outputs."""

from voiceplatform.flow.render.limits import (
    SMS_LIMITS,
    VOICE_LIMITS,
    WHATSAPP_LIMITS,
    ChannelLimits,
    standard_limits,
)
from voiceplatform.flow.render.lookup import renderer_for
from voiceplatform.flow.render.question import Listening, Phrases, Question, Utterance
from voiceplatform.flow.render.renderer import Renderer

__all__ = [
    "SMS_LIMITS",
    "VOICE_LIMITS",
    "WHATSAPP_LIMITS",
    "ChannelLimits",
    "Listening",
    "Phrases",
    "Question",
    "Renderer",
    "Utterance",
    "renderer_for",
    "standard_limits",
]
