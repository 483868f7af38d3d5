"""What a messaging campaign's first step sends a contact, measured on a sample of its contacts.

A campaign's text is personalised (``Hello {{ contact.first_name }}``), so its length, and with
it the SMS parts, differs from contact to contact. The estimate runs the engine's first step
(pure: no session is stored, nothing is sent) for the first contacts of the list and averages
the messages and parts it would send them on the campaign's channel. A flow whose first step
sends nothing (it waits on a webhook first, say) measures 0: the estimate says so.

On WhatsApp what is charged is the opening: a campaign writes to contacts whose 24-hour window is
closed, so its first step reaches them as templates (a send's or a question's ``template:``),
each priced by its category (voiceplatform.campaigns.pricing). The category comes from the
account's catalog when the flow names a template it has; an unknown template, or a first step
with no template at all, is priced as marketing (the notes say so). Free-form messages and the
replies that follow inside the window are free."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterable

from voiceplatform.campaigns.pricing import parts_of
from voiceplatform.exceptions import VoicePlatformError
from voiceplatform.flow import Flow, start
from voiceplatform.flow.outputs import Send
from voiceplatform.flow.whatsapp_templates import TemplateCatalog

UNKNOWN_CATEGORY = "marketing"  # what an opening template of unknown category is priced as

SAMPLE = 20  # contacts measured


@dataclass(frozen=True)
class FirstStepSample:
    contacts: int  # how many were measured
    messages_per_contact: float
    parts_per_contact: float


def first_step_sends(flow: Flow, channel: str, contact: dict[str, Any], now: datetime) -> list[Send]:
    """The messages the first step of ``flow`` sends ``contact`` on ``channel``."""
    try:
        step = start(flow, contact, channel, session_id="estimate", now=now, language=contact.get("language"))
    except VoicePlatformError:
        return []
    return [output for output in step.outputs
            if isinstance(output, Send) and output.to is None and output.channel == channel]


def first_step_texts(flow: Flow, channel: str, contact: dict[str, Any], now: datetime) -> list[str]:
    """The texts the first step of ``flow`` sends ``contact`` on ``channel``."""
    return [send.text for send in first_step_sends(flow, channel, contact, now)]


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


@dataclass(frozen=True)
class OpeningTemplate:
    """A template the first step sends: its category (lower case, as Meta prices it), whether
    the catalog knew it, and how many a contact gets on average."""

    name: str
    language: str
    category: str
    known: bool
    per_contact: float


@dataclass(frozen=True)
class WhatsAppOpening:
    contacts: int  # how many were measured
    templates: tuple[OpeningTemplate, ...]
    #: Contacts (a share of those measured) whose first step sends no template: priced as one
    #: marketing template each, an upper bound (outside the window their free-form message fails).
    without_template: float
    free_form_per_contact: float  # messages sent without a template: free inside the window
    notes: tuple[str, ...]

    def categories_per_contact(self) -> dict[str, float]:
        """How many charged templates of each category a contact gets."""
        out: dict[str, float] = {}
        for template in self.templates:
            out[template.category] = out.get(template.category, 0.0) + template.per_contact
        if self.without_template:
            out[UNKNOWN_CATEGORY] = out.get(UNKNOWN_CATEGORY, 0.0) + self.without_template
        return {category: round(count, 3) for category, count in out.items()}


def sample_whatsapp_opening(flow: Flow, contacts: Iterable[dict[str, Any]], now: datetime,
                            catalog: TemplateCatalog | None) -> WhatsAppOpening:
    """What the first step of ``flow`` opens each sampled contact's journey with on WhatsApp."""
    measured = without = free_form = 0
    sent: Counter[tuple[str, str]] = Counter()
    for contact in contacts:
        measured += 1
        sends = first_step_sends(flow, "whatsapp", contact, now)
        templated = [send.template for send in sends if send.template]
        free_form += len(sends) - len(templated)
        if not templated:
            without += 1
        for template in templated:
            sent[(str(template.get("name")), str(template.get("language")))] += 1
    if not measured:
        return WhatsAppOpening(0, (), 0.0, 0.0, ())
    templates: list[OpeningTemplate] = []
    notes: list[str] = []
    for (name, language), count in sorted(sent.items()):
        info = catalog.get(name, language) if catalog is not None else None
        if info is None:
            notes.append(f"template {name} ({language}) is not in the account's WhatsApp templates"
                         f"{'' if catalog is not None else ' (none are synced)'}: priced as {UNKNOWN_CATEGORY}")
        category = info.category.lower() if info is not None and info.category else UNKNOWN_CATEGORY
        templates.append(OpeningTemplate(name, language, category, info is not None, round(count / measured, 3)))
    if without:
        notes.append(f"the first step sends no template to {without} of the {measured} contacts measured: outside "
                     f"the 24-hour window WhatsApp delivers only templates; each is priced as one {UNKNOWN_CATEGORY} "
                     "template")
    return WhatsAppOpening(measured, tuple(templates), round(without / measured, 3), round(free_form / measured, 3),
                           tuple(notes))
