"""Engine behaviour: inputs, retries, state, errors in three tiers, guards, subflows, channels."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from tests.flow.helpers import NOW, flow_from, texts
from voiceplatform.exceptions import (
    ChannelNotSupportedError,
    InvalidInputError,
    SessionEndedError,
    StateError,
)
from voiceplatform.flow import Input, Limits, SessionStatus, dump_state, resume, start

MENU = """
spec_version: 1
name: menu
start: ask
nodes:
  - id: ask
    type: gather
    text: "Hi @first_name. Choose."
    input: [dtmf, speech]
    retries: 1
    choices:
      - {key: "1", label: Sales, synonyms: [buy], next: sales}
      - {key: "2", label: Support, next: support}
    exits: {no_input: bye, no_match: bye}
  - {id: sales, type: say, text: "Sales it is, {{ contact.first_name }}.", next: bye}
  - {id: support, type: say, text: Support it is., next: bye}
  - {id: bye, type: say, text: Bye., next: end}
  - {id: end, type: hangup}
"""


@pytest.fixture
def menu():  # type: ignore[no-untyped-def]
    return flow_from(MENU)


def test_voice_menu_by_key(menu) -> None:  # type: ignore[no-untyped-def]
    step = start(menu, {"first_name": "Ann"}, "voice", now=NOW)
    assert step.status is SessionStatus.WAITING
    gather = step.outputs[-1]
    assert gather.kind == "gather" and gather.max_digits == 1 and gather.barge_in
    assert "Press 1 or say Sales" not in gather.prompts[0].text
    assert gather.prompts[0].text.startswith("Hi Ann. Choose. For Sales, press 1 or say Sales.")
    step = resume(menu, step.state, Input.digits("1"), now=NOW)
    assert texts(step) == ["Sales it is, Ann.", "Bye."]
    assert [o.kind for o in step.outputs][-1] == "hangup"
    assert step.status is SessionStatus.COMPLETED
    assert step.state["results"]["ask"]["value"] == "1"
    assert step.state["results"]["ask"]["label"] == "Sales"


def test_speech_matches_synonym_and_keeps_confidence(menu) -> None:  # type: ignore[no-untyped-def]
    step = start(menu, {}, "voice", now=NOW)
    step = resume(menu, step.state, Input.speech("I want to BUY something", 0.71), now=NOW)
    result = step.state["results"]["ask"]
    assert result["value"] == "1" and result["confidence"] == 0.71 and result["input"] == "I want to BUY something"


def test_no_match_retries_then_takes_exit(menu) -> None:  # type: ignore[no-untyped-def]
    step = start(menu, {}, "voice", now=NOW)
    step = resume(menu, step.state, Input.digits("9"), now=NOW)
    assert step.status is SessionStatus.WAITING
    assert step.outputs[0].attempt == 2
    assert step.outputs[0].prompts[0].text == "Sorry, I didn't understand that."
    step = resume(menu, step.state, Input.digits("8"), now=NOW)
    assert texts(step) == ["Bye."] and step.path == ["bye", "end"]


def test_sms_menu_text_and_reply_by_label(menu) -> None:  # type: ignore[no-untyped-def]
    step = start(menu, {"first_name": "Ann"}, "sms", now=NOW)
    assert step.outputs[-1].text == 'Hi Ann. Choose.\nReply 1 or "Sales"\nReply 2 or "Support"'
    assert step.wait["timeout"] == 86400
    step = resume(menu, step.state, Input.text("  support!! "), now=NOW + timedelta(hours=5))
    assert texts(step) == ["Support it is.", "Bye."]
    assert all(o.kind == "send" and o.channel == "sms" for o in step.outputs)


def test_whatsapp_renders_buttons_list_or_text() -> None:
    def flow_with(count: int):  # type: ignore[no-untyped-def]
        choices = ", ".join(f'{{key: "{i}", label: "Option {i}"}}' for i in range(1, count + 1))
        return flow_from(f"""
            spec_version: 1
            name: many
            channels: [whatsapp]
            start: ask
            nodes:
              - {{id: ask, type: gather, text: Pick one, choices: [{choices}]}}
        """)

    three = start(flow_with(3), {}, "whatsapp", now=NOW).outputs[-1]
    assert [b.title for b in three.buttons] == ["Option 1", "Option 2", "Option 3"] and not three.list_rows
    ten = start(flow_with(10), {}, "whatsapp", now=NOW).outputs[-1]
    assert len(ten.list_rows) == 10 and not ten.buttons and ten.list_button == "Choose"
    # More than ten: pages of nine rows and a "More options" row (issue 12); the last page holds the rest.
    first = start(flow_with(11), {}, "whatsapp", now=NOW)
    rows = first.outputs[-1].list_rows
    assert [r.id for r in rows] == [str(n) for n in range(1, 10)] + ["__more"] and rows[-1].title == "More options"
    second = resume(flow_with(11), first.state, Input.text("__more"))
    assert [r.id for r in second.outputs[-1].list_rows] == ["10", "11"] and second.state["attempt"] == 0
    picked = resume(flow_with(11), second.state, Input.text("Option 3"))  # any item matches, on any page
    assert picked.state["results"]["ask"]["value"] == "3"


def test_free_input_with_finish_key_and_regex() -> None:
    flow = flow_from("""
        spec_version: 1
        name: pin
        channels: [voice]
        start: pin
        nodes:
          - id: pin
            type: gather
            text: Enter your PIN then hash.
            max_digits: 6
            min_digits: 4
            finish_on_key: "#"
            validate: "[0-9]{4,6}"
            retries: 0
            store: pin
            next: ok
            exits: {no_match: bad}
          - {id: ok, type: say, text: "PIN {{ results.pin }} accepted."}
          - {id: bad, type: say, text: Invalid.}
    """)
    step = resume(flow, start(flow, {}, "voice", now=NOW).state, Input.digits("1234#"), now=NOW)
    assert texts(step) == ["PIN 1234 accepted."]
    step = resume(flow, start(flow, {}, "voice", now=NOW).state, Input.digits("12#"), now=NOW)
    assert texts(step) == ["Invalid."]


def test_state_is_plain_json_and_resumes_from_text(menu) -> None:  # type: ignore[no-untyped-def]
    step = start(menu, {"first_name": "Ann"}, "sms", now=NOW, session_id="s-1")
    stored = dump_state(step.state)
    assert json.loads(stored)["v"] == 1
    before = json.loads(stored)
    later = resume(menu, stored, Input.text("1"), now=NOW + timedelta(days=1))
    assert texts(later)[0] == "Sales it is, Ann."
    assert later.state["session"] == "s-1"
    assert json.loads(stored) == before  # the caller's state is never mutated
    assert json.loads(json.dumps(later.state)) == later.state


def test_hangup_mid_gather_keeps_results_and_ends(menu) -> None:  # type: ignore[no-untyped-def]
    step = start(menu, {}, "voice", now=NOW)
    step = resume(menu, step.state, Input.hangup("NORMAL_CLEARING"), now=NOW)
    assert step.status is SessionStatus.INTERRUPTED and step.state["end_reason"] == "hangup"
    assert step.state["call"]["hangup_cause"] == "NORMAL_CLEARING"
    assert not step.outputs


def test_hangup_handler_sends_sms_after_the_call() -> None:
    flow = flow_from("""
        spec_version: 1
        name: h
        channels: [voice]
        start: ask
        on: {hangup: sorry}
        nodes:
          - {id: ask, type: gather, text: Choose, choices: [{key: "1", label: One}], next: done}
          - {id: sorry, type: send, channel: sms, text: "Sorry we got cut off. Call us back."}
          - {id: done, type: hangup}
    """)
    step = resume(flow, start(flow, {}, "voice", now=NOW).state, Input.hangup(), now=NOW)
    assert [(o.kind, o.channel) for o in step.outputs] == [("send", "sms")]
    assert step.status is SessionStatus.COMPLETED


def test_misuse_raises_documented_errors(menu) -> None:  # type: ignore[no-untyped-def]
    step = start(menu, {}, "voice", now=NOW)
    with pytest.raises(InvalidInputError):
        resume(menu, step.state, Input.http_response(200), now=NOW)
    done = resume(menu, step.state, Input.digits("2"), now=NOW)
    with pytest.raises(SessionEndedError):
        resume(menu, done.state, Input.digits("1"), now=NOW)
    with pytest.raises(StateError):
        resume(menu, "{not json", Input.digits("1"))
    with pytest.raises(StateError):
        resume(menu, {**step.state, "v": 99}, Input.digits("1"))
    with pytest.raises(StateError):
        resume(menu, {**step.state, "flow": "other"}, Input.digits("1"))
    with pytest.raises(StateError):
        resume(menu, {**step.state, "node": "gone"}, Input.digits("1"))
    voice_only = flow_from("""
        spec_version: 1
        name: v
        channels: [voice]
        start: s
        nodes: [{id: s, type: say, text: hi}]
    """)
    with pytest.raises(ChannelNotSupportedError):
        start(voice_only, {}, "sms")


def test_template_problems_are_events_and_the_run_goes_on() -> None:
    flow = flow_from("""
        spec_version: 1
        name: t
        start: a
        nodes:
          - {id: a, type: say, text: "Total {{ 10 / (contact.count|int) }}", next: b}
          - {id: b, type: say, text: "Hi {{ contact.nickname }}!"}
    """)
    step = start(flow, {"count": "0"}, "sms", now=NOW)
    codes = [e.code for e in step.events if e.kind == "error"]
    assert codes == ["template_error", "undefined_variable"]
    assert texts(step) == ["", "Hi !"] or texts(step) == ["Hi !"]
    assert step.status is SessionStatus.COMPLETED


def test_step_guard_fails_the_session_with_a_clear_event() -> None:
    nodes = "\n".join(
        f"  - {{id: n{i}, type: set, vars: {{x: {i}}}, next: n{i + 1}}}" for i in range(20)
    )
    flow = flow_from(f"spec_version: 1\nname: long\nstart: n0\nvars: {{x: 0}}\nnodes:\n{nodes}\n  - {{id: n20, type: end}}\n")
    step = start(flow, {}, "sms", now=NOW, limits=Limits(max_steps_per_resume=10))
    failure = [e for e in step.events if e.kind == "failure"]
    assert step.status is SessionStatus.FAILED and failure[0].code == "too_many_steps"
    assert start(flow, {}, "sms", now=NOW).status is SessionStatus.COMPLETED


def test_subflow_enters_and_returns(tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "child.yaml").write_text("""
spec_version: 1
name: child
start: ask
nodes:
  - {id: ask, type: gather, text: Card number?, max_digits: 4, store: card, next: done}
  - {id: done, type: end}
