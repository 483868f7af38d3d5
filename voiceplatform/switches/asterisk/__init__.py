"""Asterisk adapter: AMI (originate, events) and FastAGI (in-call control) through panoramisk,
on an asyncio loop that runs on the gevent hub (asyncio-gevent). Every greenlet uses AMI and AGI
as plain blocking calls."""

from voiceplatform.switches.asterisk.config import AsteriskConfig
from voiceplatform.switches.asterisk.driver import AsteriskDriver, PlacedCall

__all__ = ["AsteriskConfig", "AsteriskDriver", "PlacedCall"]
