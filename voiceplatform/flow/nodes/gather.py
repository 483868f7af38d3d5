"""``gather``: ask a question and collect the answer, by DTMF or speech on a call and by text on
messaging channels. With choices, the answer must match one (key, label or synonym); without, it
is free input checked by ``max_digits`` / ``min_digits`` / ``validate``. Retries re-ask after a
no-match or no-input; then the ``no_match`` / ``no_input`` exits are taken.

On WhatsApp a ``template:`` is the question's fallback outside the contact's 24-hour window (a
campaign that opens a journey with a question): the question's ``Send`` carries it beside its
buttons or list, and its quick-reply buttons answer the question
(``voiceplatform.flow.nodes.whatsapp_template``). Other channels ignore it.
"""

from __future__ import annotations

import re
from functools import cached_property, partial
from typing import TYPE_CHECKING, Iterator, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from voiceplatform.flow.inputs import Input, InputKind
from voiceplatform.flow.limits import DEFAULT_REPLY_TIMEOUT, DEFAULT_VOICE_TIMEOUT
from voiceplatform.flow.matching import ascii_digits
from voiceplatform.flow.menu import Menu, MenuItem, dynamic_items
from voiceplatform.flow.nodes.base import WAIT, Outcome, Path, Text, check_text, register, text_paths
from voiceplatform.flow.nodes.utterance import UtteranceNode
from voiceplatform.flow.nodes.whatsapp_template import WhatsAppTemplate
from voiceplatform.flow.phrases import phrase
from voiceplatform.flow.render import Listening, Question
from voiceplatform.flow.templates import is_template

if TYPE_CHECKING:
    from voiceplatform.flow.run import Run

DTMF_KEY = re.compile(r"^[0-9*#]+$")


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


