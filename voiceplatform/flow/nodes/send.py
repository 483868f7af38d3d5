"""``send``: send a message on a messaging channel, from any channel (an SMS from inside a call, a
WhatsApp template after a missed call). ``channel`` defaults to the session's own messaging
channel; on a call it must be given."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterator, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from voiceplatform.flow.channels import Channel
from voiceplatform.flow.nodes.base import NodeBase, Outcome, Path, Text, check_text, register, text_paths
from voiceplatform.flow.outputs import Send

if TYPE_CHECKING:
    from voiceplatform.flow.run import Run


class WhatsAppTemplate(BaseModel):
    """A pre-approved WhatsApp message template, with positional body parameters."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=512)
    language: str = "en"
    params: tuple[str, ...] = ()


@register
class SendNode(NodeBase):
    type: Literal["send"] = "send"
    channel: Literal["sms", "whatsapp"] | None = None
    to: str | None = None
    text: Text | None = None
    template: WhatsAppTemplate | None = None
    media: str | None = None

    @field_validator("text")
    @classmethod
    def _text(cls, value: Text | None) -> Text | None:
        return check_text(value)

    @model_validator(mode="after")
    def _content(self) -> SendNode:
        if not (self.text or self.template or self.media):
            raise ValueError("send needs text, template or media")
        if self.template is not None and self.channel == "sms":
            raise ValueError("templates are WhatsApp only")
        return self

    def texts(self) -> Iterator[tuple[Path, str, bool]]:
        yield from text_paths(("text",), self.text)
        if self.to:
            yield ("to",), self.to, False
        if self.template is not None:
            for position, param in enumerate(self.template.params):
                yield ("template", "params", position), param, False

    def target_channel(self, current: Channel) -> Channel | None:
        if self.channel is not None:
            return Channel(self.channel)
        return current if current.is_messaging else None

    def runs_on(self, channel: Channel, live: bool) -> bool:
        return self.target_channel(channel) is not None

    def enter(self, run: Run) -> Outcome:
        channel = self.target_channel(run.channel)
        assert channel is not None  # runs_on guarantees it
        template: dict[str, Any] | None = None
        if self.template is not None:
            template = {
                "name": self.template.name,
                "language": self.template.language,
                "params": [run.text(param) for param in self.template.params],
            }
        to = run.text(self.to) if self.to else None
        run.emit(Send(channel.value, run.text(self.text), to=to, template=template, media=self.media))
        return "next"
