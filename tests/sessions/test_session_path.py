"""The one renderer of a session's rows (voiceplatform.sessions.transcript): the path, part by
part, and the transcript lines. Pure: the rows are built in memory from real engine steps (the
payment reminder), as the store writes them (store.step_entries)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from voiceplatform.flow import Input, Step, load_flow, resume, start
from voiceplatform.flow import outputs as out
from voiceplatform.flow.transcript import input_line, output_lines
from voiceplatform.models.sessions import EventKind, SessionEvent
from voiceplatform.sessions import store
from voiceplatform.sessions.transcript import lines, path
from voiceplatform.settings import paths

FLOW = load_flow(paths().flows_dir / "payment_reminder.yaml")
CONTACT = {"first_name": "Amira", "amount": "$120.50", "due_date": "1 December", "account_id": "AC-1042"}
AT = datetime(2024, 5, 1, 9, 30, tzinfo=timezone.utc)


class History:
    """Rows as the store appends them: numbered from 1, each on the session's channel then."""

    def __init__(self) -> None:
        self.rows: list[SessionEvent] = []
        self.channel = "voice"

    def add(self, kind: EventKind | str, type_: str, payload: Any) -> None:
        self.rows.append(SessionEvent(session_id="s", seq=len(self.rows) + 1, at=AT, kind=str(getattr(kind, "value", kind)),
                                      type=type_, channel=self.channel, payload=payload))

    def step(self, step: Step, given: Input | None = None) -> Step:
        if given is not None:
            self.add(EventKind.INPUT, given.kind.value, given.to_dict())
        for kind, type_, payload in store.step_entries(step):
            self.add(kind, type_, payload)
        return step


def test_a_voice_call_renders_nodes_and_events_in_order_and_the_engine_s_lines() -> None:
    history = History()
    first = history.step(start(FLOW, CONTACT, "voice", session_id="s"))
    said = Input.speech("pay it", 0.9)
    second = history.step(resume(FLOW, first.state, said), said)
    (part,) = path(history.rows)
    assert (part.channel, part.renders_as) == ("voice", None)
    assert [node.id for node in part.nodes] == ["greeting", "menu", "pay", "pay_link_sms", "pay_link_sent", "goodbye",
                                                "hangup"]
    kinds = [(event.kind, event.detail) for event in part.events]
    assert kinds == [("prompt", ""), ("prompt", ""), ("listening", "5s, attempt 1"), ("speech", "90%"),
                     ("message", "sms"), ("prompt", ""), ("prompt", ""), ("system", "")]
    assert part.events[4].text == "Acme Bank: pay $120.50 securely at https://pay.example.com/p/AC-1042"
    gather = first.outputs[1]
    assert isinstance(gather, out.Gather) and part.events[1].text == gather.prompts[0].text
    # the transcript is the engine's wording of every output and input, the gather's prompts included
    expected = [line for output in first.outputs for line in output_lines(output)] + [input_line(said)]
    expected += [line for output in second.outputs for line in output_lines(output)]
    assert [line.line for line in lines(history.rows)] == expected
    assert all(line.channel == "voice" and line.at == AT.isoformat() for line in lines(history.rows))


