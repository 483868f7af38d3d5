"""Issue 12 (the flow language as designers meet it): engine semantics, crashes and the
designer's constructs. One test per numbered item or need, on the behaviour a designer sees."""

from __future__ import annotations

import textwrap
from datetime import datetime, timezone
from pathlib import Path

import pytest

from tests.flow.helpers import NOW, flow_from, texts
from voiceplatform.flow import Input, analyse_flow, resume, start
from voiceplatform.flow.matching import ChoiceIndex
from voiceplatform.flow.template_functions import is_open, parse_date_text


def problems_of(tmp_path: Path, text: str, name: str = "f.yaml") -> list[str]:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    _flow, problems = analyse_flow(path)
    return [f"{p.file.rsplit('/', 1)[-1]}:{p.line}:{p.column}: {p.message}" for p in problems if p.severity == "error"]


def errors(step) -> list[str]:  # type: ignore[no-untyped-def]
    return [e.code for e in step.events if e.kind in ("error", "failure")]


# ---- 1, 6: subflows ----------------------------------------------------------------------------


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


CHILD = """
    spec_version: 1
    name: child
    params:
      tries: {default: 2}
      who: {required: true}
    returns: [ok]
    vars: {greeting: Hi, shared: from-child}
    start: ask
    nodes:
      - {id: ask, type: gather, text: "{{ vars.greeting }} {{ vars.who }} {{ vars.tries }} {{ vars.shared }}", choices: [{key: 1, label: Yes}], next: done}
      - {id: done, type: set, results: {ok: "yes"}}
"""


def _parent(tmp_path: Path, params: str = "{who: \"{{ contact.name }}\"}") -> Path:
    _write(tmp_path, "child.yaml", CHILD)
    return _write(tmp_path, "parent.yaml", f"""
        spec_version: 1
        name: parent
        vars: {{shared: from-parent}}
        start: sub
        on: {{machine: vm, no_answer: missed}}
        nodes:
          - {{id: sub, type: subflow, flow: child.yaml, params: {params}, next: bye}}
          - {{id: bye, type: say, text: "ok={{{{ results.ok }}}}"}}
          - {{id: vm, type: hangup, reason: voicemail}}
          - {{id: missed, type: send, channel: sms, text: missed you}}
    """)


@pytest.mark.parametrize("fact, expected", [({"amd": "machine", "answered": True}, "voicemail"), ({"answered": False}, "end")])
def test_handlers_run_in_the_top_level_flow_when_a_fact_arrives_inside_a_subflow(tmp_path: Path, fact: dict, expected: str) -> None:
    from voiceplatform.flow import load_flow

    flow = load_flow(_parent(tmp_path))
    step = start(flow, {"name": "Ann"}, "voice", now=NOW)
    assert step.state["current_flow"] == "child"
    after = resume(flow, step.state, Input.facts(**fact))
    assert after.ended and after.state["stack"] == [] and after.state["end_reason"] == expected


def test_subflow_params_and_vars_defaults_apply_without_overwriting(tmp_path: Path) -> None:
    from voiceplatform.flow import load_flow

    flow = load_flow(_parent(tmp_path))
    step = start(flow, {"name": "Ann"}, "sms", now=NOW)
    assert texts(step)[0].startswith("Hi Ann 2 from-parent")  # passed, param default, child vars default; parent's kept
    done = resume(flow, step.state, Input.text("yes"))
    assert texts(done) == ["ok=yes"]


def test_subflow_interface_is_checked(tmp_path: Path) -> None:
    _parent(tmp_path, params="{nobody: 1}")
    path = tmp_path / "parent.yaml"
    found = [p.message for p in analyse_flow(path)[1] if p.severity == "error"]
    assert "node 'sub': 'child' has no parameter 'nobody' (its parameters: tries, who)" in found
    assert "node 'sub': 'child' needs parameter 'who'; pass it in params:" in found
    child_alone = [p for p in analyse_flow(tmp_path / "child.yaml")[1] if p.severity == "error"]
    assert child_alone == []  # vars.who and vars.tries are its parameters: no "never set"


# ---- 2, 3: template crashes -------------------------------------------------------------------