class ChoicesFrom(BaseModel):
    """A menu built from data: one choice per element of the list ``items`` evaluates to.
    ``key``, ``label`` and ``value`` are templates with ``item`` and ``index`` (1-based) in scope;
    ``value`` is what is stored as the result (default: the key). Every such choice takes the
    gather's ``next``. ``choices_from: "vars.slots"`` is shorthand for ``{items: vars.slots}``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    items: str = Field(min_length=1)
    key: str | None = None
    label: str | None = None
    value: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, raw: object) -> object:
        return {"items": raw} if isinstance(raw, str) else raw


@register
class GatherNode(UtteranceNode):
    type: Literal["gather"] = "gather"
    input: tuple[Literal["dtmf", "speech"], ...] = ("dtmf",)
    choices: tuple[Choice, ...] = ()
    choices_from: ChoicesFrom | None = None
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
    template: WhatsAppTemplate | None = None

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
        # Duplicate keys are reported by checks.py, at the duplicate's own line and naming it.
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
        for position, choice in enumerate(self.choices):
            for field, source in (("label", choice.label), *((("synonyms", n), syn) for n, syn in enumerate(choice.synonyms))):
                if is_template(source):
                    path = ("choices", position, *(field if isinstance(field, tuple) else (field,)))
                    yield path, source, False
        if self.choices_from is not None:
            yield ("choices_from", "items"), self.choices_from.items, True
            for name in ("key", "label", "value"):
                source = getattr(self.choices_from, name)
                if source is not None:
                    yield ("choices_from", name), source, False
        yield from text_paths(("no_match_text",), self.no_match_text)
        yield from text_paths(("no_input_text",), self.no_input_text)
        if self.template is not None:
            yield from self.template.texts()

    def stores(self) -> Iterator[tuple[str, str]]:
        yield "results", self.result_name

    @property
    def result_name(self) -> str:
        return self.store or self.id

    @property
    def has_menu(self) -> bool:
        return bool(self.choices) or self.choices_from is not None

    @cached_property
    def rendered_per_session(self) -> bool:
        """Whether the menu is rendered per session (templated labels, or choices from data)."""
        return self.choices_from is not None or any(
            is_template(text) for choice in self.choices for text in (choice.label, *choice.synonyms)
        )

    @cached_property
    def static_menu(self) -> Menu:
        return Menu.of([_item(choice, choice.label, choice.synonyms) for choice in self.choices])

    def menu(self, run: Run, *, fresh: bool) -> Menu:
        """The menu for this ask: rendered when asked (``fresh``), then the one kept in the wait."""
        if not self.rendered_per_session:
            return self.static_menu
        kept = (run.state.get("wait") or {}).get("menu")
        if not fresh and isinstance(kept, list):
            return Menu.from_json(kept)
        items: list[MenuItem] = []
        if self.choices_from is not None:
            source = self.choices_from
            items = dynamic_items(run, source.items, source.key, source.label, source.value)
        keys = {item.key for item in items}
        for choice in self.choices:
            if choice.key in keys:
                run.error("bad_choice", f"choice {choice.key!r} is also a key of choices_from; the data's item is kept")
                continue
            items.append(_item(choice, run.text(choice.label) or choice.key, tuple(run.text(s) for s in choice.synonyms)))
        return Menu.of(items)

    # ---- behaviour ----------------------------------------------------------------------

    def enter(self, run: Run) -> Outcome:
        menu = self.menu(run, fresh=True) if self.has_menu else self.static_menu
        if self.has_menu and not menu.items:
            run.error("no_choices", f"gather {self.id!r} has no choices to offer (choices_from gave none)")
            return "no_match"
        self._ask(run, None, menu)
        return WAIT

    def resume(self, run: Run, given: Input) -> Outcome:
        kind = given.kind
        if kind in (InputKind.NO_INPUT, InputKind.TIMEOUT) or not given.value.strip():
            return self._retry(run, "no_input")
        renderer = run.renderer
        if renderer.speaks and not self._mode_allowed(kind):
            return self._retry(run, "no_match")  # speech at a keypad-only menu (or keys at a spoken one)
        answer = ascii_digits(given.value.strip())  # "٠٥٥" is 055: validate, max_digits, the stored answer
        if kind is InputKind.DIGITS and self.finish_on_key and answer.endswith(self.finish_on_key):
            answer = answer[: -len(self.finish_on_key)]
        if self.has_menu:
            menu = self.menu(run, fresh=False)
            page = (run.state.get("wait") or {}).get("page", 0)
            if renderer.turns_page(answer, menu, page):
                self._ask(run, None, menu, page + 1)  # the next page: not an attempt
                return WAIT
            position = menu.index.match(answer)
            if position is None:
                return self._retry(run, "no_match")
            item = menu.items[position]
            run.save_result(self.result_name, item.stored, label=item.label, input=given.value,
                            confidence=given.confidence)
            return item.exit
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
        menu = self.menu(run, fresh=False) if self.has_menu else self.static_menu
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
            before = phrase(run, run.renderer.no_input_phrase)
        self._ask(run, before, menu)
        return WAIT

    def _ask(self, run: Run, before: str | None, menu: Menu, page: int = 0) -> None:
        """Ask through the channel's renderer (it shows the menu as the channel can), then wait."""
        renderer = run.renderer
        listening = Listening(self.input, self.max_digits, self.min_digits, self.finish_on_key, self.timeout,
                              run.state["attempt"] + 1)
        template = self.template.rendered(run) if self.template is not None else None
        question = Question(self.utterance(run, self.barge_in), menu, listening, before, self.announce_choices, page,
                            template)
        run.emit(renderer.ask(question, partial(phrase, run)))
        run.wait("gather", self.timeout if renderer.speaks else self.reply_timeout)
        if self.rendered_per_session:
            run.state["wait"]["menu"] = menu.to_json()  # the reply is matched against what was shown
        if page:
            run.state["wait"]["page"] = page


def _item(choice: Choice, label: str, synonyms: tuple[str, ...]) -> MenuItem:
    return MenuItem(choice.key, label, synonyms, f"choice {choice.key}" if choice.next is not None else "next")
