"""``branch``: take the first case whose condition is true, else ``default``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterator, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from voiceplatform.flow.channels import Channel
from voiceplatform.flow.nodes.base import NodeBase, Outcome, Path, register
from voiceplatform.flow.templates import TemplateFailure, evaluate, references

if TYPE_CHECKING:
    from voiceplatform.flow.run import Run


class Case(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    when: str = Field(min_length=1)
    next: str | None = None


@register
class BranchNode(NodeBase):
    type: Literal["branch"] = "branch"
    cases: tuple[Case, ...] = Field(min_length=1)
    default: str | None = None

    exit_names = ("default",)

    @model_validator(mode="before")
    @classmethod
    def _no_next(cls, raw: Any) -> Any:
        if isinstance(raw, dict) and "next" in raw:
            raise ValueError("branch has no 'next'; give each case a next and use 'default'")
        return raw

    def exit_targets(self) -> Iterator[tuple[str, str | None, Path]]:
        for position, case in enumerate(self.cases):
            yield f"case {position + 1}", case.next, ("cases", position, "next")
        if self.default is not None:
            yield "default", self.default, ("default",)
        yield from super().exit_targets()

    def target(self, exit_name: str) -> str | None:
        if exit_name.startswith("case "):
            return self.cases[int(exit_name[5:]) - 1].next
        if exit_name == "default":
            return self.default if self.default is not None else self.exits.get("default")
        return super().target(exit_name)

    def texts(self) -> Iterator[tuple[Path, str, bool]]:
        for position, case in enumerate(self.cases):
            yield ("cases", position, "when"), case.when, True

    def enter(self, run: Run) -> Outcome:
        for position, case in enumerate(self.cases):
            if run.condition(case.when):
                return f"case {position + 1}"
        return "default"


def channel_branch_targets(node: BranchNode, channel: Channel) -> Iterator[str | None]:
    """Where the branch can go on ``channel``, for the validator. A case that reads nothing but
    ``session.channel`` (``session.channel == 'voice'``, ``session.channel in ['sms']``) is
    decided for the channel: a true one is taken and nothing after it can run there, a false
    one is never taken. Other cases may go either way. So "branch on session.channel, then
    send with channel: sms on voice" satisfies the check that send cannot run on a call."""
    for case in node.cases:
        decided = _on_channel(case.when, channel)
        if decided is False:
            continue
        yield case.next
        if decided is True:
            return
    yield node.target("default")


def _on_channel(condition: str, channel: Channel) -> bool | None:
    refs = set(references(condition, expression=True))
    if refs != {("session", "channel")}:
        return None
    try:
        return bool(evaluate(condition, {"session": {"channel": channel.value}}))
    except TemplateFailure:
        return None