def test_index_past_the_end_is_an_error_event_not_a_crash() -> None:
    flow = flow_from("""
        spec_version: 1
        name: t
        vars: {a: [1]}
        start: s
        nodes: [{id: s, type: say, text: "x{{ vars.a[5] }}y"}]
    """)
    step = start(flow, {}, "sms", now=NOW)
    assert texts(step) == ["xy"]
    assert [e.message for e in step.events if e.kind == "error"] == ["undefined in template: [5] (no such item)"]


def test_unknown_filters_and_tests_are_validation_errors_at_their_position(tmp_path: Path) -> None:
    found = problems_of(tmp_path, """
        spec_version: 1
        name: t
        start: b
        nodes:
          - id: b
            type: branch
            cases: [{when: "contact.phone is match('^05')", next: s}]
            default: s
          - id: s
            type: say
            text: >-
              Hello
              {{ contact.name|shout }}
    """)
    assert found == [
        "f.yaml:8:38: node 'b': unknown test 'match' (did you mean 'matching'?)",
        "f.yaml:14:23: node 's': unknown filter 'shout' (did you mean 'sort'?)",
    ]


def test_bad_constant_regex_and_business_hours_are_validation_errors(tmp_path: Path) -> None:
    found = problems_of(tmp_path, """
        spec_version: 1
        name: t
        start: b
        nodes:
          - id: b
            type: branch
            cases:
              - {when: "contact.phone is matching('(')", next: s}
              - {when: "business_hours('Mon-Fry 09:00-17:00')", next: s}
            default: s
          - {id: s, type: say, text: hi}
    """)
    assert any("matching: not a valid regular expression" in p for p in found)
    assert any("business_hours: 'fry' is not a day" in p for p in found)


# ---- 5: choice labels are templates, and menus from data ---------------------------------------

MENU = """
    spec_version: 1
    name: m
    vars: {slots: [{id: a1, label: Sunday 10:00}, {id: b2, label: Monday 11:00}], team: Reception}
    start: pick
    nodes:
      - id: pick
        type: gather
        text: Pick
        choices_from: {items: vars.slots, label: "{{ item.label }}", value: "{{ item.id }}"}
        choices: [{key: 0, label: "Talk to {{ vars.team }}", next: agent}]
        next: done
      - {id: done, type: say, text: "{{ results.pick }} {{ results.pick.label }}"}
      - {id: agent, type: say, text: agent}
"""


def test_labels_are_rendered_on_every_channel() -> None:
    flow = flow_from(MENU)
    voice = start(flow, {}, "voice", now=NOW)
    spoken = voice.outputs[-1].prompts[0].text
    assert "Press 1 for Sunday 10:00." in spoken and "Press 0 for Talk to Reception." in spoken
    whatsapp = start(flow, {}, "whatsapp", now=NOW).outputs[-1]
    assert [(b.id, b.title) for b in whatsapp.buttons] == [("1", "Sunday 10:00"), ("2", "Monday 11:00"), ("0", "Talk to Reception")]
    sms = start(flow, {}, "sms", now=NOW)
    assert 'Reply 2 or "Monday 11:00"' in texts(sms)[0]
    picked = resume(flow, sms.state, Input.text("monday 11:00"))
    assert texts(picked) == ["b2 Monday 11:00"]
    agent = resume(flow, sms.state, Input.text("talk to reception"))
    assert texts(agent) == ["agent"]


def test_the_reply_is_matched_against_the_menu_that_was_shown() -> None:
    flow = flow_from(MENU)
    step = start(flow, {}, "sms", now=NOW)
    state = dict(step.state)
    state["vars"] = {**state["vars"], "slots": []}  # the data changed after the question was asked
    picked = resume(flow, state, Input.text("1"))
    assert picked.state["results"]["pick"]["value"] == "a1"


def test_an_empty_dynamic_menu_takes_no_match() -> None:
    flow = flow_from("""
        spec_version: 1
        name: m
        vars: {slots: []}
        start: pick
        nodes:
          - {id: pick, type: gather, text: Pick, choices_from: vars.slots, next: done, exits: {no_match: none}}
          - {id: done, type: say, text: done}
          - {id: none, type: say, text: nothing free}
    """)
    step = start(flow, {}, "sms", now=NOW)
    assert texts(step) == ["nothing free"] and "no_choices" in errors(step)


# ---- 7, 13: hangup reason, transfer announcement ----------------------------------------------


