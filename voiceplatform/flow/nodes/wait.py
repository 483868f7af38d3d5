"""``wait``: on messaging channels, wait for the contact's next message (after an optional
message of our own). A reply takes ``reply`` (or ``next``) and is stored as a result; no reply
within ``timeout`` seconds takes ``timeout``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterator, Literal

from pydantic import Field

from voiceplatform.flow.channels import MESSAGING
from voiceplatform.flow.inputs import Input, InputKind
from voiceplatform.flow.limits import DEFAULT_REPLY_TIMEOUT
from voiceplatform.flow.nodes.base import WAIT, Outcome, register
from voiceplatform.flow.nodes.utterance import UtteranceNode

if TYPE_CHECKING:
    from voiceplatform.flow.run import Run


@register
class WaitNode(UtteranceNode):
    type: Literal["wait"] = "wait"
    timeout: float = Field(default=DEFAULT_REPLY_TIMEOUT, gt=0, le=30 * 86400)
    store: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")

    channels = MESSAGING
    offline = False
    waits = True
    exit_names = ("next", "reply", "timeout")
    accepts = frozenset({InputKind.TEXT, InputKind.TIMEOUT, InputKind.NO_INPUT})

    def stores(self) -> Iterator[tuple[str, str]]:
        yield "results", self.store or self.id

    def enter(self, run: Run) -> Outcome:
        self.speak_or_send(run)
        run.wait("reply", self.timeout)
        return WAIT

    def resume(self, run: Run, given: Input) -> Outcome:
        run.clear_wait()
        if given.kind is not InputKind.TEXT:
            return "timeout"
        run.save_result(self.store or self.id, given.value, input=given.value)
        return "reply" if self.target("reply") is not None else "next"
