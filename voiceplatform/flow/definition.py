"""The flow document (``spec_version: 1``) as a pydantic model. Nodes are the discriminated union
of every registered node type, keyed by ``type``."""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator

from voiceplatform.flow.channels import Channel
from voiceplatform.flow.nodes import NODE_TYPES

SPEC_VERSION = 1

NodeDefinition = Annotated[Union[tuple(NODE_TYPES.values())], Field(discriminator="type")]  # type: ignore[valid-type]


class Handlers(BaseModel):
    """Where the journey goes on channel events. Each is a node id."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    no_answer: str | None = None  # the call was not answered (runs with no live call)
    machine: str | None = None  # an answering machine picked up (leave a message)
    hangup: str | None = None  # the contact hung up mid-call (runs with no live call)


class FlowDefinition(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    spec_version: Literal[1]
    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_.\-]*$", max_length=100)
    description: str | None = None
    language: str = Field(default="en", pattern=r"^[a-z]{2,3}([_-][A-Za-z]{2,4})?$")
    languages: tuple[str, ...] = ()
    channels: tuple[Channel, ...] = (Channel.VOICE, Channel.SMS, Channel.WHATSAPP)
    start: str
    prompts: str | None = None  # the prompts directory, relative to this file
    contact_fields: tuple[str, ...] | None = None  # declare to have contact.* checked
    vars: dict[str, Any] = Field(default_factory=dict)
    on: Handlers = Field(default_factory=Handlers)
    nodes: tuple[NodeDefinition, ...] = Field(min_length=1)  # type: ignore[valid-type]

    @field_validator("channels")
    @classmethod
    def _channels(cls, value: tuple[Channel, ...]) -> tuple[Channel, ...]:
        if not value:
            raise ValueError("a flow needs at least one channel")
        if len(set(value)) != len(value):
            raise ValueError("channels are listed twice")
        return value

    @property
    def all_languages(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys((self.language, *self.languages)))


def migrate_document(data: dict[str, Any]) -> dict[str, Any]:
    """Bring an older flow document to the current spec_version. Version 1 is the first; later
    versions add a step here, so every flow ever written keeps loading."""
    return data
