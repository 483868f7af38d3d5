"""Issue 10 in the engine: YAML bombs, flow size and node count, template limits, confined
paths, loops with no exit (rows 2, 4, 5, 11, 13)."""

from __future__ import annotations

import os
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.flow.helpers import NOW, flow_from, texts
from voiceplatform import limits
from voiceplatform.exceptions import FlowLimitError, FlowValidationError
from voiceplatform.flow import analyse_flow, load_flow_text, start
from voiceplatform.flow.template_guard import TemplateLimitError
from voiceplatform.flow.templates import TemplateFailure, compile_text, limit_error, render
from voiceplatform.flow.yaml_source import load_yaml

LOL = ", ".join(["lol"] * 9)
# 9 levels of 9 aliases each: 9**9 = 387 million values once expanded; under 450 bytes.
BILLION_LAUGHS = "a: &a [" + LOL + "]\n" + "".join(
    f"{this}: &{this} [{', '.join(['*' + prev] * 9)}]\n" for prev, this in zip("abcdefgh", "bcdefghi")
)


@pytest.fixture
def limit_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """Change VOICEPLATFORM_LIMIT_* for one test, then restore the limits in force."""
    yield monkeypatch
    monkeypatch.undo()
    limits.reload()


def _measured(action):  # type: ignore[no-untyped-def]
    tracemalloc.start()
    began = time.process_time()
    try:
        with pytest.raises(FlowValidationError) as caught:
            action()
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return caught.value, peak, time.process_time() - began


# ---- row 4: YAML aliases ----------------------------------------------------------------------


def test_billion_laughs_is_refused_before_expansion() -> None:
    assert len(BILLION_LAUGHS.encode()) < 450
    error, peak, cpu = _measured(lambda: load_yaml(BILLION_LAUGHS, "bomb.yaml"))
    assert isinstance(error, FlowLimitError) and error.limit == "max_yaml_values"
    [problem] = error.problems
    assert problem.file == "bomb.yaml" and problem.line > 1
    assert "max_yaml_values" in problem.message and "VOICEPLATFORM_LIMIT_MAX_YAML_VALUES" in problem.message
    assert peak < 20_000_000 and cpu < 2.0  # generous: expanding it would take gigabytes


def test_too_many_aliases_names_the_limit_and_where() -> None:
    text = "base: &b x\nitems:\n" + "".join("  - *b\n" for _ in range(101))
    with pytest.raises(FlowLimitError) as caught:
        load_yaml(text, "f.yaml")
    assert caught.value.limit == "max_yaml_aliases"
    assert str(caught.value).startswith("f.yaml:3:")
    assert "more than 100 aliases (max_yaml_aliases, set by VOICEPLATFORM_LIMIT_MAX_YAML_ALIASES)" in str(caught.value)
    load_yaml("base: &b x\nitems:\n" + "".join("  - *b\n" for _ in range(100)), "f.yaml")  # 100 is fine


def test_aliases_can_be_switched_off_and_recursion_is_refused(limit_env: pytest.MonkeyPatch) -> None:
    with pytest.raises(FlowValidationError, match="contains it"):
        load_yaml("a: &a [*a]\n", "f.yaml")
    limit_env.setenv("VOICEPLATFORM_LIMIT_MAX_YAML_ALIASES", "0")
    limits.reload()
    with pytest.raises(FlowLimitError, match="more than 0 aliases"):
        load_yaml("a: &a 1\nb: *a\n", "f.yaml")


def test_merge_keys_still_work() -> None:
    data, _ = load_yaml("a: &x {k: 1}\nb:\n  <<: *x\n  j: 2\n", "f.yaml")
    assert data["b"] == {"k": 1, "j": 2}


# ---- row 11: flow size and node count --------------------------------------------------------


def test_a_flow_over_max_flow_bytes_is_refused_before_parsing() -> None:
    text = "spec_version: 1\n# " + "x" * 600_000 + "\n"
    with pytest.raises(FlowLimitError) as caught:
        load_flow_text(text, "big.yaml")
    assert caught.value.limit == "max_flow_bytes"
    assert "at most 524,288 are allowed (max_flow_bytes, set by VOICEPLATFORM_LIMIT_MAX_FLOW_BYTES)" in str(caught.value)


