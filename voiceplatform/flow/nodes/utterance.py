"""What nodes say: a text template, a catalogue prompt, or an audio file (with text as its
transcript and messaging fallback). Shared by say, gather, record, transfer and wait."""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterator

from pydantic import field_validator

from voiceplatform.flow.channels import Channel
from voiceplatform.flow.nodes.base import NodeBase, Path, Text, check_text, text_paths
from voiceplatform.flow.render import Utterance

if TYPE_CHECKING:
    from voiceplatform.flow.run import Run


class UtteranceNode(NodeBase):
    text: Text | None = None
    prompt: str | None = None
    audio: str | None = None

    @field_validator("text")
    @classmethod
    def _text(cls, value: Text | None) -> Text | None:
        return check_text(value)

    def has_utterance(self) -> bool:
        return bool(self.text or self.prompt or self.audio)

    def can_write(self, channel: Channel) -> bool:
        """Whether there is something to send as text on a messaging channel."""
        if self.prompt:
            return True
        if isinstance(self.text, dict):
            return channel.value in self.text or "default" in self.text
        return bool(self.text)

    def texts(self) -> Iterator[tuple[Path, str, bool]]:
        yield from text_paths(("text",), self.text)

    def prompt_ids(self) -> Iterator[tuple[Path, str]]:
        if self.prompt:
            yield ("prompt",), self.prompt

    def content(self, run: Run, language: str | None = None) -> tuple[str, str | None]:
        """The rendered text and the audio file of this utterance (a prompt in ``language``, by
        default the session's)."""
        text = run.text(self.text) if self.text is not None else ""
        audio = self.audio
        if self.prompt:
            prompt_text, prompt_audio = run.prompt(self.prompt, language)
            text = text or prompt_text
            audio = audio or prompt_audio
        return text, audio

    def utterance(self, run: Run, barge_in: bool = False, language: str | None = None) -> Utterance:
        """This utterance rendered for the session (a prompt in ``language``, by default the
        session's), for the channel's renderer to say or send."""
        text, audio = self.content(run, language)
        return Utterance(text, audio, language or run.language, self.prompt, barge_in)

    def speak_or_send(self, run: Run, barge_in: bool = False, language: str | None = None) -> None:
        output = run.renderer.say(self.utterance(run, barge_in, language))
        if output is not None:
            run.emit(output)
