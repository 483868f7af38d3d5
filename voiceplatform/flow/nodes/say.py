"""``say``: speak text, a catalogue prompt or an audio file; a message on messaging channels."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field, model_validator

from voiceplatform.flow.channels import Channel
from voiceplatform.flow.nodes.base import Outcome, register
from voiceplatform.flow.nodes.set_language import pick_language
from voiceplatform.flow.nodes.utterance import UtteranceNode
from voiceplatform.flow.render import standard_limits

if TYPE_CHECKING:
    from voiceplatform.flow.run import Run


@register
class SayNode(UtteranceNode):
    type: Literal["say"] = "say"
    barge_in: bool = False
    # Say this one text in another of the flow's languages (a bilingual welcome: "للعربية، اضغط
    # اثنين" in an English session), with that language's voice and catalogue. The session's
    # language is unchanged: use set_language for that.
    language: str | None = Field(default=None, pattern=r"^[a-z]{2,3}([_-][A-Za-z]{2,4})?$")
    offline = False

    @model_validator(mode="after")
    def _something_to_say(self) -> SayNode:
        if not self.has_utterance():
            raise ValueError("say needs text, prompt or audio")
        return self

    def runs_on(self, channel: Channel, live: bool) -> bool:
        if not live:
            return False
        if not standard_limits(channel).media:
            return self.can_write(channel)  # an audio file alone cannot be sent by SMS
        return True

    def enter(self, run: Run) -> Outcome:
        language = pick_language(self.language, run.root.definition.all_languages) if self.language else None
        self.speak_or_send(run, self.barge_in, language)
        return "next"
