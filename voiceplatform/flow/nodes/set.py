"""``set``: set variables, results or contact fields. String values are templates."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Iterator, Literal

from pydantic import Field, model_validator

from voiceplatform.flow.nodes.base import NodeBase, Outcome, Path, register

if TYPE_CHECKING:
    from voiceplatform.flow.run import Run

NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"


@register
class SetNode(NodeBase):
    type: Literal["set"] = "set"
    vars: dict[str, Any] = Field(default_factory=dict)
    results: dict[str, Any] = Field(default_factory=dict)
    contact: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _names(self) -> SetNode:
        if not (self.vars or self.results or self.contact):
            raise ValueError("set needs at least one of vars, results, contact")
        for group in (self.vars, self.results, self.contact):
            for name in group:
                if not re.match(NAME, str(name)):
                    raise ValueError(f"{name!r} is not a valid name (letters, digits, _)")
        return self

    def texts(self) -> Iterator[tuple[Path, str, bool]]:
        for group_name, group in (("vars", self.vars), ("results", self.results), ("contact", self.contact)):
            for name, value in group.items():
                if isinstance(value, str):
                    yield (group_name, name), value, False

    def stores(self) -> Iterator[tuple[str, str]]:
        for name in self.vars:
            yield "vars", name
        for name in self.results:
            yield "results", name
        for name in self.contact:
            yield "contact", name

    def enter(self, run: Run) -> Outcome:
        for name, raw in self.vars.items():
            run.set_var(name, run.value(raw))
        for name, raw in self.results.items():
            run.save_result(name, run.value(raw))
        for name, raw in self.contact.items():
            run.state["contact"][name] = run.value(raw)
        return "next"
