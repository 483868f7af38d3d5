"""The handset network: a scripted SMSC upstream of the gateway, standing in for the mobile
network in tests, as the lab's scripted callees stand in for phones.

    python -m voiceplatform.smsc.handset_network --port P --control-port C --records FILE

It answers binds and ``enquire_link``, acknowledges ``submit_sm``, sends delivery receipts and
scripted replies, records every message and injects MO messages on command. Its numbers are in
:mod:`~voiceplatform.smsc.handset_network.numbers` and docs/smsc.md; its control port in
:mod:`~voiceplatform.smsc.handset_network.control`.
"""

from voiceplatform.smsc.handset_network.client import HandsetNetworkClient
from voiceplatform.smsc.handset_network.numbers import HANDSET_NUMBERS, RANGES, numbers_like

__all__ = ["HANDSET_NUMBERS", "HandsetNetworkClient", "RANGES", "numbers_like"]
