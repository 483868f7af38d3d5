"""A campaign's survey results, per question: a survey is any flow with ``gather`` nodes, on any
channel, and each gather's result name (its ``store``, else its id) is a question.

For each question, counted over recipients (each recipient's latest answer; see
voiceplatform.surveys.answers):

- ``answered``: recipients who answered it;
- ``answers``: one entry per value given, with its label (the choice's label as the recipient was
  shown it; the most common one when it differed, say between languages) and count, most common
  first; a static choice nobody picked is listed with 0. At most :data:`MAX_VALUES` are listed
  (free text can have as many values as recipients); ``other_values`` counts the recipients of
  the rest;
- ``numeric``: when every value is a number (a 1-5 rating, a count): ``count``, ``average``,
  ``min``, ``max`` and the ``distribution`` (recipients per value). For a menu keyed 1, 2, 3 it is
  the average key: it means something when the keys are a scale.

The flow is the campaign's pinned version, so the questions come in the flow's order, with their
text (the gather's text, or its prompt in the flow's language) and subflows' gathers included.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from voiceplatform.exceptions import VoicePlatformError
from voiceplatform.flow import Flow, load_flow_text
from voiceplatform.flow.nodes.gather import GatherNode
from voiceplatform.models import Campaign, CampaignContact, FlowVersion
from voiceplatform.surveys.answers import question_counts, respondents

MAX_VALUES = 50


@dataclass(frozen=True)
class Question:
    name: str
    node: str
    flow: str
    text: str | None
    choices: tuple[tuple[str, str], ...]  # static (value, label)


def _text_of(flow: Flow, node: GatherNode, channel: str) -> str | None:
    if node.prompt:
        entry = flow.prompts.lookup(flow.language, node.prompt)
        return entry.text if entry is not None else None
    if isinstance(node.text, dict):
        return node.text.get(channel, node.text.get("default"))
    return node.text


def questions_of(flow: Flow, channel: str) -> list[Question]:
    """The flow's gathers (the root's first, then its subflows'), one per result name."""
    seen: dict[str, Question] = {}
    for part in [flow, *(other for name, other in flow.library.items() if name != flow.name)]:
        for node in part.definition.nodes:
            if isinstance(node, GatherNode) and node.result_name not in seen:
                choices = tuple((choice.key, choice.label) for choice in node.choices)
                seen[node.result_name] = Question(node.result_name, node.id, part.name, _text_of(part, node, channel),
                                                  choices)
    return list(seen.values())


def campaign_flow(db: Session, campaign: Campaign) -> Flow | None:
    version = db.get(FlowVersion, campaign.flow_version_id)
    if version is None:
        return None
    try:
        return load_flow_text(version.definition, f"{version.name} v{version.version}")
    except VoicePlatformError:
        return None


def _number(value: str | None) -> Decimal | None:
    if value is None:
        return None
    try:
        number = Decimal(value.strip())
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _plain(number: Decimal) -> int | float:
    return int(number) if number == number.to_integral_value() else float(number)


def _numeric(by_value: dict[str, int]) -> dict[str, Any] | None:
    numbers = {value: _number(value) for value in by_value}
    if not by_value or any(number is None for number in numbers.values()):
        return None
    count = sum(by_value.values())
    total = sum((numbers[value] or Decimal(0)) * recipients for value, recipients in by_value.items())
    ordered = sorted(by_value, key=lambda value: numbers[value] or Decimal(0))
    return {"count": count, "average": round(float(total / count), 3),
            "min": _plain(numbers[ordered[0]] or Decimal(0)), "max": _plain(numbers[ordered[-1]] or Decimal(0)),
            "distribution": {value: by_value[value] for value in ordered}}


def _question_result(question: Question, rows: list[tuple[str | None, str | None, int]]) -> dict[str, Any]:
    by_value: dict[str, int] = defaultdict(int)
    labels: dict[str, Counter[str]] = defaultdict(Counter)
    for value, label, count in rows:
        key = "" if value is None else value
        by_value[key] += count
        if label:
            labels[key][label] += count
    defined = dict(question.choices)
    for value in defined:
        by_value.setdefault(value, 0)
    ordered = sorted(by_value, key=lambda value: -by_value[value])
    listed = ordered[:MAX_VALUES]
    answers = [{"value": value, "label": labels[value].most_common(1)[0][0] if labels[value] else defined.get(value),
                "count": by_value[value]} for value in listed]
    answered = {value: count for value, count in by_value.items() if count}
    return {"name": question.name, "node": question.node, "flow": question.flow, "text": question.text,
            "answered": sum(answered.values()), "answers": answers,
            "other_values": sum(by_value[value] for value in ordered[MAX_VALUES:]), "numeric": _numeric(answered)}


def survey_results(db: Session, campaign: Campaign) -> dict[str, Any]:
    flow = campaign_flow(db, campaign)
    questions = questions_of(flow, campaign.channel) if flow is not None else []
    counts: dict[str, list[tuple[str | None, str | None, int]]] = defaultdict(list)
    names = [question.name for question in questions]
    for name, value, label, count in question_counts(db, campaign, names):
        counts[name].append((value, label, count))
    recipients = db.scalar(select(func.count()).select_from(CampaignContact)
                           .where(CampaignContact.campaign_id == campaign.id)) or 0
    return {"campaign_id": campaign.id, "channel": campaign.channel, "recipients": recipients,
            "respondents": respondents(db, campaign, names),
            "questions": [_question_result(question, counts[question.name]) for question in questions]}
