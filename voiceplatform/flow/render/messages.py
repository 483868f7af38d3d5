"""Messages as text, shared by the messaging renderers: an utterance as a message (its audio as
media where the channel carries media), and a question with its choices listed one a line in the
session's language (``Reply 1 or "Pay now"``, Arabic ``أرسل 1 أو «ادفع الآن»``)."""

from __future__ import annotations

from voiceplatform.flow.channels import Channel
from voiceplatform.flow.outputs import Send
from voiceplatform.flow.render.limits import ChannelLimits
from voiceplatform.flow.render.question import Phrases, Question, Utterance


def message(channel: Channel, limits: ChannelLimits, utterance: Utterance) -> Send | None:
    """``utterance`` as a message on ``channel`` (None: nothing to send)."""
    media = utterance.audio if limits.media else None
    if not utterance.text and not media:
        return None
    return Send(channel.value, utterance.text, media=media, language=utterance.language)


def question_body(question: Question) -> str:
    """The question's text, a retry's apology first."""
    text = question.utterance.text
    if question.before:
        return f"{question.before}\n{text}" if text else question.before
    return text


def listed_choices(question: Question, phrases: Phrases) -> str:
    """The choices one a line (``system.reply_or``), or "" when there are none or they are not announced."""
    if not question.announce:
        return ""
    return "\n".join(phrases("system.reply_or", key=item.key, label=item.label) for item in question.menu.items)


def text_question(channel: Channel, limits: ChannelLimits, question: Question, phrases: Phrases) -> Send:
    """The question as one text message: the body, then the listed choices."""
    text = "\n".join(part for part in (question_body(question), listed_choices(question, phrases)) if part)
    media = question.utterance.audio if limits.media else None
    return Send(channel.value, text, media=media, language=question.utterance.language)
