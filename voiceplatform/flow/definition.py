"""The flow document (``spec_version: 1``) as a pydantic model. Nodes are the discriminated union
of every registered node type, keyed by ``type``."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from voiceplatform.flow.channels import Channel
from voiceplatform.flow.nodes import NODE_TYPES
from voiceplatform.flow.nodes.base import NodeBase
from voiceplatform.flow.template_functions import is_zone

SPEC_VERSION = 1

if TYPE_CHECKING:  # the type checker sees what every node type shares; pydantic, the real union
    NodeDefinition = NodeBase
else:
    NodeDefinition = Annotated[Union[tuple(NODE_TYPES.values())], Field(discriminator="type")]


class Handlers(BaseModel):
    """Where the journey goes on channel events. Each is a node id."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    no_answer: str | None = None  # the call was not answered (runs with no live call)
    machine: str | None = None  # an answering machine picked up (leave a message)
    hangup: str | None = None  # the contact hung up mid-call (runs with no live call)


class Param(BaseModel):
    """One parameter of a flow used as a subflow: its value is ``vars.NAME`` inside the flow.
    ``params: {attempts: 3}`` is shorthand for ``{attempts: {default: 3}}``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    default: Any = None
    required: bool = False
    description: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, raw: Any) -> Any:
        if isinstance(raw, dict) and raw and set(raw) <= {"default", "required", "description"}:
            return raw
        return {"default": raw}

    @model_validator(mode="after")
    def _consistent(self) -> Param:
        if self.required and "default" in self.model_fields_set and self.default is not None:
            raise ValueError("a required parameter has no default")
        return self


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
    timezone: str = "UTC"  # IANA zone of `now` when the contact has no valid `timezone` field
    vars: dict[str, Any] = Field(default_factory=dict)
    params: dict[str, Param] = Field(default_factory=dict)  # the interface, as a subflow
    returns: tuple[str, ...] = ()  # results this flow sets for its parent
    on: Handlers = Field(default_factory=Handlers)
    nodes: tuple[NodeDefinition, ...] = Field(min_length=1)

    @field_validator("channels", mode="before")
    @classmethod
    def _channel_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [value]  # `channels: voice` means the one channel
        if not isinstance(value, (list, tuple)):
            raise ValueError("channels is a list of channels: [voice, sms, whatsapp]")
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        if not is_zone(value):
            raise ValueError(f"{value!r} is not an IANA time zone (like Europe/London or Asia/Riyadh)")
        return value

    @field_validator("params", "vars")
    @classmethod
    def _names(cls, value: dict[str, Any]) -> dict[str, Any]:
        for name in value:
            if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", str(name)):
                raise ValueError(f"{name!r} is not a valid name (letters, digits, _)")
        return value

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
