"""Validation: every problem is reported as file:line:col with a clear message."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from voiceplatform.exceptions import FlowValidationError
from voiceplatform.flow import analyse_flow, load_flow


def problems_of(tmp_path: Path, text: str, prompts: dict[str, str] | None = None) -> list[str]:
    path = tmp_path / "flows" / "f.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip())
    if prompts is not None:
        (tmp_path / "prompts").mkdir(exist_ok=True)
        (tmp_path / "prompts" / "en.yaml").write_text("\n".join(f"{k}: {v}" for k, v in prompts.items()))
    _flow, problems = analyse_flow(path)
    return [str(problem).replace(str(path), "f.yaml") for problem in problems]


def test_yaml_syntax_error_names_line(tmp_path: Path) -> None:
    (problem,) = problems_of(tmp_path, "spec_version: 1\nname: x\nnodes: [\n")
    assert problem.startswith("f.yaml:4:1: YAML: while parsing a flow ")  # the rest is libyaml's wording


def test_schema_errors_point_at_the_field(tmp_path: Path) -> None:
    found = problems_of(tmp_path, """
        spec_version: 1
        name: bad
        start: a
        nodes:
          - id: a
            type: say
            next: b
          - id: b
            type: gather
            text: Pick
            retries: lots
            colour: red
          - id: c
            type: teleport
    """)
    assert "f.yaml:5:5: node 'a': say needs text, prompt or audio" in found
    assert "f.yaml:11:14: node 'b': retries: Input should be a valid integer, unable to parse string as an integer" in found
    assert "f.yaml:12:13: node 'b': unknown field 'colour'" in found
    assert any(p.startswith("f.yaml:14:11: node 'c': unknown node type 'teleport'") for p in found)


def test_missing_spec_version_and_duplicate_keys(tmp_path: Path) -> None:
    assert problems_of(tmp_path, "name: x\nstart: a\nnodes: []\n") == [
        "f.yaml:1:1: spec_version is required (this platform reads 1)"
    ]
    assert problems_of(tmp_path, "spec_version: 1\nname: x\nname: y\n") == ["f.yaml:3:1: duplicate key 'name'"]
    assert problems_of(tmp_path, "spec_version: 7\nname: x\n") == [
        "f.yaml:1:15: unsupported spec_version 7 (this platform reads 1 to 1)"
    ]


def test_graph_problems(tmp_path: Path) -> None:
    found = problems_of(tmp_path, """
        spec_version: 1
        name: graph
        start: a
        nodes:
          - {id: a, type: say, text: hi, next: nowhere}
          - {id: lonely, type: say, text: never}
          - {id: a, type: end}
    """)
    assert "f.yaml:5:40: node 'a': exit 'next' goes to unknown node 'nowhere'" in found
    assert "f.yaml:6:10: node 'lonely' is never reached" in found
    assert "f.yaml:7:10: duplicate node id 'a'" in found


def test_loop_with_no_input_is_found(tmp_path: Path) -> None:
    found = problems_of(tmp_path, """
        spec_version: 1
        name: spin
        start: a
        vars: {n: 0}
        nodes:
          - {id: a, type: set, vars: {n: "{{ vars.n|int + 1 }}"}, next: b}
          - id: b
            type: branch
            cases: [{when: "vars.n|int < 10", next: a}]
            default: c
          - {id: c, type: gather, text: ok?, next: a}
    """)
    assert found == []  # a counter loop its branch provably ends (issue 12): accepted
    found = problems_of(tmp_path, """
        spec_version: 1
        name: spin
        start: a
        vars: {n: 0}
        nodes:
          - {id: a, type: set, vars: {n: "{{ vars.n|int - 1 }}"}, next: b}
          - id: b
            type: branch
            cases: [{when: "vars.n|int < 10", next: a}]
            default: c
          - {id: c, type: gather, text: ok?, next: a}
    """)
    assert len(found) == 1 and found[0].startswith("f.yaml:6:5: loop with no input: a → b → a")


def test_channel_problems_and_fallbacks(tmp_path: Path) -> None:
    found = problems_of(tmp_path, """
        spec_version: 1
        name: ch
        channels: [voice, sms]
        start: ask
        nodes:
          - {id: ask, type: gather, text: {voice: Press a key.}, max_digits: 1, next: agent}
          - {id: agent, type: transfer, number: "+15550001", fallback: rec, exits: {failed: rec}}
          - {id: rec, type: record, text: Speak after the beep}
          - {id: hello, type: say, text: {voice: Hello caller.}, fallback: ask}
    """)
    assert found == [
        "f.yaml:6:35: node 'ask': text has no text for sms and no default",
        "f.yaml:8:21: node 'rec' (record) cannot run on sms; add a fallback or take sms out of channels",
        "f.yaml:9:10: node 'hello' is never reached",
    ]  # the transfer's fallback covers sms, so only the record is reported


def test_offline_nodes_after_no_answer(tmp_path: Path) -> None:
    found = problems_of(tmp_path, """
        spec_version: 1
        name: off
        channels: [voice]
        start: hi
        on: {no_answer: hi}
        nodes:
          - {id: hi, type: say, text: hello}
    """)
    assert found == ["f.yaml:7:20: node 'hi' (say) cannot run on voice after the call has ended; add a fallback or take voice out of channels"]


def test_templates_variables_and_prompts(tmp_path: Path) -> None:
    found = problems_of(tmp_path, """
        spec_version: 1
        name: tpl
        contact_fields: [first_name]
        start: a
        nodes:
          - {id: a, type: say, text: "Hi {{ contact.first_name }} {{ contact.surname }}", next: b}
          - {id: b, type: say, text: "{{ results.age }} {{ vars.tier }} {{ secret }}", next: c}
          - {id: c, type: say, text: "{{ oops", next: d}
          - {id: d, type: say, prompt: welcome, next: e}
          - {id: e, type: say, prompt: known}
    """, prompts={"known": "Known prompt"})
    assert found == [
        "f.yaml:6:70: node 'a': contact.surname is not a declared contact field",  # at the word itself (issue 12)
        "f.yaml:7:42: node 'b': results.age is never set",
        "f.yaml:7:57: node 'b': vars.tier is never set",
        "f.yaml:7:68: node 'b': undefined variable 'secret'",
        "f.yaml:8:30: node 'c': template syntax error: unexpected end of template, expected 'end of print statement'.",
        f"f.yaml:9:32: node 'd': prompt 'welcome' is missing from {tmp_path / 'prompts' / 'en.yaml'}",
    ]


def test_dtmf_keys_and_whatsapp_titles(tmp_path: Path) -> None:
    found = problems_of(tmp_path, """
        spec_version: 1
        name: keys
        start: a
        nodes:
          - id: a
            type: gather
            text: Pick
            choices:
              - {key: yes, label: A label far longer than twenty characters}
    """)
    assert "f.yaml:9:15: node 'a': key 'yes' cannot be pressed on a phone keypad" in found
    assert "f.yaml:9:27: warning: node 'a': label is longer than WhatsApp's 20 characters and will be shortened" in found


def test_load_flow_raises_with_all_errors_and_ignores_warnings(tmp_path: Path) -> None:
    path = tmp_path / "f.yaml"
    path.write_text("spec_version: 1\nname: x\nstart: a\nnodes:\n  - {id: a, type: say}\n  - {id: b, type: wait, timeout: -1}\n")
    with pytest.raises(FlowValidationError) as caught:
        load_flow(path)
    assert [(p.line, p.column) for p in caught.value.problems] == [(5, 5), (6, 34)]
    assert str(caught.value).splitlines()[0] == f"{path}:5:5: node 'a': say needs text, prompt or audio"
    path.write_text("spec_version: 1\nname: x\nstart: a\nnodes:\n  - {id: a, type: gather, text: Pick, choices: [{key: '1', label: A label longer than twenty}]}\n")
    assert load_flow(path).name == "x"  # a warning alone does not stop loading


@pytest.mark.parametrize("name", ["payment_reminder", "satisfaction_survey", "appointment_confirmation"])
def test_example_flows_are_clean(name: str) -> None:
    root = Path(__file__).resolve().parents[2]
    flow, problems = analyse_flow(root / "ivr_flows" / f"{name}.yaml")
    assert flow is not None and problems == []
