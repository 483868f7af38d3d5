"""The opt_out step: the engine emits an OptOut output and drops its own later messages to the
contact on those channels; the simulator (a runtime) keeps what the contact opted out of."""

from __future__ import annotations

import textwrap
from pathlib import Path

from tests.flow.helpers import NOW
from voiceplatform.flow import Input, load_flow, resume, start
from voiceplatform.flow.outputs import OptOut
from voiceplatform.simulator import simulate

FLOW = """
spec_version: 1
name: stop
channels: [voice, sms, whatsapp]
start: ask
nodes:
  - id: ask
    type: gather
    text: Reply STOP to stop
    choices: [{key: "1", label: STOP, next: confirm}]
  - {id: confirm, type: say, text: "You are unsubscribed", next: out}
  - {id: out, type: opt_out, reason: "{{ message.text }}", next: after}
  - {id: after, type: send, channel: sms, text: "Should not be sent", next: agent}
  - {id: agent, type: send, channel: sms, to: "+15550199", text: "Contact opted out", next: wa}
  - {id: wa, type: send, channel: whatsapp, text: "WhatsApp still allowed"}
"""


def _flow(tmp_path: Path, text: str = FLOW):  # type: ignore[no-untyped-def]
    path = tmp_path / "stop.yaml"
    path.write_text(textwrap.dedent(text))
    return load_flow(path)


def test_opt_out_emits_the_output_and_suppresses_later_messages_to_the_contact(tmp_path: Path) -> None:
    flow = _flow(tmp_path)
    step = resume(flow, start(flow, {}, "sms", now=NOW).state, Input.text("stop"), now=NOW)
    kinds = [(o.kind, getattr(o, "text", None), getattr(o, "to", None)) for o in step.outputs]
    assert kinds == [
        ("send", "You are unsubscribed", None),  # the confirmation comes first
        ("opt_out", None, None),
        ("send", "Contact opted out", "+15550199"),  # to someone else: sent
        ("send", "WhatsApp still allowed", None),  # another channel: sent
    ]
    opt_out = step.outputs[1]
    assert isinstance(opt_out, OptOut) and opt_out.channels == ("sms",) and opt_out.reason == "stop"
    assert opt_out.to_dict() == {"kind": "opt_out", "channels": ("sms",), "reason": "stop"}
    assert step.state["opted_out"] == ["sms"]
    suppressed = [e.to_dict() for e in step.events if e.kind == "message_suppressed"]
    assert suppressed == [{"kind": "message_suppressed", "node": "after", "channel": "sms", "reason": "opted_out"}]
    assert [e.to_dict()["channels"] for e in step.events if e.kind == "opted_out"] == [("sms",)]


def test_opt_out_of_all_channels_and_templates_see_it(tmp_path: Path) -> None:
    text = FLOW.replace("reason: \"{{ message.text }}\"", "channel: all").replace(
        "text: \"WhatsApp still allowed\"", "text: \"{{ session.opted_out | join(',') }}\"")
    flow = _flow(tmp_path, text)
    step = resume(flow, start(flow, {}, "voice", now=NOW).state, Input.digits("1"), now=NOW)
    sends = [o for o in step.outputs if o.kind == "send"]
    assert [(s.to, s.text) for s in sends] == [("+15550199", "Contact opted out")]  # WhatsApp dropped too
    assert step.state["opted_out"] == ["all"]


def test_the_simulator_applies_opt_outs(tmp_path: Path) -> None:
    flow = _flow(tmp_path, FLOW.replace("reason: \"{{ message.text }}\"", "channel: [sms, whatsapp]"))
    simulation = simulate(flow, {}, "whatsapp", ["1"], now=NOW)
    assert simulation.opted_out == ["sms", "whatsapp"]
    assert simulation.last.state["status"] == "completed"


def test_opt_out_needs_a_known_channel(tmp_path: Path) -> None:
    from voiceplatform.flow import analyse_flow

    path = tmp_path / "bad.yaml"
    path.write_text("spec_version: 1\nname: bad\nstart: a\nnodes:\n  - {id: a, type: opt_out, channel: fax}\n")
    _flow, problems = analyse_flow(path)
    assert problems and all(p.line == 5 for p in problems)
    assert any("channel" in p.message for p in problems)
