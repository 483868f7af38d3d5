"""``send``: send a message on a messaging channel, from any channel (an SMS from inside a call, a
WhatsApp template after a missed call). ``channel`` defaults to the session's own messaging
channel; on a call it must be given. It may be a template (``"{{ 'whatsapp' if
contact.whatsapp else 'sms' }}"``): it is rendered when the node runs, an empty result means the
session's channel, and anything but sms or whatsapp is an error event (nothing is sent).

On WhatsApp a send with both ``text`` (or ``media``) and ``template`` is the text inside the
contact's 24-hour window and the template outside it: the ``Send`` output carries both and the
bridge chooses when it sends (``voiceplatform.flow.nodes.whatsapp_template``). A send with only a
template is always the template; one with only text fails outside the window."""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterator, Literal

from pydantic import field_validator, model_validator

from voiceplatform.flow.templates import is_template

from voiceplatform.flow.channels import Channel
from voiceplatform.flow.nodes.base import NodeBase, Outcome, Path, Text, check_text, register, text_paths
from voiceplatform.flow.nodes.whatsapp_template import WhatsAppTemplate
from voiceplatform.flow.outputs import Send

__all__ = ["MESSAGING", "SendNode", "WhatsAppTemplate"]

MESSAGING = ("sms", "whatsapp")

if TYPE_CHECKING:
    from voiceplatform.flow.run import Run


@register
class SendNode(NodeBase):
    type: Literal["send"] = "send"
    channel: str | None = None
    to: str | None = None
    text: Text | None = None
    template: WhatsAppTemplate | None = None
    media: str | None = None

    @field_validator("text")
    @classmethod
    def _text(cls, value: Text | None) -> Text | None:
        return check_text(value)

    @field_validator("channel")
    @classmethod
    def _channel(cls, value: str | None) -> str | None:
        if value is not None and not is_template(value) and value not in MESSAGING:
            raise ValueError(f"channel must be sms or whatsapp (or a template giving one), not {value!r}")
        return value

    @property
    def templated_channel(self) -> bool:
        return self.channel is not None and is_template(self.channel)

    @model_validator(mode="after")
    def _content(self) -> SendNode:
        if not (self.text or self.template or self.media):
            raise ValueError("send needs text, template or media")
        if self.template is not None and self.channel == "sms":
            raise ValueError("templates are WhatsApp only")
        return self

    def texts(self) -> Iterator[tuple[Path, str, bool]]:
        yield from text_paths(("text",), self.text)
        if self.templated_channel:
            yield ("channel",), self.channel, False  # type: ignore[misc]
        if self.to:
            yield ("to",), self.to, False
        if self.template is not None:
            yield from self.template.texts()

    def target_channel(self, current: Channel, rendered: str | None = None) -> Channel | None:
        chosen = rendered if self.templated_channel else self.channel
        if chosen:
            return Channel(chosen) if chosen in MESSAGING else None
        return current if current.is_messaging else None

    def runs_on(self, channel: Channel, live: bool) -> bool:
        if self.templated_channel:
            return True  # known only when it runs (checked then)
        return self.target_channel(channel) is not None

    def enter(self, run: Run) -> Outcome:
        rendered = run.text(self.channel) if self.templated_channel else None
        channel = self.target_channel(run.channel, rendered)
        if channel is None:
            run.error("bad_channel", f"send channel {rendered or run.channel.value!r} is not sms or whatsapp; nothing sent")
            return "next"
        template = self.template.rendered(run) if self.template is not None else None
        to = run.text(self.to) if self.to else None
        run.emit(Send(channel.value, run.text(self.text), to=to, template=template, media=self.media))
        return "next"
