"""What every channel's renderer does. A node hands it plain data (an :class:`Utterance`, a
:class:`Question`) and gets the outputs for its channel back; it never branches on the channel
itself. Renderers are pure: they read only their :class:`ChannelLimits` and the phrases given."""

from __future__ import annotations

from typing import Protocol

from voiceplatform.flow.channels import Channel
from voiceplatform.flow.menu import Menu
from voiceplatform.flow.outputs import Output
from voiceplatform.flow.render.limits import ChannelLimits
from voiceplatform.flow.render.question import Phrases, Question, Utterance


class Renderer(Protocol):
    @property
    def channel(self) -> Channel: ...

    @property
    def limits(self) -> ChannelLimits: ...

    @property
    def speaks(self) -> bool:
        """True on a call: the question is spoken and answered by keys or voice (the gather's
        ``input`` and ``timeout``); False on messaging (any text reply, ``reply_timeout``)."""
        ...

    @property
    def no_input_phrase(self) -> str:
        """The phrase said before asking again after no answer."""
        ...

    def say(self, utterance: Utterance) -> Output | None:
        """The utterance said or sent (None: nothing this channel can carry)."""
        ...

    def ask(self, question: Question, phrases: Phrases) -> Output:
        """The question with its menu, as this channel shows it."""
        ...

    def turns_page(self, answer: str, menu: Menu, page: int) -> bool:
        """Whether ``answer`` asks for the next page of ``menu`` shown at ``page``."""
        ...
