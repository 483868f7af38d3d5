"""``end`` finishes the current flow (from a subflow, the parent goes on); ``hangup`` finishes
the whole session, and on a call hangs up."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from voiceplatform.flow.nodes.base import Finish, NodeBase, Outcome, register

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
    reason: str = "normal"
    exit_names = ()

    def enter(self, run: Run) -> Outcome:
        return Finish("hangup")