def test_hangup_reason_is_reported_and_announcement_is_spoken() -> None:
    flow = flow_from("""
        spec_version: 1
        name: h
        channels: [voice]
        start: t
        nodes:
          - {id: t, type: transfer, number: "+15550100", announcement: Connecting you now, next: h, exits: {failed: h}}
          - {id: h, type: hangup, reason: "{{ 'busy' if results.t != 'completed' else 'transferred' }}"}
    """)
    step = start(flow, {}, "voice", now=NOW)
    assert texts(step) == ["Connecting you now"]
    busy = resume(flow, step.state, Input.transfer_result("busy"))
    assert busy.state["end_reason"] == "busy" and busy.outputs[-1].reason == "busy"


# ---- 9, 10: matching --------------------------------------------------------------------------


@pytest.mark.parametrize("reply, key", [
    ("8 please", "8"), ("I'd say 8", "8"), ("I'd say eight", "8"), ("Morning please", "1"),
    ("1 for morning", "1"), ("8 or 2", None), ("Morning, 2", None), ("9", None),
])
def test_digits_inside_a_longer_reply(reply: str, key: str | None) -> None:
    index = ChoiceIndex.build([("1", "Morning", ()), ("2", "Afternoon", ()), ("8", "Evening", ())])
    found = index.match(reply)
    assert (None if found is None else ["1", "2", "8"][found]) == key


def test_a_dtmf_only_gather_treats_speech_as_no_match() -> None:
    flow = flow_from("""
        spec_version: 1
        name: d
        channels: [voice]
        start: g
        nodes:
          - {id: g, type: gather, input: [dtmf], text: Press 1, choices: [{key: 1, label: Yes}], next: ok}
          - {id: ok, type: say, text: ok}
    """)
    step = start(flow, {}, "voice", now=NOW)
    again = resume(flow, step.state, Input.speech("yes", 0.99))
    assert again.state["attempt"] == 1 and texts(again)[0] == "Sorry, I didn't understand that."
    assert texts(resume(flow, again.state, Input.digits("1"))) == ["ok"]


# ---- 14: positions ----------------------------------------------------------------------------


def test_error_positions(tmp_path: Path) -> None:
    found = problems_of(tmp_path, """
        spec_version: 1
        name: p
        channels: voice
        start: g
        nodes:
          - id: g
            type: gather
            text: >-
              First line
              second {{ vars.nope }} line
            choices:
              - {key: 1, label: A}
              - {key: 1, label: B}
            next: b
          - id: b
            type: branch
            cases: [{when: "results.g == '1' and", next: s}]
            default: s
          - {id: s, type: say, text: ok}
    """)
    assert found == [
        "f.yaml:11:22: node 'g': vars.nope is never set",
        "f.yaml:14:15: node 'g': choice key '1' is used twice (first by choice 1)",
        "f.yaml:18:20: node 'b': template syntax error: the condition ends with 'and': something must follow it",
    ]
    assert any("channels is a list of channels" in p for p in problems_of(tmp_path, """
        spec_version: 1
        name: p
        channels: 5
        start: s
        nodes: [{id: s, type: say, text: ok}]
    """))


# ---- dates, regex and normalisation -----------------------------------------------------------


@pytest.mark.parametrize("typed", ["21111962", "21/11/1962", "21-11-62", "21.11.1962", "21 11 1962", "1962-11-21", "٢١١١١٩٦٢"])
def test_parse_date_reads_what_callers_type(typed: str) -> None:
    assert parse_date_text(typed, NOW).isoformat() == "1962-11-21"


@pytest.mark.parametrize("typed", ["31021962", "99/99/1999", "hello", "", "2111196"])
def test_parse_date_refuses_what_is_not_a_date(typed: str) -> None:
    assert parse_date_text(typed, NOW) is None


def test_business_hours() -> None:
    monday_9 = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)
    assert is_open("Mon-Fri 09:00-17:00", monday_9)
    assert not is_open("Mon-Fri 09:00-17:00", monday_9.replace(hour=17))
    assert not is_open("Sat-Sun 10:00-12:00", monday_9)
    assert is_open("Fri-Mon 08:00-10:00", monday_9)  # a range that wraps the week
    assert not is_open("Mon-Fri 09:00-17:00", monday_9, closed=["2026-01-05"])


