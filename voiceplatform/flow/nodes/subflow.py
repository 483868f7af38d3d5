"""``subflow``: run another flow, then come back and take ``next``. The other flow shares the
session's contact, results and variables. ``flow`` is a path relative to this file.

A subflow may declare an interface (``params:`` with defaults, ``returns:``): ``params:`` on
this node passes values (templates, rendered in the parent before entering), which the subflow
reads as ``vars.NAME``. Parameters not passed, and the subflow's own ``vars:``, are defaults:
they fill in variables the session does not have yet and never overwrite one it has.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Iterator, Literal

from pydantic import Field, field_validator

from voiceplatform.flow.nodes.base import HALT, Jump, NodeBase, Outcome, Path, register

if TYPE_CHECKING:
    from voiceplatform.flow.run import Run

NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"


@register
class SubflowNode(NodeBase):
    type: Literal["subflow"] = "subflow"
    flow: str = Field(min_length=1)
    params: dict[str, Any] = Field(default_factory=dict)

    @field_validator("params")
    @classmethod
    def _names(cls, value: dict[str, Any]) -> dict[str, Any]:
        for name in value:
            if not re.match(NAME, str(name)):
                raise ValueError(f"{name!r} is not a valid parameter name (letters, digits, _)")
        return value

    def subflow_refs(self) -> Iterator[tuple[Path, str]]:
        yield ("flow",), self.flow

    def texts(self) -> Iterator[tuple[Path, str, bool]]:
        for name, value in self.params.items():
            if isinstance(value, str):
                yield ("params", name), value, False

    def stores(self) -> Iterator[tuple[str, str]]:
        for name in self.params:
            yield "vars", name

    def enter(self, run: Run) -> Outcome:
        depth = len(run.state["stack"]) + 1
        if depth > run.limits.max_subflow_depth:
            run.fail("subflow_too_deep", f"subflows nested deeper than {run.limits.max_subflow_depth}")
            return HALT
        child = run.root.resolve(run.flow.subflows[self.flow])
        passed = {name: run.value(raw) for name, raw in self.params.items()}  # in the parent's scope
        run.enter_flow(child, self.id)
        for name, value in passed.items():
            run.set_var(name, value)
        session_vars = run.state["vars"]
        for name, param in child.definition.params.items():
            if name not in session_vars and param.default is not None:
                run.set_var(name, param.default)
        for name, value in child.definition.vars.items():
            if name not in session_vars:
                run.set_var(name, value)
        return Jump(child.start)
