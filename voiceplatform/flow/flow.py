"""A loaded flow, ready to run: its definition, nodes by id, prompts, and the library of flows it
can enter as subflows."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from voiceplatform.exceptions import StateError
from voiceplatform.flow.channels import Channel
from voiceplatform.flow.definition import FlowDefinition, Handlers
from voiceplatform.flow.prompts import PromptCatalogue
from voiceplatform.flow.yaml_source import Locations

if TYPE_CHECKING:
    from voiceplatform.flow.nodes.base import NodeBase


@dataclass(eq=False)
class Flow:
    definition: FlowDefinition
    file: str
    locations: Locations
    nodes: dict[str, NodeBase]
    prompts: PromptCatalogue
    library: dict[str, Flow] = field(default_factory=dict)  # every flow reachable, by name
    subflows: dict[str, str] = field(default_factory=dict)  # subflow reference -> flow name

    def __post_init__(self) -> None:
        self.library.setdefault(self.definition.name, self)
        self.name = self.definition.name
        self.start = self.definition.start
        self.channels: frozenset[Channel] = frozenset(self.definition.channels)
        self.language = self.definition.language
        self.positions: dict[str, int] = {}
        for index, node in enumerate(self.definition.nodes):
            self.positions.setdefault(node.id, index)

    @property
    def on(self) -> Handlers:
        return self.definition.on

    def resolve(self, name: str) -> Flow:
        try:
            return self.library[name]
        except KeyError:
            raise StateError(f"flow {name!r} is not part of {self.name!r}") from None

    def node(self, node_id: str) -> NodeBase:
        try:
            return self.nodes[node_id]
        except KeyError:
            raise StateError(f"node {node_id!r} is not in flow {self.name!r}") from None
