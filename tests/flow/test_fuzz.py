"""Property tests: whatever the document, the loader gives a flow or a validation error with
positions, never a crash."""

from __future__ import annotations

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from voiceplatform.exceptions import FlowValidationError
from voiceplatform.flow import load_flow_text
from voiceplatform.flow.nodes import NODE_TYPES

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 5), st.floats(allow_nan=False, width=32),
    st.text(max_size=12), st.sampled_from(["{{ contact.x }}", "{{ oops", "@name", "yes", "on", "1"]),
)
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=20)
node_ids = st.sampled_from(["a", "b", "c", "d"])


@st.composite
def node_documents(draw):  # type: ignore[no-untyped-def]
    node = {"id": draw(node_ids), "type": draw(st.sampled_from([*NODE_TYPES, "bogus"]))}
    for field in draw(st.lists(st.sampled_from([
        "text", "next", "choices", "exits", "cases", "default", "url", "timeout", "retries", "vars",
        "channel", "flow", "number", "prompt", "max_digits", "validate", "fallback", "input",
    ]), max_size=5)):
        node[field] = draw(st.one_of(node_ids, values))
    return node


@st.composite
def flow_documents(draw):  # type: ignore[no-untyped-def]
    document = {
        "spec_version": draw(st.sampled_from([1, 1, 1, 2, "1", None])),
        "name": draw(st.sampled_from(["f", "", "bad name", 3])),
        "start": draw(node_ids),
        "nodes": draw(st.lists(node_documents(), max_size=6)),
    }
    for extra in draw(st.lists(st.sampled_from(["channels", "on", "vars", "language", "surprise"]), max_size=2)):
        document[extra] = draw(values)
    return document


def _load(text: str) -> None:
    try:
        load_flow_text(text, file="fuzz.yaml")
    except FlowValidationError as exc:
        assert exc.problems, "a validation error must list its problems"
        for problem in exc.problems:
            assert problem.file == "fuzz.yaml" and problem.line >= 1 and problem.column >= 1
            assert problem.message


@SETTINGS
@given(st.text(max_size=300))
def test_random_text_never_crashes(text: str) -> None:
    _load(text)


@SETTINGS
@given(st.binary(max_size=200))
def test_random_bytes_never_crash(raw: bytes) -> None:
    _load(raw.decode("utf-8", errors="replace"))


@SETTINGS
@given(flow_documents())
def test_structured_broken_flows_never_crash(document: dict) -> None:  # type: ignore[type-arg]
    _load(yaml.safe_dump(document, allow_unicode=True))


@SETTINGS
@given(flow_documents(), st.integers(0, 400))
def test_truncated_flows_never_crash(document: dict, cut: int) -> None:  # type: ignore[type-arg]
    _load(yaml.safe_dump(document)[:cut])