""")
    (tmp_path / "parent.yaml").write_text("""
spec_version: 1
name: parent
start: go
nodes:
  - {id: go, type: subflow, flow: child.yaml, next: after}
  - {id: after, type: say, text: "Card ending {{ results.card }}."}
""")
    from voiceplatform.flow import load_flow

    flow = load_flow(tmp_path / "parent.yaml")
    step = start(flow, {}, "voice", now=NOW)
    assert step.state["current_flow"] == "child" and step.state["stack"] == [{"flow": "parent", "node": "go"}]
    step = resume(flow, step.state, Input.digits("4242"), now=NOW)
    assert texts(step) == ["Card ending 4242."]
    assert [e.kind for e in step.events if e.kind.startswith("flow_")] == ["flow_exited"]


def test_recursive_subflow_hits_the_depth_guard(tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "loop.yaml").write_text("""
spec_version: 1
name: loop
start: ask
nodes:
  - {id: ask, type: gather, text: again?, choices: [{key: "1", label: Again}], next: again}
  - {id: again, type: subflow, flow: loop.yaml}
""")
    from voiceplatform.flow import load_flow

    flow = load_flow(tmp_path / "loop.yaml")
    limits = Limits(max_subflow_depth=3)
    step = start(flow, {}, "voice", now=NOW, limits=limits)
    for _ in range(3):
        step = resume(flow, step.state, Input.digits("1"), now=NOW, limits=limits)
        assert step.status is SessionStatus.WAITING
    step = resume(flow, step.state, Input.digits("1"), now=NOW, limits=limits)
    assert step.status is SessionStatus.FAILED
    assert [e.code for e in step.events if e.kind == "failure"] == ["subflow_too_deep"]


WEBHOOK = """
spec_version: 1
name: hook
start: call_api
nodes:
  - id: call_api
    type: webhook
    method: POST
    url: "https://api.example.com/balance/{{ contact.id }}"
    headers: {Authorization: "Bearer {{ vars.token }}"}
    body: {account: "{{ contact.id }}", n: 3}
    save: {balance: response.json.balance}
    exits: {success: ok, failure: failed}
  - {id: ok, type: say, text: "Balance {{ vars.balance }}"}
  - {id: failed, type: say, text: "Sorry, try later"}
