"""The node base class and the registry of node types.

Each node type lives in its own module, declares its pydantic model (the definition) and its
runtime behaviour (``enter`` and ``resume``), and registers itself with :func:`register`. The
flow schema is the discriminated union of every registered type, so a new type needs no change
anywhere else.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Iterator, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator

from voiceplatform.flow.channels import ALL_CHANNELS, Channel
from voiceplatform.flow.inputs import Input, InputKind

if TYPE_CHECKING:
    from voiceplatform.flow.run import Run

Path = tuple[Any, ...]

NODE_ID_PATTERN = r"^[A-Za-z_][A-Za-z0-9_.\-]*$"
TEXT_KEYS = frozenset({"default", *(c.value for c in Channel)})

# A text field: one template for every channel, or one per channel with an optional default.
Text = Union[str, dict[str, str]]


class Wait:
    """Returned by enter/resume when the node now waits for input (it has called run.wait)."""


WAIT = Wait()


class Finish:
    """Returned by enter/resume to end the whole session with a status."""

    __slots__ = ("status",)

    def __init__(self, status: str) -> None:
        self.status = status


class Jump:
    """Returned by enter when the session goes on at a node of the (possibly new) current flow."""

    __slots__ = ("node",)

    def __init__(self, node: str) -> None:
        self.node = node


class Halt:
    """Returned when the node has already ended the session (run.fail)."""


HALT = Halt()

# An exit name to follow; a wait; a jump; the end of the session; None = the end of this flow.
Outcome = Union[str, Wait, Finish, Jump, Halt, None]


def check_text(value: Any) -> Any:
    if isinstance(value, dict):
        unknown = set(value) - TEXT_KEYS
        if unknown:
            raise ValueError(f"unknown channel keys {sorted(unknown)}; use {sorted(TEXT_KEYS)}")
        for key, text in value.items():
            if not isinstance(text, str):
                raise ValueError(f"text for {key!r} must be a string")
    return value


class NodeBase(BaseModel):
    """Fields every node has. ``next`` is shorthand for ``exits: {next: ...}``."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    type_name: ClassVar[str] = ""
    channels: ClassVar[frozenset[Channel]] = ALL_CHANNELS
    offline: ClassVar[bool] = True  # may run with no live call (after a hang-up, no answer)
    waits: ClassVar[bool] = False  # may stop for input (so a loop through it is not a busy loop)
    exit_names: ClassVar[tuple[str, ...]] = ("next",)
    accepts: ClassVar[frozenset[InputKind]] = frozenset()

    id: str = Field(pattern=NODE_ID_PATTERN, max_length=100)
    next: str | None = None
    exits: dict[str, str | None] = Field(default_factory=dict)
    fallback: str | None = None
    note: str | None = None
    # Bounded loops: after running max_visits times in a session, the node is skipped and the
    # session goes to on_max_visits instead (unset: the flow ends, like an unwired exit).
    max_visits: int | None = Field(default=None, ge=1, le=10_000)
    on_max_visits: str | None = None

    @field_validator("exits")
    @classmethod
    def _known_exits(cls, exits: dict[str, str | None]) -> dict[str, str | None]:
        unknown = set(exits) - set(cls.exit_names)
        if unknown:
            names = ", ".join(cls.exit_names) or "none"
            raise ValueError(f"unknown exit(s) {', '.join(sorted(unknown))}; {cls.type_name} has: {names}")
        return exits

    # ---- structure, for validation ----------------------------------------------------

    def exit_targets(self) -> Iterator[tuple[str, str | None, Path]]:
        """Every wired exit: (exit name, target node id, path of the field within the node)."""
        if self.next is not None:
            yield "next", self.next, ("next",)
        for name, target in self.exits.items():
            yield name, target, ("exits", name)
        if self.on_max_visits is not None:
            yield "max_visits", self.on_max_visits, ("on_max_visits",)

    def target(self, exit_name: str) -> str | None:
        if exit_name == "next" and self.next is not None:
            return self.next
        return self.exits.get(exit_name)

    def runs_on(self, channel: Channel, live: bool) -> bool:
        return channel in self.channels and (live or self.offline)

    def texts(self) -> Iterator[tuple[Path, str, bool]]:
        """Every template in the node: (path, source, is_expression)."""
        return iter(())

    def stores(self) -> Iterator[tuple[str, str]]:
        """What the node writes: ("results", name) or ("vars", name)."""
        return iter(())

    def prompt_ids(self) -> Iterator[tuple[Path, str]]:
        return iter(())

    def subflow_refs(self) -> Iterator[tuple[Path, str]]:
        return iter(())

    # ---- behaviour ---------------------------------------------------------------------

    def enter(self, run: Run) -> Outcome:
        raise NotImplementedError

    def resume(self, run: Run, given: Input) -> Outcome:
        raise NotImplementedError(f"{self.type_name} does not wait for input")


def text_paths(path: Path, value: Text | None) -> Iterator[tuple[Path, str, bool]]:
    if isinstance(value, str):
        yield path, value, False
    elif isinstance(value, dict):
        for key, text in value.items():
            yield path + (key,), text, False


NODE_TYPES: dict[str, type[NodeBase]] = {}


def register(cls: type[NodeBase]) -> type[NodeBase]:
    name = cls.model_fields["type"].default
    cls.type_name = name
    NODE_TYPES[name] = cls
    return cls
