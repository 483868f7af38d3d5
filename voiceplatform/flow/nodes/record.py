"""``record``: record the caller (a comment, a voicemail), optionally transcribed. Voice only; on
messaging channels it takes its ``fallback``. The recording is stored as a result whose value is
the file path, with ``duration`` and ``transcript`` details."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterator, Literal

from pydantic import Field

from voiceplatform.flow.channels import Channel
from voiceplatform.flow.inputs import Input, InputKind
from voiceplatform.flow.nodes.base import WAIT, Outcome, register
from voiceplatform.flow.nodes.utterance import UtteranceNode
from voiceplatform.flow.outputs import Record

if TYPE_CHECKING:
    from voiceplatform.flow.run import Run


@register
class RecordNode(UtteranceNode):
    type: Literal["record"] = "record"
    max_seconds: int = Field(default=60, ge=1, le=3600)
    beep: bool = True
    silence_timeout: float = Field(default=3.0, ge=0, le=60)
    finish_on_key: Literal["#", "*"] | None = "#"
    transcribe: bool = False
    store: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")

    channels = frozenset({Channel.VOICE})
    offline = False
    waits = True
    exit_names = ("next", "no_input")
    accepts = frozenset({InputKind.RECORDING, InputKind.NO_INPUT, InputKind.TIMEOUT})

    def stores(self) -> Iterator[tuple[str, str]]:
        yield "results", self.store or self.id

    def enter(self, run: Run) -> Outcome:
        self.speak_or_send(run)
        run.emit(Record(self.max_seconds, self.beep, self.silence_timeout, self.finish_on_key, self.transcribe))
        run.wait("record", float(self.max_seconds) + self.silence_timeout + 5.0)
        return WAIT

    def resume(self, run: Run, given: Input) -> Outcome:
        run.clear_wait()
        duration = float(given.data.get("duration") or 0.0)
        if given.kind is not InputKind.RECORDING or not given.value or duration <= 0:
            return "no_input" if self.target("no_input") is not None else "next"
        details: dict[str, Any] = {"duration": duration}
        if "transcript" in given.data:
            details["transcript"] = given.data["transcript"]
        run.save_result(self.store or self.id, given.value, **details)
        return "next"
