"""``gather``: ask a question and collect the answer, by DTMF or speech on a call and by text on
messaging channels. With choices, the answer must match one (key, label or synonym); without, it
is free input checked by ``max_digits`` / ``min_digits`` / ``validate``. Retries re-ask after a
no-match or no-input; then the ``no_match`` / ``no_input`` exits are taken.
"""

from __future__ import annotations

import re
from functools import cached_property
from typing import TYPE_CHECKING, Iterator, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from voiceplatform.flow.channels import Channel
from voiceplatform.flow.inputs import Input, InputKind
from voiceplatform.flow.limits import DEFAULT_REPLY_TIMEOUT, DEFAULT_VOICE_TIMEOUT
from voiceplatform.flow.matching import ChoiceIndex, ascii_digits
from voiceplatform.flow.nodes.base import WAIT, Outcome, Path, Text, check_text, register, text_paths
from voiceplatform.flow.nodes.utterance import UtteranceNode
from voiceplatform.flow.outputs import Button, ChoiceOption, Gather, Say, Send
from voiceplatform.flow.phrases import phrase

if TYPE_CHECKING:
    from voiceplatform.flow.run import Run

DTMF_KEY = re.compile(r"^[0-9*#]+$")
WHATSAPP_BUTTONS = 3
WHATSAPP_LIST_ROWS = 10
WHATSAPP_BUTTON_TITLE = 20
WHATSAPP_ROW_TITLE = 24


