"""FreeSWITCH adapter over the Event Socket with greenswitch: the inbound connection originates
calls (``bgapi``) and watches their events; each answered call connects to the worker's
outbound socket server, where the same ``VoiceRunner`` drives it through ``CallControl``.
greenswitch's gaps (framing, hang-ups, disconnects, reconnects) are closed in
``esl_frames``, ``esl_connection``, ``inbound`` and ``outbound``: docs/decisions/freeswitch-driver.md."""

from voiceplatform.switches.freeswitch.config import FreeSwitchConfig
from voiceplatform.switches.freeswitch.driver import FreeSwitchDriver
from voiceplatform.switches.placed_call import PlacedCall

__all__ = ["FreeSwitchConfig", "FreeSwitchDriver", "PlacedCall"]
