"""The voice renderer: a call hears the question, then the choices read out in the session's
language ("Press 1 for Pay now." / "Say Pay now." / "For Pay now, press 1 or say Pay now."), and
answers by keys or by voice as the gather's ``input`` allows."""

from __future__ import annotations

from voiceplatform.flow.channels import Channel
from voiceplatform.flow.menu import Menu
from voiceplatform.flow.outputs import ChoiceOption, Gather, Play, Say
from voiceplatform.flow.render.limits import VOICE_LIMITS, ChannelLimits
from voiceplatform.flow.render.question import Phrases, Question, Utterance


class VoiceRenderer:
    channel = Channel.VOICE
    speaks = True  # the answer comes by keys or voice while the line is open
    no_input_phrase = "system.no_input_voice"

    def __init__(self, limits: ChannelLimits = VOICE_LIMITS) -> None:
        self.limits = limits

    def say(self, utterance: Utterance) -> Say | Play | None:
        return self._spoken(utterance)

    def ask(self, question: Question, phrases: Phrases) -> Gather:
        modes = question.listening.modes
        items = question.menu.items
        menu = ""
        if items and question.announce:
            if "dtmf" in modes and "speech" in modes:
                phrase_id = "system.press_or_say"
            elif "dtmf" in modes:
                phrase_id = "system.press_for"
            else:
                phrase_id = "system.say_for"
            menu = " ".join(phrases(phrase_id, key=item.key, label=item.label) for item in items)
        utterance = question.utterance
        prompts: list[Say | Play] = []
        if question.before:
            prompts.append(Say(question.before, utterance.language, utterance.barge_in))
        spoken = self._spoken(utterance, suffix=menu)
        if spoken is not None:
            prompts.append(spoken)
        listening = question.listening
        digits = listening.max_digits if listening.max_digits is not None else question.menu.digit_limit
        return Gather(
            modes=modes,
            prompts=tuple(prompts),
            choices=tuple(ChoiceOption(item.key, item.label, item.synonyms) for item in items),
            speech_phrases=question.menu.speech_phrases if "speech" in modes else (),
            max_digits=digits if "dtmf" in modes else None,
            min_digits=listening.min_digits,
            finish_on_key=listening.finish_on_key,
            timeout=listening.timeout,
            barge_in=utterance.barge_in,
            attempt=listening.attempt,
        )

    def turns_page(self, answer: str, menu: Menu, page: int) -> bool:
        return False  # a call hears every choice

    def _spoken(self, utterance: Utterance, suffix: str = "") -> Say | Play | None:
        """The audio played (the text is its transcript; a menu ``suffix`` is not added to a
        recording), else the text spoken with the suffix."""
        if utterance.audio and self.limits.media:
            return Play(utterance.audio, utterance.barge_in, utterance.text or None)
        text = " ".join(part for part in (utterance.text, suffix) if part)
        if not text:
            return None
        return Say(text, utterance.language, utterance.barge_in, utterance.prompt)
