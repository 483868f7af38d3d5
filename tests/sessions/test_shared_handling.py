"""The handling every channel shares (voiceplatform.channels.handling), unit level and pure: a
recording runtime stands in for the stored sessions' runner, a live call and the simulator."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any, Sequence

from tests.flow.helpers import REPO
from voiceplatform.channels.handling import (HistoryEntry, SessionRuntime, handle_step, perform_webhook,
                                             step_history)
from voiceplatform.flow import Input, Step
from voiceplatform.flow import outputs as out
from voiceplatform.flow.events import Event, NodeEntered


class Recording:
    """A SessionRuntime that writes down what it is asked, in order."""

    def __init__(self, opted_out: Sequence[str] = (), opt_out_changes: bool = True,
                 answers: dict[str, Input] | None = None) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.history: list[HistoryEntry] = []
        self._opted_out = set(opted_out)
        self._opt_out_changes = opt_out_changes
        self._answers = answers or {}

    def write_history(self, entries: Sequence[HistoryEntry]) -> None:
        self.history.extend(entries)

    def opted_out(self, channel: str) -> bool:
        return channel in self._opted_out

    def send(self, send: out.Send) -> None:
        self.calls.append(("send", send))

    def switch_channel(self, switch: out.SwitchChannel, step: Step) -> None:
        self.calls.append(("switch_channel", (switch.channel, step.state["channel"])))

    def opt_out(self, channels: tuple[str, ...]) -> bool:
        self.calls.append(("opt_out", channels))
        return self._opt_out_changes

    def channel_output(self, output: out.Output) -> Input | None:
        self.calls.append(("channel", output.kind))
        return self._answers.get(output.kind)


def step(*outputs: out.Output, events: tuple[Event, ...] = (), channel: str = "voice",
         wait: dict[str, Any] | None = None) -> Step:
    return Step(tuple(outputs), events, {"channel": channel, "status": "waiting" if wait else "completed",
                                         "wait": wait})


WEBHOOK = out.HttpRequest("POST", "https://crm.example/confirm", {"X-Id": "7"}, '{"id": 7}', 4.0)


def test_the_recording_runtime_is_a_session_runtime() -> None:
    runtime: SessionRuntime = Recording()  # checked by mypy: the stand-in has the real shape
    assert handle_step(step(), runtime) == handle_step(step(), Recording())


def test_history_is_the_input_then_the_events_then_the_outputs_written_before_anything_is_done() -> None:
    class Watching(Recording):  # how much history was written when each output was handled
        def send(self, send: out.Send) -> None:
            self.calls.append(("send", len(self.history)))

        def channel_output(self, output: out.Output) -> Input | None:
            self.calls.append((output.kind, len(self.history)))
            return None

    entered = NodeEntered("menu", "gather", "main")
    made = step(out.Say("Hello"), out.Send("sms", "Your link"), events=(entered,))
    runtime = Watching()
    handle_step(made, runtime, Input.digits("1"))
    assert runtime.calls == [("say", 4), ("send", 4)]
    assert runtime.history == [
        ("input", "digits", {"kind": "digits", "value": "1"}),
        ("event", "node_entered", entered.to_dict()),
        ("output", "say", out.Say("Hello").to_dict()),
        ("output", "send", out.Send("sms", "Your link").to_dict()),
    ]
    assert step_history(made) == runtime.history[1:]  # no input: the runtime wrote it itself


def test_a_webhook_is_collected_never_performed_by_the_handling() -> None:
    runtime = Recording()
    handled = handle_step(step(out.Say("One moment"), WEBHOOK, wait={"kind": "http"}), runtime)
    assert handled.requests == (WEBHOOK,) and handled.given is None
    assert runtime.calls == [("channel", "say")]  # the request is not the channel's output


def test_a_webhook_is_answered_with_the_http_response_of_the_injected_performer() -> None:
    asked: list[out.HttpRequest] = []

    def server(request: out.HttpRequest) -> tuple[Input, str | None]:
        asked.append(request)
        return Input.http_response(201, '{"code": "X1"}', {"Content-Type": "application/json"}), None

    given, error = perform_webhook(WEBHOOK, server)
    assert asked == [WEBHOOK] and error is None
    assert given == Input.http_response(201, '{"code": "X1"}', {"Content-Type": "application/json"})


def test_a_failed_webhook_resumes_with_the_timeout_and_says_why_in_the_input() -> None:
    def unreachable(request: out.HttpRequest) -> tuple[Input, str | None]:
        return Input.timeout(), f"{request.method} {request.url} failed: connection refused"

    given, error = perform_webhook(WEBHOOK, unreachable)
    assert error == "POST https://crm.example/confirm failed: connection refused"
    assert given.kind is Input.timeout().kind and given.data == {"error": error}


def test_a_send_to_another_channel_goes_to_the_injected_sender_in_order() -> None:
    link = out.Send("sms", "Pay here: https://pay.example/1")
    runtime = Recording()
    handle_step(step(out.Say("We sent you a link"), link, out.Say("Goodbye"), out.Hangup("completed")), runtime)
    assert runtime.calls == [("channel", "say"), ("send", link), ("channel", "say"), ("channel", "hangup")]


def test_a_send_to_a_contact_who_opted_out_of_that_channel_is_suppressed_and_kept_in_the_history() -> None:
    to_contact = out.Send("sms", "Reminder")
    to_agent = out.Send("sms", "Contact called", to="+15550199")
    on_whatsapp = out.Send("whatsapp", "Reminder")
    runtime = Recording(opted_out=["sms"])
    handle_step(step(to_contact, to_agent, on_whatsapp), runtime)
    assert runtime.calls == [("send", to_agent), ("send", on_whatsapp)]
    assert ("runtime", "suppressed", {"channel": "sms", "reason": "opted_out"}) in runtime.history
    assert [entry[1] for entry in runtime.history if entry[0] == "runtime"] == ["suppressed"]


def test_switch_channel_hands_the_session_on_with_its_state() -> None:
    runtime = Recording()
    handle_step(step(out.Say("We will text you"), out.SwitchChannel("sms", "voice"), out.Send("sms", "Hi"),
                     channel="sms", wait={"kind": "reply"}), runtime)
    assert runtime.calls == [("channel", "say"), ("switch_channel", ("sms", "sms")),
                             ("send", out.Send("sms", "Hi"))]


def test_an_opt_out_is_applied_and_noted_only_when_it_changed_something() -> None:
    changed, unchanged = Recording(), Recording(opt_out_changes=False)
    made = step(out.OptOut(("sms", "whatsapp"), "stop"))
    handle_step(made, changed)
    handle_step(made, unchanged)
    assert changed.calls == unchanged.calls == [("opt_out", ("sms", "whatsapp"))]
    assert changed.history[-1] == ("runtime", "opted_out", {"channels": ["sms", "whatsapp"]})
    assert [entry[0] for entry in unchanged.history] == ["output"]


def test_the_channels_own_answer_is_the_input_the_step_gives_back() -> None:
    gather = out.Gather(("dtmf",), (out.Say("Press 1"),))
    runtime = Recording(answers={"gather": Input.digits("1")})
    handled = handle_step(step(out.Say("Hello"), gather, wait={"kind": "gather"}), runtime)
    assert handled.given == Input.digits("1") and handled.requests == ()
    assert runtime.calls == [("channel", "say"), ("channel", "gather")]


def test_the_handling_is_pure_it_loads_no_database_socket_or_gevent_library() -> None:
    code = ("import sys, json, voiceplatform.channels.handling;"
            "print(json.dumps(sorted(m for m in sys.modules)))")
    loaded = set(json.loads(subprocess.check_output([sys.executable, "-c", code], cwd=REPO)))
    for library in ("gevent", "sqlalchemy", "redis", "flask", "panoramisk", "greenswitch", "voiceplatform.models",
                    "voiceplatform.db", "voiceplatform.sessions"):
        assert library not in loaded, f"importing the shared handling loaded {library}"
