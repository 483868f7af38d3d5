"""``opt_out``: the contact asks to stop ("STOP", "press 9 to stop these calls").

The engine stays pure: it emits an ``OptOut`` output and notes the channels in the session state
(``opted_out``), and from then on drops its own messages to the contact on those channels (a
``message_suppressed`` event). The runtime applies the output to the contact's record
(``voiceplatform.contacts.opt_out``): ``all`` sets ``opted_out_at``; a channel is taken out of the
contact's ``channels``. The dialler skips a contact who opted out, or whose channels lack voice;
the bridges send nothing to a channel the contact left. Say the confirmation *before* the
``opt_out`` node: after it, messages on that channel are no longer sent.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterator, Literal

from pydantic import field_validator

from voiceplatform.flow.nodes.base import NodeBase, Outcome, Path, register
from voiceplatform.flow.outputs import OptOut

if TYPE_CHECKING:
    from voiceplatform.flow.run import Run

OptOutChannel = Literal["sms", "whatsapp", "voice", "all"]


@register
class OptOutNode(NodeBase):
    type: Literal["opt_out"] = "opt_out"
    # One channel, a list of them, or "all". None means the session's channel at that point.
    channel: OptOutChannel | tuple[OptOutChannel, ...] | None = None
    reason: str | None = None  # a template, kept with the opt-out (e.g. "{{ message.text }}")

    @field_validator("channel")
    @classmethod
    def _some(cls, value: object) -> object:
        if isinstance(value, tuple) and not value:
            raise ValueError("channel needs at least one of sms, whatsapp, voice, all")
        return value

    def channels_for(self, current: str) -> tuple[str, ...]:
        if self.channel is None:
            return (current,)
        if isinstance(self.channel, str):
            return (self.channel,)
        return tuple(dict.fromkeys(self.channel))

    def texts(self) -> Iterator[tuple[Path, str, bool]]:
        if self.reason:
            yield ("reason",), self.reason, False

    def enter(self, run: Run) -> Outcome:
        channels = self.channels_for(run.channel.value)
        reason = run.text(self.reason) if self.reason else None
        run.opt_out(channels)
        run.emit(OptOut(channels, reason or None))
        return "next"
