"""Golden tests: each file in tests/golden/ names a flow, a channel, a contact and scripted inputs,
and holds the expected transcript, outputs per step, and final state. The clock and session id
are fixed. ``pytest --update-golden`` rewrites the expected part from what the engine does now."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.flow.helpers import NOW, REPO
from voiceplatform.flow import load_flow
from voiceplatform.flow.transcript import input_line, output_lines
from voiceplatform.simulator import simulate

GOLDEN = REPO / "tests" / "golden"
CASES = sorted(GOLDEN.rglob("*.yaml"))


def _plain(value: Any) -> Any:
    return json.loads(json.dumps(value, default=list))


def run_case(spec: dict[str, Any]) -> dict[str, Any]:
    flow = load_flow(REPO / "ivr_flows" / spec["flow"])
    simulation = simulate(
        flow, spec.get("contact", {}), spec["channel"], spec.get("inputs", []),
        facts=spec.get("facts"), now=NOW, session_id="golden-session",
    )
    transcript: list[str] = []
    steps = []
    for exchange in simulation.exchanges:
        if exchange.given is not None:
            transcript.append(input_line(exchange.given))
        for output in exchange.step.outputs:
            transcript.extend(output_lines(output))
        steps.append({
            "input": exchange.given.to_dict() if exchange.given else None,
            "path": exchange.step.path,
            "outputs": [output.to_dict() for output in exchange.step.outputs],
            "problems": [event.to_dict() for event in exchange.step.events if event.kind in ("error", "failure")],
            "wait": exchange.step.wait,
        })
    return _plain({"transcript": transcript, "steps": steps, "final_state": simulation.last.state})


@pytest.mark.parametrize("case", CASES, ids=lambda p: str(p.relative_to(GOLDEN)))
def test_golden(case: Path, update_golden: bool) -> None:
    document = yaml.safe_load(case.read_text())
    spec = {key: value for key, value in document.items() if key != "expected"}
    actual = run_case(spec)
    if update_golden:
        case.write_text(yaml.safe_dump({**spec, "expected": actual}, sort_keys=False, allow_unicode=True, width=1000))
        return
    assert "expected" in document, f"{case} has no expected part: run pytest --update-golden"
    expected = document["expected"]
    assert actual["transcript"] == expected["transcript"]
    assert actual["steps"] == expected["steps"]
    assert actual["final_state"] == expected["final_state"]


def test_every_example_flow_has_a_golden_case_on_every_channel() -> None:
    covered = set()
    for case in CASES:
        spec = yaml.safe_load(case.read_text())
        covered.add((spec["flow"], spec["channel"]))
    for path in sorted((REPO / "ivr_flows").glob("*.yaml")):
        flow = load_flow(path)
        for channel in flow.definition.channels:
            assert (path.name, channel.value) in covered, f"no golden case for {path.name} on {channel.value}"