def test_a_flow_file_over_max_flow_bytes_is_a_problem(tmp_path: Path) -> None:
    (tmp_path / "big.yaml").write_text("# " + "x" * 600_000 + "\n")
    flow, problems = analyse_flow(tmp_path / "big.yaml")
    assert flow is None and [p.message.split(";")[0] for p in problems] == ["the flow is 600,003 bytes"]


def test_25000_nodes_are_counted_before_validating_any(limit_env: pytest.MonkeyPatch) -> None:
    limit_env.setenv("VOICEPLATFORM_LIMIT_MAX_FLOW_BYTES", "5000000")
    limits.reload()
    body = "".join(f"  - {{id: n{i}, type: hangup}}\n" for i in range(25_000))
    text = "spec_version: 1\nname: big\nstart: n0\nnodes:\n" + body
    error, _peak, _cpu = _measured(lambda: load_flow_text(text, "big.yaml"))
    assert isinstance(error, FlowLimitError) and error.limit == "max_flow_nodes"
    assert [str(p) for p in error.problems] == [
        "big.yaml:5:3: the flow has 25,000 nodes; at most 2,000 are allowed (max_flow_nodes, set by VOICEPLATFORM_LIMIT_MAX_FLOW_NODES)"
    ]


# ---- row 5: templates ----------------------------------------------------------------------------

BOMBS = {
    "{% for a in 'x' * 60000 %}{% for b in 'x' * 60000 %}{{ a }}{% endfor %}{% endfor %}": "max_template_loop_iterations",
    "{{ 9 ** (9 ** 9) }}": "max_template_power_exponent",
    "{{ 'a' * 10 ** 10 }}": "max_template_repeat_size",
    "{{ [1] * 10 ** 9 }}": "max_template_repeat_size",
    "{{ (2 ** 900) * (2 ** 900) * (2 ** 900) * (2 ** 900) * (2 ** 900) }}": "max_template_int_bits",
    "{{ 'x' * 60000 }}{{ 'x' * 60000 }}": "max_template_output_chars",
}


@pytest.mark.parametrize(("source", "limit"), BOMBS.items())
def test_validation_refuses_constant_bombs(source: str, limit: str) -> None:
    message = limit_error(source)
    assert message is not None and limit in message and f"VOICEPLATFORM_LIMIT_{limit.upper()}" in message


RUNTIME_BOMBS = {
    "{% for a in contact.s %}{% for b in contact.s %}{% for c in contact.s %}x{% endfor %}{% endfor %}{% endfor %}": "max_template_loop_iterations",
    "{{ 9 ** contact.n }}": "max_template_power_exponent",
    "{{ contact.s * contact.n }}": "max_template_repeat_size",
    "{{ [1] * contact.n }}": "max_template_repeat_size",
    "{{ contact.s|center(contact.n) }}": "max_template_output_chars",
    "{{ contact.s.center(contact.n) }}": "max_template_output_chars",
    "{{ ('{:>' ~ contact.n ~ '}').format(1) }}": "max_template_output_chars",
    "{{ ('%0' ~ contact.n ~ 'd') % 1 }}": "max_template_output_chars",
    "{{ contact.s.replace('', contact.s * 300) }}": "max_template_output_chars",
    "{{ ([contact.s * 300] * 300)|join }}": "max_template_output_chars",
    "{% set ns = namespace(s='x') %}{% for i in range(60) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}": "max_template_output_chars",
    "{% for i in range(contact.n) %}{% endfor %}": "max_template_loop_iterations",
    "{% for i in contact.s %}{{ contact.s * 300 }}{% endfor %}": "max_template_output_chars",
    "{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(60) }}": "max_template_seconds",
}


@pytest.mark.parametrize(("source", "limit"), RUNTIME_BOMBS.items())
def test_runtime_bombs_fail_with_the_limit_and_bounded_memory(source: str, limit: str) -> None:
    context = {"contact": {"s": "x" * 200, "n": 10 ** 9}}
    assert limit_error(source) is None  # nothing constant to refuse: it passes validation
    tracemalloc.start()
    try:
        with pytest.raises(TemplateFailure) as caught:
            render(source, context)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert limit in str(caught.value) and f"VOICEPLATFORM_LIMIT_{limit.upper()}" in str(caught.value)
    assert peak < 20_000_000


