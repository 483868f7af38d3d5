"""What a node asks or says, before any channel has rendered it: plain data a renderer turns
into outputs (a spoken ``Gather``, a numbered SMS menu, WhatsApp buttons or a list).

Named tuples, not frozen dataclasses: they are built on every ask, and a frozen dataclass costs
about a microsecond each to build (a resume takes some 30)."""

from __future__ import annotations

from typing import Any, NamedTuple, Protocol

from voiceplatform.flow.menu import Menu


class Phrases(Protocol):
    """The engine's own words in the session's language (``system.reply_or`` ...), a prompts
    catalogue's override first: ``voiceplatform.flow.phrases.phrase`` bound to a run."""

    def __call__(self, phrase_id: str, /, **fields: str) -> str: ...


class Utterance(NamedTuple):
    """A text (or catalogue prompt) and an audio file to say or send. On a call the audio is
    played (the text is its transcript); in a message it goes as media where the channel has it."""

    text: str
    audio: str | None
    language: str
    prompt: str | None = None  # the catalogue prompt's id, carried by the spoken Say
    barge_in: bool = False


class Listening(NamedTuple):
    """How a call takes the answer (messaging channels take a reply as it comes)."""

    modes: tuple[str, ...]  # "dtmf", "speech"
    max_digits: int | None  # None: the longest key of the menu
    min_digits: int
    finish_on_key: str | None
    timeout: float
    attempt: int  # 1 for the first ask, 2 for the first retry ...


class Question(NamedTuple):
    """A gather's question: what is said, the menu (possibly empty: free input), the retry's
    apology said ``before`` it, whether the choices are announced, the page of a long menu, and
    the WhatsApp template sent instead outside the 24-hour window (a ``Send.template``: name,
    language, rendered params, quick replies; only the WhatsApp renderer carries it)."""

    utterance: Utterance
    menu: Menu
    listening: Listening
    before: str | None = None
    announce: bool = True
    page: int = 0
    template: dict[str, Any] | None = None
