"""The WhatsApp renderer: a menu of up to ``limits.buttons`` choices is sent as quick-reply
buttons; a longer one as a list of up to ``limits.list_rows`` rows, paged beyond that (one row
fewer a page, the last row "More": ``system.more_choices``, answered by ``MORE_ID``). Titles are
fitted to the limits' lengths (shortened with "…"). A channel with neither buttons nor lists gets
the choices listed as text, as SMS does. Messages carry the audio as media. A question with a
template fallback carries it on its ``Send`` (``Send.template``), whichever form the menu takes:
the bridge sends it instead when the contact's 24-hour window is closed."""

from __future__ import annotations

from dataclasses import replace
from typing import Sequence

from voiceplatform.flow.channels import Channel
from voiceplatform.flow.menu import Menu, MenuItem
from voiceplatform.flow.outputs import Button, Send
from voiceplatform.flow.render.limits import WHATSAPP_LIMITS, ChannelLimits
from voiceplatform.flow.render.messages import message, question_body, text_question
from voiceplatform.flow.render.question import Phrases, Question, Utterance

MORE_ID = "__more"  # the id of the "More" row: the reply that asks for the next page


class WhatsAppRenderer:
    channel = Channel.WHATSAPP
    speaks = False
    no_input_phrase = "system.no_input_messaging"

    def __init__(self, limits: ChannelLimits = WHATSAPP_LIMITS) -> None:
        self.limits = limits

    def say(self, utterance: Utterance) -> Send | None:
        return message(self.channel, self.limits, utterance)

    def ask(self, question: Question, phrases: Phrases) -> Send:
        send = self._ask(question, phrases)
        return send if question.template is None else replace(send, template=question.template)

    def _ask(self, question: Question, phrases: Phrases) -> Send:
        items = question.menu.items
        limits = self.limits
        if not items or not (len(items) <= limits.buttons or limits.list_rows):
            return text_question(self.channel, limits, question, phrases)
        body = question_body(question)
        language = question.utterance.language
        if len(items) <= limits.buttons:
            buttons = tuple(Button(item.key, fit(item.label, limits.button_title_chars)) for item in items)
            return Send(self.channel.value, body, buttons=buttons, language=language)
        shown, more = page_of(items, question.page, limits.list_rows)
        rows = tuple(Button(item.key, fit(item.label, limits.row_title_chars)) for item in shown)
        if more:
            rows += (Button(MORE_ID, fit(phrases("system.more_choices"), limits.row_title_chars)),)
        return Send(self.channel.value, body, list_button=fit(phrases("system.list_button"), limits.list_button_chars),
                    list_rows=rows, language=language)

    def turns_page(self, answer: str, menu: Menu, page: int) -> bool:
        """Whether ``answer`` is the "More" row of page ``page`` (the next page is asked, not an attempt)."""
        if answer != MORE_ID or not self.limits.list_rows or len(menu.items) <= self.limits.buttons:
            return False
        return page_of(menu.items, page, self.limits.list_rows)[1]


def page_of(items: Sequence[MenuItem], page: int, list_rows: int) -> tuple[Sequence[MenuItem], bool]:
    """The items of list page ``page`` (0-based) and whether a "More" row follows. A menu of
    ``list_rows`` items or fewer fits one list; beyond, pages hold ``list_rows - 1`` items and a
    "More" row, and the last page holds what is left (up to ``list_rows``)."""
    per_page = list_rows - 1
    rest = items[page * per_page:]
    if len(rest) <= list_rows:
        return rest, False
    return rest[:per_page], True


def fit(title: str, limit: int) -> str:
    """``title`` shortened to ``limit`` characters with "…" (0: no limit)."""
    return title if not limit or len(title) <= limit else title[: limit - 1] + "…"
