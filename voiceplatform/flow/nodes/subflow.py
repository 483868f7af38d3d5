"""``subflow``: run another flow, then come back and take ``next``. The other flow shares the
session's contact, results and variables. ``flow`` is a path relative to this file."""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterator, Literal

from pydantic import Field

from voiceplatform.flow.nodes.base import HALT, Jump, NodeBase, Outcome, Path, register

if TYPE_CHECKING:
    from voiceplatform.flow.run import Run


@register
class SubflowNode(NodeBase):
    type: Literal["subflow"] = "subflow"
    flow: str = Field(min_length=1)

    def subflow_refs(self) -> Iterator[tuple[Path, str]]:
        yield ("flow",), self.flow

    def enter(self, run: Run) -> Outcome:
        depth = len(run.state["stack"]) + 1
        if depth > run.limits.max_subflow_depth:
            run.fail("subflow_too_deep", f"subflows nested deeper than {run.limits.max_subflow_depth}")
            return HALT
        child = run.root.resolve(run.flow.subflows[self.flow])
        run.enter_flow(child, self.id)
        return Jump(child.start)
