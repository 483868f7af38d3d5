"""WhatsApp template fallbacks in the flow language: a ``send`` with both text and a template
carries both (free-form inside the 24-hour window, the template outside: the bridge chooses), a
question's ``template:`` rides on its ``Send`` whatever form the menu takes, parameters render
as strings, other channels ignore it, and the structural checks of ``quick_replies``."""

from __future__ import annotations

from typing import Any

import pytest

from tests.flow.helpers import NOW, REPO, flow_from
from voiceplatform.exceptions import FlowValidationError
from voiceplatform.flow import Channel, Input, analyse_flow, resume, start
from voiceplatform.flow.loader import analyse_flow_text
from voiceplatform.flow.outputs import Send
from voiceplatform.flow.render import ChannelLimits

QUESTION = """
spec_version: 1
name: q
start: ask
nodes:
  - id: ask
    type: gather
    text: "Hello @first_name, will you come?"
    template: {{name: reminder, language: ar, params: ["@first_name", 120], quick_replies: {keys}}}
    choices: {choices}
    exits: {{no_input: bye, no_match: bye}}
  - {{id: bye, type: end}}
"""
TWO = '[{key: "1", label: "Yes", next: bye}, {key: "2", label: "No", next: bye}]'
FIVE = "[" + ", ".join(f'{{key: "{n}", label: "Option {n}", next: bye}}' for n in range(1, 6)) + "]"
TEMPLATE = {"name": "reminder", "language": "ar", "params": ["Ann", "120"], "quick_replies": ["1", "2"]}


def _send(step: Any) -> Send:
    sends = [output for output in step.outputs if isinstance(output, Send)]
    assert len(sends) == 1, step.outputs
    return sends[0]


def test_a_send_with_text_and_template_carries_both() -> None:
    flow = flow_from("""
        spec_version: 1
        name: s
        channels: [whatsapp]
        start: receipt
        nodes:
          - id: receipt
            type: send
            text: "Thanks {{ contact.first_name }}"
            template: {name: receipt, params: ["{{ contact.first_name }}", 42]}
    """)
    send = _send(start(flow, {"first_name": "Ann"}, "whatsapp", now=NOW))
    assert send.text == "Thanks Ann"
    assert send.template == {"name": "receipt", "language": "en", "params": ["Ann", "42"]}
    assert send.to_dict()["template"]["params"] == ["Ann", "42"]  # rendered params are strings


def test_a_question_with_buttons_carries_its_template() -> None:
    flow = flow_from(QUESTION.format(keys='["1", 2]', choices=TWO))
    step = start(flow, {"first_name": "Ann"}, "whatsapp", now=NOW)
    send = _send(step)
    assert [button.id for button in send.buttons] == ["1", "2"]
    assert send.text == "Hello Ann, will you come?" and send.template == TEMPLATE
    # A tap on the template's first button sends its payload, the choice key: it answers the question.
    after = resume(flow, step.state, Input.text("1"), now=NOW)
    assert after.state["results"]["ask"]["label"] == "Yes"


def test_a_question_as_a_list_or_as_text_carries_its_template_and_so_does_a_retry() -> None:
    flow = flow_from(QUESTION.format(keys='["1", "2"]', choices=FIVE))
    step = start(flow, {"first_name": "Ann"}, "whatsapp", now=NOW)
    assert _send(step).list_rows and _send(step).template == TEMPLATE
    retry = resume(flow, step.state, Input.text("maybe"), now=NOW)
    assert _send(retry).template == TEMPLATE  # asked again: still a template outside the window
    plain = ChannelLimits(buttons=0, list_rows=0)
    as_text = start(flow, {"first_name": "Ann"}, "whatsapp", now=NOW, channel_limits={Channel.WHATSAPP: plain})
    assert not _send(as_text).buttons and not _send(as_text).list_rows
    assert _send(as_text).template == TEMPLATE


def test_sms_and_voice_ignore_a_questions_template() -> None:
    flow = flow_from(QUESTION.format(keys='["1", "2"]', choices=TWO))
    assert _send(start(flow, {"first_name": "Ann"}, "sms", now=NOW)).template is None
    voice = start(flow, {"first_name": "Ann"}, "voice", now=NOW)
    assert [output.kind for output in voice.outputs] == ["gather"]


@pytest.mark.parametrize("keys, choices, line, column, message", [
    ('["1", "3"]', TWO, 9, 97, "quick_replies names '3', which is not a choice key of the question (its keys: 1, 2)"),
    ('["1"]', "[]", 9, 91, "quick_replies map the template's buttons to choice keys, but the question has no choices"),
])
def test_quick_replies_must_name_the_questions_choice_keys(keys: str, choices: str, line: int, column: int,
                                                           message: str) -> None:
    with pytest.raises(FlowValidationError) as caught:
        flow_from(QUESTION.format(keys=keys, choices=choices))
    [problem] = caught.value.problems
    assert (problem.line, problem.column) == (line, column)
    assert problem.message == f"node 'ask': {message}"


def test_template_fields_are_checked_by_the_schema() -> None:
    with pytest.raises(FlowValidationError) as caught:
        flow_from(QUESTION.format(keys='[""]', choices=TWO))
    assert "quick_replies are choice keys: none may be empty" in str(caught.value)
    with pytest.raises(FlowValidationError) as caught:
        flow_from(QUESTION.format(keys='["1"]', choices=TWO).replace("name: reminder, ", "colour: red, name: reminder, "))
    assert "colour" in str(caught.value)


def _window_warnings(yaml_text: str) -> list[str]:
    flow, problems = analyse_flow_text(yaml_text, "w.yaml", REPO / "ivr_flows")
    assert flow is not None
    return [p.message for p in problems if "24 hours" in p.message]


WINDOW = """
spec_version: 1
name: w
channels: [whatsapp]
start: open
nodes:
  - {id: open, type: send, template: {name: hello}, next: ask}
  - id: ask
    type: gather
    text: Will you come?
    ASK_TEMPLATE
    choices: [{key: "1", label: "Yes"}, {key: "2", label: "No"}]
"""


def test_a_question_with_a_template_fallback_after_a_template_is_not_outside_the_window() -> None:
    assert len(_window_warnings(WINDOW.replace("ASK_TEMPLATE", ""))) == 1
    assert _window_warnings(WINDOW.replace("ASK_TEMPLATE", "template: {name: ask_again}")) == []


def test_the_example_flow_is_clean_and_names_its_templates() -> None:
    flow, problems = analyse_flow(REPO / "ivr_flows" / "whatsapp_appointment_reminder.yaml")
    assert flow is not None and problems == []