def test_an_unanswered_call_goes_on_by_sms_as_a_second_part() -> None:
    history = History()
    facts = {"answered": False, "status": "no-answer", "cause": "19"}
    history.add(EventKind.INPUT, "facts", Input.facts(**facts).to_dict())
    step = history.step(start(FLOW, CONTACT, "voice", facts=facts, session_id="s"))
    history.channel = "dev"  # the runner moves the row to the messaging driver, then says so
    history.add(EventKind.RUNTIME, "channel_switched", {"from": "voice", "to": "dev", "renders_as": "sms"})
    history.add(EventKind.RUNTIME, "delivered", {"channel": "dev", "messages": 2})
    reply = Input.text("Pay now")
    history.step(resume(FLOW, step.state, reply), reply)
    voice, sms = path(history.rows)
    assert (voice.channel, voice.renders_as, [n.id for n in voice.nodes]) == ("voice", None, ["missed_call"])
    assert [(e.kind, e.text, e.detail) for e in voice.events] == [
        ("call", "not answered", "no-answer, 19"), ("switch", "voice → sms", "")]
    assert (sms.channel, sms.renders_as) == ("dev", "sms")
    assert [n.id for n in sms.nodes][:2] == ["missed_call_intro", "menu"] and sms.nodes[-1].id == "hangup"
    # the step's messages were written on the voice row before the switch, yet belong to the SMS part
    assert [e.channel for e in sms.events[:2]] == ["voice", "voice"]
    assert [e.kind for e in sms.events] == ["message", "message", "delivered", "reply", "message", "message"]
    assert sms.events[0].text.startswith("Acme Bank: we tried to call you, Amira.")
    assert (sms.events[2].text, sms.events[2].detail) == ("2 messages", "via dev")
    assert sms.to_dict()["nodes"][0] == {"id": "missed_call_intro", "type": "say", "flow": "payment_reminder",
                                         "seq": sms.nodes[0].seq}


def test_messages_say_where_they_went_with_their_buttons() -> None:
    history = History()
    history.add(EventKind.OUTPUT, "send", out.Send(channel="whatsapp", text="Pay?", to="+15550100",
                                                   buttons=(out.Button("pay", "Pay now"),)).to_dict())
    history.add(EventKind.INPUT, "text", {**Input.text("pay").to_dict(), "trigger": True})
    history.add(EventKind.INPUT, "recording", Input.recording("/m/r.wav", 3.5, "it was slow").to_dict())
    history.add(EventKind.RUNTIME, "expired", {"wait": "reply"})
    (part,) = path(history.rows)
    assert [(e.kind, e.text, e.detail) for e in part.events] == [
        ("message", "Pay? [button pay] Pay now", "whatsapp to +15550100"), ("reply", "pay", "started the session"),
        ("recording", "it was slow", "3.5s"), ("system", "expired wait reply", "")]
    assert [line.line for line in lines(history.rows)] == [
        "bot (whatsapp to +15550100): Pay?", "    [button pay] Pay now", "contact: pay",
        "contact (recorded 3.5s): it was slow", "system: expired wait reply"]


def test_rows_that_do_not_rebuild_are_shown_as_they_are_never_an_error() -> None:
    history = History()
    history.add(EventKind.OUTPUT, "beam", {"kind": "beam", "to": "space"})  # a kind from a newer engine
    history.add(EventKind.OUTPUT, "gather", {"kind": "gather", "modes": ["dtmf"], "timeout": "soon", "attempt": 1})
    history.add(EventKind.OUTPUT, "say", ["not", "a", "dict"])
    history.add(EventKind.INPUT, "speech", {"kind": "speech", "value": "yes", "confidence": "high"})
    history.add(EventKind.INPUT, "mind", {"kind": "telepathy"})
    history.add(EventKind.RUNTIME, "delivered", {"channel": "dev", "messages": "many"})
    history.add(EventKind.EVENT, "node_entered", {"kind": "node_entered"})
    history.add(EventKind.EVENT, "channel_changed", "sms")
    history.add("ghost", "boo", {})
    parts = path(history.rows)
    events = [event for part in parts for event in part.events]
    assert [event.kind for event in events] == ["system"] * 7
    assert events[0].text == "output beam: {'kind': 'beam', 'to': 'space'}"
    assert [part.nodes[0].id for part in parts if part.nodes] == ["?"]
    assert [line.line for line in lines(history.rows)] == [
        "system: {'kind': 'beam', 'to': 'space'}",
        "system: {'kind': 'gather', 'modes': ['dtmf'], 'timeout': 'soon', 'attempt': 1}",
        "system: ['not', 'a', 'dict']",
        "system: input {'kind': 'speech', 'value': 'yes', 'confidence': 'high'}",
        "system: input {'kind': 'telepathy'}"]
    assert path([]) == [] and lines([]) == []
