"""``transfer``: hand the call to a number, a SIP URI or a queue, after an optional announcement.
``announcement`` is another name for ``text``: what the caller hears before the transfer.
The driver resumes with ``Input.transfer_result``: ``completed`` takes ``next``; ``busy``,
``no-answer`` or ``failed`` take ``failed``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterator, Literal

from pydantic import Field, model_validator

from voiceplatform.flow.channels import Channel
from voiceplatform.flow.inputs import Input, InputKind
from voiceplatform.flow.nodes.base import WAIT, Outcome, Path, register
from voiceplatform.flow.nodes.utterance import UtteranceNode
from voiceplatform.flow.outputs import Transfer

if TYPE_CHECKING:
    from voiceplatform.flow.run import Run


@register
class TransferNode(UtteranceNode):
    type: Literal["transfer"] = "transfer"
    number: str | None = None
    sip: str | None = None
    queue: str | None = None
    timeout: float = Field(default=30.0, gt=0, le=600)
    caller_id: str | None = None

    channels = frozenset({Channel.VOICE})
    offline = False
    waits = True
    exit_names = ("next", "failed")
    accepts = frozenset({InputKind.TRANSFER_RESULT})

    @model_validator(mode="before")
    @classmethod
    def _announcement(cls, raw: Any) -> Any:
        if isinstance(raw, dict) and "announcement" in raw:
            if "text" in raw:
                raise ValueError("give announcement or text, not both (they are the same field)")
            raw = {("text" if key == "announcement" else key): value for key, value in raw.items()}
        return raw

    @model_validator(mode="after")
    def _one_target(self) -> TransferNode:
        given = [name for name in ("number", "sip", "queue") if getattr(self, name)]
        if len(given) != 1:
            raise ValueError("transfer needs exactly one of number, sip, queue")
        return self

    def texts(self) -> Iterator[tuple[Path, str, bool]]:
        yield from super().texts()
        for name in ("number", "sip", "queue", "caller_id"):
            value = getattr(self, name)
            if value:
                yield (name,), value, False

    def stores(self) -> Iterator[tuple[str, str]]:
        yield "results", self.id  # the transfer's outcome: completed, busy, no-answer, failed

    def enter(self, run: Run) -> Outcome:
        self.speak_or_send(run)
        kind = "number" if self.number else "sip" if self.sip else "queue"
        target = run.text(getattr(self, kind))
        caller_id = run.text(self.caller_id) if self.caller_id else None
        run.emit(Transfer(target, kind, self.timeout, caller_id))
        run.wait("transfer", None)
        return WAIT

    def resume(self, run: Run, given: Input) -> Outcome:
        run.clear_wait()
        run.save_result(self.id, given.value or "failed")
        return "next" if given.value == "completed" else "failed"
