"""``end`` finishes the current flow (from a subflow, the parent goes on); ``hangup`` finishes
the whole session, and on a call hangs up. ``hangup``'s ``reason`` (a template: ``voicemail``,
``busy``, ``{{ vars.outcome }}``) is the session's ``end_reason`` and the reason the driver is
given, so call records say why the journey ended, not just that it did."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from typing import Iterator

from pydantic import Field

from voiceplatform.flow.nodes.base import Finish, NodeBase, Outcome, Path, register

if TYPE_CHECKING:
    from voiceplatform.flow.run import Run


@register
class EndNode(NodeBase):
    type: Literal["end"] = "end"
    exit_names = ()

    def enter(self, run: Run) -> Outcome:
        return None


@register
class HangupNode(NodeBase):
    type: Literal["hangup"] = "hangup"
    reason: str | None = Field(default=None, min_length=1, max_length=200)
    exit_names = ()

    def texts(self) -> Iterator[tuple[Path, str, bool]]:
        if self.reason is not None:
            yield ("reason",), self.reason, False

    def enter(self, run: Run) -> Outcome:
        reason = run.text(self.reason).strip() if self.reason is not None else ""
        return Finish(reason[:200] or "hangup")