class Choice(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str = Field(min_length=1, max_length=32)
    label: str = Field(min_length=1, max_length=200)
    synonyms: tuple[str, ...] = ()
    next: str | None = None

    @field_validator("key", mode="before")
    @classmethod
    def _key_as_text(cls, value: object) -> object:
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


@register
class GatherNode(UtteranceNode):
    type: Literal["gather"] = "gather"
    input: tuple[Literal["dtmf", "speech"], ...] = ("dtmf",)
    choices: tuple[Choice, ...] = ()
    max_digits: int | None = Field(default=None, ge=1, le=64)
    min_digits: int = Field(default=1, ge=0, le=64)
    finish_on_key: Literal["#", "*"] | None = None
    timeout: float = Field(default=DEFAULT_VOICE_TIMEOUT, gt=0, le=600)
    reply_timeout: float = Field(default=DEFAULT_REPLY_TIMEOUT, gt=0, le=30 * 86400)
    validate_: str | None = Field(default=None, alias="validate")
    retries: int = Field(default=2, ge=0, le=10)
    store: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    no_match_text: Text | None = None
    no_input_text: Text | None = None
    announce_choices: bool = True
    barge_in: bool = True

    offline = False
    waits = True
    exit_names = ("next", "no_input", "no_match")
    accepts = frozenset({InputKind.DIGITS, InputKind.TEXT, InputKind.SPEECH, InputKind.NO_INPUT, InputKind.TIMEOUT})

    @field_validator("no_match_text", "no_input_text")
    @classmethod
    def _texts(cls, value: Text | None) -> Text | None:
        return check_text(value)

    @field_validator("validate_")
    @classmethod
    def _regex(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"validate is not a valid regular expression: {exc}") from exc
        return value

    @model_validator(mode="after")
    def _consistent(self) -> GatherNode:
        keys = [choice.key for choice in self.choices]
        if len(set(keys)) != len(keys):
            raise ValueError("choice keys must be unique")
        if not self.input:
            raise ValueError("input needs at least one of dtmf, speech")
        if self.max_digits is not None and self.min_digits > self.max_digits:
            raise ValueError("min_digits is larger than max_digits")
        return self

    # ---- structure ----------------------------------------------------------------------

    def exit_targets(self) -> Iterator[tuple[str, str | None, Path]]:
        yield from super().exit_targets()
        for position, choice in enumerate(self.choices):
            if choice.next is not None:
                yield f"choice {choice.key}", choice.next, ("choices", position, "next")

    def texts(self) -> Iterator[tuple[Path, str, bool]]:
        yield from super().texts()
        yield from text_paths(("no_match_text",), self.no_match_text)
        yield from text_paths(("no_input_text",), self.no_input_text)

    def stores(self) -> Iterator[tuple[str, str]]:
        yield "results", self.result_name

    @property
    def result_name(self) -> str:
        return self.store or self.id

    @cached_property
    def index(self) -> ChoiceIndex:
        return ChoiceIndex.build([(c.key, c.label, c.synonyms) for c in self.choices])

    @cached_property
    def speech_phrases(self) -> tuple[str, ...]:
        phrases: list[str] = []
        for choice in self.choices:
            phrases.extend((choice.label, *choice.synonyms))
        return tuple(dict.fromkeys(phrases))

    @cached_property
    def digit_limit(self) -> int | None:
        if self.max_digits is not None:
            return self.max_digits
        if self.choices:
            return max(len(choice.key) for choice in self.choices)
        return None

    # ---- behaviour ----------------------------------------------------------------------

    def enter(self, run: Run) -> Outcome:
        self._ask(run, before=None)
        return WAIT

    def resume(self, run: Run, given: Input) -> Outcome:
        kind = given.kind
        if kind in (InputKind.NO_INPUT, InputKind.TIMEOUT) or not given.value.strip():
            return self._retry(run, "no_input")
        if run.channel is Channel.VOICE and not self._mode_allowed(kind):
            return self._retry(run, "no_match")  # speech at a keypad-only menu (or keys at a spoken one)
        answer = ascii_digits(given.value.strip())  # "٠٥٥" is 055: validate, max_digits, the stored answer
        if kind is InputKind.DIGITS and self.finish_on_key and answer.endswith(self.finish_on_key):
            answer = answer[: -len(self.finish_on_key)]
        if self.choices:
            position = self.index.match(answer)
            if position is None:
                return self._retry(run, "no_match")
            choice = self.choices[position]
            run.save_result(self.result_name, choice.key, label=choice.label, input=given.value,
                            confidence=given.confidence)
            return f"choice {choice.key}" if choice.next is not None else "next"
        if not self._valid_free_input(answer, kind):
            return self._retry(run, "no_match")
        run.save_result(self.result_name, answer, input=given.value, confidence=given.confidence)
        return "next"

    def _mode_allowed(self, kind: InputKind) -> bool:
        """On a call, ``input`` is a promise to the caller: a DTMF-only menu does not act on
        words the recogniser happened to hear, and a speech-only one not on keys."""
        if kind is InputKind.DIGITS:
            return "dtmf" in self.input
        return "speech" in self.input

    def target(self, exit_name: str) -> str | None:
        if exit_name.startswith("choice "):
            key = exit_name[7:]
            for choice in self.choices:
                if choice.key == key:
                    return choice.next
        return super().target(exit_name)

    def _valid_free_input(self, answer: str, kind: InputKind) -> bool:
        if kind is InputKind.DIGITS:
            if len(answer) < self.min_digits:
                return False
            if self.max_digits is not None and len(answer) > self.max_digits:
                return False
        if self.validate_ is not None:
            return re.fullmatch(self.validate_, answer) is not None
        return True

    def _retry(self, run: Run, reason: str) -> Outcome:
        attempt = run.state["attempt"] + 1
        run.state["attempt"] = attempt
        if attempt > self.retries:
            run.clear_wait()
            return reason
        if reason == "no_match":
            before = run.text(self.no_match_text) if self.no_match_text else phrase(run, "system.no_match")
        elif self.no_input_text:
            before = run.text(self.no_input_text)
        else:
            suffix = "voice" if run.channel is Channel.VOICE else "messaging"
            before = phrase(run, f"system.no_input_{suffix}")
        self._ask(run, before=before)
        return WAIT

    def _ask(self, run: Run, before: str | None) -> None:
        if run.channel is Channel.VOICE:
            self._ask_voice(run, before)
            run.wait("gather", self.timeout)
        else:
            self._ask_messaging(run, before)
            run.wait("gather", self.reply_timeout)

    def _ask_voice(self, run: Run, before: str | None) -> None:
        modes = self.input
        menu = ""
        if self.choices and self.announce_choices:
            if "dtmf" in modes and "speech" in modes:
                phrase_id = "system.press_or_say"
            elif "dtmf" in modes:
                phrase_id = "system.press_for"
            else:
                phrase_id = "system.say_for"
            menu = " ".join(phrase(run, phrase_id, key=c.key, label=c.label) for c in self.choices)
        prompts = []
        if before:
            prompts.append(Say(before, run.language, self.barge_in))
        spoken = self.spoken(run, self.barge_in, suffix=menu)
        if spoken is not None:
            prompts.append(spoken)
        options = tuple(ChoiceOption(c.key, c.label, c.synonyms) for c in self.choices)
        run.emit(Gather(
            modes=modes,
            prompts=tuple(prompts),
            choices=options,
            speech_phrases=self.speech_phrases if "speech" in modes else (),
            max_digits=self.digit_limit if "dtmf" in modes else None,
            min_digits=self.min_digits,
            finish_on_key=self.finish_on_key,
            timeout=self.timeout,
            barge_in=self.barge_in,
            attempt=run.state["attempt"] + 1,
        ))

    def _ask_messaging(self, run: Run, before: str | None) -> None:
        question, audio = self.content(run)
        if before:
            question = f"{before}\n{question}" if question else before
        choices = self.choices
        channel = run.channel.value
        if choices and run.channel is Channel.WHATSAPP and len(choices) <= WHATSAPP_LIST_ROWS:
            rows = tuple(Button(c.key, _fit(c.label, WHATSAPP_ROW_TITLE)) for c in choices)
            if len(choices) <= WHATSAPP_BUTTONS:
                buttons = tuple(Button(c.key, _fit(c.label, WHATSAPP_BUTTON_TITLE)) for c in choices)
                run.emit(Send(channel, question, buttons=buttons))
            else:
                run.emit(Send(channel, question, list_button=phrase(run, "system.list_button"), list_rows=rows))
            return
        if choices and self.announce_choices:
            menu = "\n".join(phrase(run, "system.reply_or", key=c.key, label=c.label) for c in choices)
            question = f"{question}\n{menu}" if question else menu
        media = audio if run.channel is Channel.WHATSAPP else None
        run.emit(Send(channel, question, media=media))


def _fit(title: str, limit: int) -> str:
    return title if len(title) <= limit else title[: limit - 1] + "…"
