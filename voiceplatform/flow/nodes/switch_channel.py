"""``switch_channel``: carry the journey on over another channel. From a call to SMS or WhatsApp,
the call ends and the bridge of the new channel sends what follows. To voice, the platform places
a call: the session waits for ``Input.facts(answered=...)``; an answer takes ``next``, no answer
takes ``no_answer``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from voiceplatform.flow.channels import Channel
from voiceplatform.flow.inputs import Input, InputKind
from voiceplatform.flow.nodes.base import WAIT, NodeBase, Outcome, register
from voiceplatform.flow.outputs import Hangup, SwitchChannel

if TYPE_CHECKING:
    from voiceplatform.flow.run import Run


@register
class SwitchChannelNode(NodeBase):
    type: Literal["switch_channel"] = "switch_channel"
    channel: Literal["voice", "sms", "whatsapp"]

    waits = True
    exit_names = ("next", "no_answer")
    accepts = frozenset({InputKind.FACTS})

    def enter(self, run: Run) -> Outcome:
        target = Channel(self.channel)
        previous = run.channel
        if target is previous and (run.live or target.is_messaging):
            return "next"
        if previous is Channel.VOICE and run.live:
            run.emit(Hangup("channel_switch"))
        run.emit(SwitchChannel(target.value, previous.value))
        run.switch_channel(target)
        if target is Channel.VOICE:
            run.go_offline()
            run.wait("call", None)
            return WAIT
        return "next"

    def resume(self, run: Run, given: Input) -> Outcome:
        if given.data.get("answered") is True:
            run.clear_wait()
            run.state["live"] = run.live = True
            return "next"
        if given.data.get("answered") is False:
            run.clear_wait()
            return "no_answer"
        return WAIT