def test_now_comes_from_the_drivers_clock_in_the_contacts_time_zone() -> None:
    flow = flow_from("""
        spec_version: 1
        name: clock
        timezone: Europe/London
        start: b
        nodes:
          - id: b
            type: branch
            cases:
              - {when: "business_hours('Mon-Fri 09:00-17:00') and contact.phone|digits is matching('^9665[0-9]{8}$')", next: open}
            default: shut
          - {id: open, type: say, text: "open {{ now.strftime('%H:%M') }} {{ (today + days(1))|date('%a') }}"}
          - {id: shut, type: say, text: "shut {{ now.strftime('%H:%M') }}"}
    """)
    riyadh = start(flow, {"timezone": "Asia/Riyadh", "phone": "+966 50 123 4567"}, "sms", now=NOW)
    assert texts(riyadh) == ["open 12:30 Tue"]
    london_early = start(flow, {"phone": "+966501234567"}, "sms", now=NOW.replace(hour=8))
    assert texts(london_early) == ["shut 08:30"]
    wrong_number = start(flow, {"phone": "0501234567"}, "sms", now=NOW)
    assert texts(wrong_number) == ["shut 09:30"]


# ---- bounded loops ----------------------------------------------------------------------------


def test_counter_loops_are_accepted_and_true_infinite_loops_rejected(tmp_path: Path) -> None:
    counter = """
        spec_version: 1
        name: loop
        vars: {n: 0}
        start: say
        nodes:
          - {id: say, type: say, text: "turn {{ vars.n }}", next: count}
          - {id: count, type: set, vars: {n: "{{ vars.n|int + 1 }}"}, next: check}
          - id: check
            type: branch
            cases: [{when: "%s", next: %s}]
            default: %s
          - {id: out, type: say, text: done}
    """
    assert problems_of(tmp_path, counter % ("vars.n|int >= 3", "out", "say")) == []
    assert problems_of(tmp_path, counter % ("vars.n|int < 3", "say", "out")) == []
    assert problems_of(tmp_path, counter % ("vars.n|int > 0 or true", "say", "out"))  # no bound on the staying case
    assert problems_of(tmp_path, counter % ("vars.n < 3", "say", "out"))  # without |int a failed comparison falls through
    flow = flow_from(counter % ("vars.n|int < 3", "say", "out"))
    assert texts(start(flow, {}, "sms", now=NOW)) == ["turn 0", "turn 1", "turn 2", "done"]


def test_max_visits_bounds_a_loop(tmp_path: Path) -> None:
    text = """
        spec_version: 1
        name: mv
        start: a
        nodes:
          - {id: a, type: say, text: again, max_visits: 3, on_max_visits: out, next: b}
          - {id: b, type: set, vars: {x: "1"}, next: a}
          - {id: out, type: say, text: done}
    """
    assert problems_of(tmp_path, text) == []
    assert problems_of(tmp_path, text.replace(", on_max_visits: out", ", on_max_visits: b").replace("- {id: out, type: say, text: done}", ""))
    step = start(flow_from(text), {}, "sms", now=NOW)
    assert texts(step) == ["again", "again", "again", "done"] and step.state["visits"] == {"mv:a": 4}


# ---- send.channel -----------------------------------------------------------------------------


def test_a_branch_on_session_channel_satisfies_the_send_check(tmp_path: Path) -> None:
    text = """
        spec_version: 1
        name: s
        start: where
        nodes:
          - id: where
            type: branch
            cases: [{when: "session.channel == 'voice'", next: by_sms}]
            default: here
          - {id: by_sms, type: send, channel: sms, text: receipt}
          - {id: here, type: send, text: receipt}
    """
    assert problems_of(tmp_path, text) == []
    unguarded = text.replace("session.channel == 'voice'", "contact.x == 'voice'")
    assert any("'here' (send) cannot run on voice" in p for p in problems_of(tmp_path, unguarded))


def test_a_templated_send_channel() -> None:
    flow = flow_from("""
        spec_version: 1
        name: s
        channels: [voice]
        start: send
        nodes:
          - {id: send, type: send, channel: "{{ 'whatsapp' if contact.wa else 'sms' }}", text: hi, next: bad}
          - {id: bad, type: send, channel: "{{ 'voice' }}", text: no}
    """)
    step = start(flow, {"wa": True}, "voice", now=NOW)
    assert [o.channel for o in step.outputs if o.kind == "send"] == ["whatsapp"]
    assert "bad_channel" in errors(step)