def test_compiling_a_bomb_does_not_fold_it() -> None:
    renderer = compile_text("{{ 9 ** (9 ** 9) }}")  # Jinja's optimiser would compute this
    with pytest.raises(TemplateLimitError, match="max_template_power_exponent"):
        renderer({})


def test_lists_cannot_grow_in_place_and_recursive_loops_are_refused() -> None:
    with pytest.raises(TemplateFailure, match="unsafe"):
        render("{% set l = [1] %}{% for i in range(40) %}{{ l.extend(l) }}{% endfor %}", {})
    with pytest.raises(TemplateFailure, match="recursive loops are not allowed"):
        render("{% for x in [1] recursive %}{{ loop([1]) }}{% endfor %}", {})


def test_ordinary_templates_still_render() -> None:
    source = "{% for item in contact.things %}{{ loop.index }}:{{ item|upper }} {% endfor %}{{ 2 ** 10 }} {{ 'ab' * 3 }} {{ '%05d' % 42 }} {{ '{:>6}'.format('x') }}"
    out, missed = render(source, {"contact": {"things": ["a", "b"]}})
    assert out == "1:A 2:B 1024 ababab 00042      x" and missed == []


def test_a_limit_hit_at_run_time_is_an_error_event_and_the_run_goes_on() -> None:
    flow = flow_from("""
spec_version: 1
name: bomb
channels: [sms]
start: a
nodes:
  - {id: a, type: say, text: "{% for a in contact.s %}{% for b in contact.s %}x{% endfor %}{% endfor %}", next: b}
  - {id: b, type: say, text: after, next: c}
  - {id: c, type: hangup}
""")
    step = start(flow, {"s": "y" * 200}, "sms", now=NOW)
    errors = [e for e in step.events if e.kind == "error"]
    assert [e.code for e in errors] == ["template_error"] and "max_template_loop_iterations" in errors[0].message
    assert "after" in texts(step)


def test_publishing_validation_refuses_a_constant_bomb() -> None:
    text = "spec_version: 1\nname: b\nchannels: [sms]\nstart: a\nnodes:\n  - {id: a, type: say, text: \"{{ 'a' * 10 ** 10 }}\", next: c}\n  - {id: c, type: hangup}\n"
    with pytest.raises(FlowValidationError) as caught:
        load_flow_text(text, "b.yaml")
    assert "b.yaml:6:30: node 'a': template limit: repeating 1 items 10,000,000,000 times" in str(caught.value)


# ---- row 2: paths a flow names -------------------------------------------------------------------

SUBFLOW = """spec_version: 1
name: parent
channels: [sms]
start: go
nodes:
  - {{id: go, type: subflow, flow: "{path}", next: done}}
  - {{id: done, type: hangup}}
"""

PROMPTS = """spec_version: 1
name: parent
channels: [sms]
prompts: "{path}"
start: done
nodes:
  - {{id: done, type: hangup}}
"""

OUTSIDE = "is outside the flow's folders"


def _messages(folder: Path, template: str, path: str) -> list[str]:
    (folder / "f.yaml").write_text(template.format(path=path))
    _flow, problems = analyse_flow(folder / "f.yaml")
    return [str(p) for p in problems if p.severity == "error"]


@pytest.fixture
def flows(tmp_path: Path) -> Path:
    folder = tmp_path / "account" / "flows"
    folder.mkdir(parents=True)
    (tmp_path / "secret.yaml").write_text("spec_version: 1\nname: secret\nstart: x\nnodes: [{id: x, type: hangup}]\n")
    os.symlink(tmp_path / "secret.yaml", folder / "link.yaml")
    os.symlink(tmp_path, folder / "linked_dir")
    return folder


@pytest.mark.parametrize("path", ["/etc/passwd", "../../etc/passwd", "/proc/self/environ", "/etc/shadow",
                                  "/etc/does-not-exist", "../../secret.yaml", "link.yaml", "linked_dir/secret.yaml",
                                  "~root/.bashrc"])
def test_subflow_paths_stay_inside_the_flow_folders(flows: Path, path: str) -> None:
    assert _messages(flows, SUBFLOW, path) == [f"{flows / 'f.yaml'}:6:35: subflow {path!r} {OUTSIDE} (paths are relative to the flow file and stay inside its folder or its prompts folder)"]


