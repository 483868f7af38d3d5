"""What a messaging campaign's first step sends a contact, measured on a sample of its contacts.

A campaign's text is personalised (``Hello {{ contact.first_name }}``), so its length, and with
it the SMS parts, differs from contact to contact. The estimate runs the engine's first step
(pure: no session is stored, nothing is sent) for the first contacts of the list and averages
the messages and parts it would send them on the campaign's channel. A flow whose first step
sends nothing (it waits on a webhook first, say) measures 0: the estimate says so."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterable

from voiceplatform.campaigns.pricing import parts_of
from voiceplatform.exceptions import VoicePlatformError
from voiceplatform.flow import Flow, start
from voiceplatform.flow.outputs import Send

SAMPLE = 20  # contacts measured


@dataclass(frozen=True)
class FirstStepSample:
    contacts: int  # how many were measured
    messages_per_contact: float
    parts_per_contact: float


def first_step_texts(flow: Flow, channel: str, contact: dict[str, Any], now: datetime) -> list[str]:
    """The texts the first step of ``flow`` sends ``contact`` on ``channel``."""
    try:
        step = start(flow, contact, channel, session_id="estimate", now=now, language=contact.get("language"))
    except VoicePlatformError:
        return []
    return [output.text for output in step.outputs
            if isinstance(output, Send) and output.to is None and output.channel == channel]


def sample_first_step(flow: Flow, channel: str, contacts: Iterable[dict[str, Any]], now: datetime) -> FirstStepSample:
    measured = messages = parts = 0
    for contact in contacts:
        texts = first_step_texts(flow, channel, contact, now)
        measured += 1
        messages += len(texts)
        parts += parts_of(channel, texts)
    if not measured:
        return FirstStepSample(0, 0.0, 0.0)
    return FirstStepSample(measured, round(messages / measured, 3), round(parts / measured, 3))
