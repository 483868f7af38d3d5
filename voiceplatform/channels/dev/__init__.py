"""The ``dev`` messaging channel: the designers' test channel (like RapidPro's simulator channel).

A real channel driver behind the one contract: what the platform sends on it is stored in an
outbox (``dev_messages``, read with ``GET /dev/outbox``) and a reply is injected with
``POST /dev/inbound`` (an account token required). When no SMS or WhatsApp bridge is registered
it stands in for them, so "no answer, so continue by SMS" runs end to end on any machine.
``VOICEPLATFORM_DEV_CHANNEL=0`` switches the channel and its routes off (production).
"""

from voiceplatform.channels.dev.driver import DevChannel, dev_channel_enabled

__all__ = ["DevChannel", "dev_channel_enabled"]