@pytest.mark.parametrize("path", ["/etc", "../../../../etc", "/proc/self", "linked_dir", "/nonexistent"])
def test_prompts_paths_stay_inside_the_flow_folders(flows: Path, path: str) -> None:
    [message] = _messages(flows, PROMPTS, path)
    assert message.startswith(f"{flows / 'f.yaml'}:4:10: prompts {path!r} {OUTSIDE}")


def test_paths_inside_the_folders_still_work(flows: Path) -> None:
    (flows / "shared").mkdir()
    (flows / "shared" / "child.yaml").write_text("spec_version: 1\nname: child\nchannels: [sms]\nstart: x\nnodes: [{id: x, type: say, text: hi}]\n")
    assert _messages(flows, SUBFLOW, "shared/child.yaml") == []
    assert _messages(flows, SUBFLOW, "shared/../shared/child.yaml") == []
    (flows.parent / "prompts").mkdir()
    assert _messages(flows, PROMPTS, "../prompts") == []  # the prompts folder found from the flow
    (flows / "a_dir.yaml").mkdir()
    assert _messages(flows, SUBFLOW, "a_dir.yaml") == [f"{flows / 'f.yaml'}:6:35: subflow file 'a_dir.yaml' not found"]


def test_a_catalogue_symlinked_outside_is_refused(tmp_path: Path) -> None:
    (tmp_path / "flows" / "prompts").mkdir(parents=True)
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "en.yaml").write_text("welcome: stolen\n")
    os.symlink(tmp_path / "elsewhere" / "en.yaml", tmp_path / "flows" / "prompts" / "en.yaml")
    (tmp_path / "flows" / "f.yaml").write_text("spec_version: 1\nname: f\nchannels: [sms]\nstart: a\nnodes:\n  - {id: a, type: say, prompt: welcome}\n")
    _flow, problems = analyse_flow(tmp_path / "flows" / "f.yaml")
    messages = [p.message for p in problems]
    assert f"prompts file {OUTSIDE} (paths are relative to the flow file and stay inside its folder or its prompts folder)" in messages
    assert not any("stolen" in m for m in messages)


# ---- row 13: loops with no exit --------------------------------------------------------------------

GATHER_LOOP = """spec_version: 1
name: loop
channels: [voice, sms]
start: ask
nodes:
  - id: ask
    type: gather
    text: Press 1
    retries: 0
    choices: [{{key: "1", label: One, next: bye}}]
    exits: {{no_input: {no_input}}}
{extra}
  - {{id: bye, type: hangup}}
"""


def _loop_problems(tmp_path: Path, no_input: str, extra: str = "") -> list[str]:
    (tmp_path / "loop.yaml").write_text(GATHER_LOOP.format(no_input=no_input, extra=extra))
    _flow, problems = analyse_flow(tmp_path / "loop.yaml")
    return [p.message for p in problems if "loop" in p.message]


def test_a_gather_whose_no_input_leads_back_to_itself_is_refused(tmp_path: Path) -> None:
    assert _loop_problems(tmp_path, "ask") == [
        "loop with no exit when the contact does not answer: ask → ask (wire no_input or timeout somewhere else, or count attempts and branch out)"
    ]


def test_a_longer_silent_cycle_is_refused(tmp_path: Path) -> None:
    extra = "  - {id: again, type: say, text: Once more, next: ask}"
    assert _loop_problems(tmp_path, "again", extra) == [
        "loop with no exit when the contact does not answer: ask → again → ask (wire no_input or timeout somewhere else, or count attempts and branch out)"
    ]


def test_a_counted_loop_that_branches_out_is_accepted(tmp_path: Path) -> None:
    extra = """  - {id: count, type: set, vars: {tries: "{{ (vars.tries|int) + 1 }}"}, next: check}
  - id: check
    type: branch
    cases: [{when: "vars.tries|int >= 3", next: bye}]
    default: ask"""
    text = GATHER_LOOP.format(no_input="count", extra=extra).replace("start: ask", "vars: {tries: 0}\nstart: ask")
    (tmp_path / "loop.yaml").write_text(text)
    _flow, problems = analyse_flow(tmp_path / "loop.yaml")
    assert [p.message for p in problems if p.severity == "error"] == []