vars: {token: abc}
"""


def test_webhook_emits_request_and_saves_response() -> None:
    flow = flow_from(WEBHOOK)
    step = start(flow, {"id": "42"}, "sms", now=NOW)
    request = step.outputs[-1]
    assert request.kind == "http_request" and request.url == "https://api.example.com/balance/42"
    assert request.headers == {"Authorization": "Bearer abc", "Content-Type": "application/json"}
    assert json.loads(request.body) == {"account": "42", "n": 3}
    assert step.wait["kind"] == "http" and step.wait["timeout"] == 10
    done = resume(flow, step.state, Input.http_response(200, '{"balance": 17.5}'), now=NOW)
    assert done.state["vars"]["balance"] == 17.5 and texts(done) == ["Balance 17.5"]


@pytest.mark.parametrize("given", [Input.http_response(503, "down"), Input.timeout()])
def test_webhook_failure_and_timeout_take_failure(given: Input) -> None:
    flow = flow_from(WEBHOOK)
    step = resume(flow, start(flow, {"id": "1"}, "sms", now=NOW).state, given, now=NOW)
    assert texts(step) == ["Sorry, try later"]


def test_webhook_bad_json_is_an_error_event() -> None:
    flow = flow_from(WEBHOOK)
    step = resume(flow, start(flow, {"id": "1"}, "sms", now=NOW).state, Input.http_response(200, "<html>"), now=NOW)
    assert [e.code for e in step.events if e.kind == "error"] == ["bad_response"]
    assert step.state["vars"]["balance"] is None


def test_switch_to_voice_waits_for_the_call() -> None:
    flow = flow_from("""
        spec_version: 1
        name: callback
        channels: [sms, voice]
        start: offer
        nodes:
          - {id: offer, type: gather, text: Want a call?, choices: [{key: "1", label: Call me}], next: call}
          - {id: call, type: switch_channel, channel: voice, next: hello, exits: {no_answer: missed}}
          - {id: hello, type: say, text: Hello from the call.}
          - {id: missed, type: send, channel: sms, text: We could not reach you.}
    """)
    step = resume(flow, start(flow, {}, "sms", now=NOW).state, Input.text("call me"), now=NOW)
    assert [o.kind for o in step.outputs] == ["switch_channel"] and step.wait["kind"] == "call"
    answered = resume(flow, step.state, Input.facts(answered=True), now=NOW)
    assert texts(answered) == ["Hello from the call."] and answered.outputs[-1].kind == "hangup"
    missed = resume(flow, step.state, Input.facts(answered=False), now=NOW)
    assert [(o.kind, o.channel) for o in missed.outputs] == [("send", "sms")]


def test_unanswered_call_without_handler_ends_interrupted(menu) -> None:  # type: ignore[no-untyped-def]
    step = start(menu, {}, "voice", facts={"answered": False}, now=NOW)
    assert step.status is SessionStatus.INTERRUPTED and step.state["end_reason"] == "no_answer"
    assert not step.outputs


def test_facts_mid_session_are_kept_for_templates(menu) -> None:  # type: ignore[no-untyped-def]
    step = start(menu, {}, "voice", now=NOW)
    step = resume(menu, step.state, Input.facts(amd="human", answered=True), now=NOW)
    assert step.status is SessionStatus.WAITING and step.state["call"]["amd"] == "human"
