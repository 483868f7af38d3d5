"""The SMS renderer: plain text. A question is one message with its choices listed one a line in
the session's language (``system.reply_or``: ``Reply 1 or "Pay now"``); the reply is matched by
key, label or synonym. SMS carries no media: an audio file's text is sent instead."""

from __future__ import annotations

from voiceplatform.flow.channels import Channel
from voiceplatform.flow.menu import Menu
from voiceplatform.flow.outputs import Send
from voiceplatform.flow.render.limits import SMS_LIMITS, ChannelLimits
from voiceplatform.flow.render.messages import message, text_question
from voiceplatform.flow.render.question import Phrases, Question, Utterance


class SmsRenderer:
    channel = Channel.SMS
    speaks = False
    no_input_phrase = "system.no_input_messaging"

    def __init__(self, limits: ChannelLimits = SMS_LIMITS) -> None:
        self.limits = limits

    def say(self, utterance: Utterance) -> Send | None:
        return message(self.channel, self.limits, utterance)

    def ask(self, question: Question, phrases: Phrases) -> Send:
        return text_question(self.channel, self.limits, question, phrases)

    def turns_page(self, answer: str, menu: Menu, page: int) -> bool:
        return False  # every choice is in the one message
