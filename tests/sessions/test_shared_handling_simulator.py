"""The simulator on the shared handling: its history, opt-outs and webhook stub come from
voiceplatform.channels.handling, it keeps only reading inputs, and it needs no database."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.flow.helpers import NOW, REPO
from voiceplatform.channels.handling import step_history
from voiceplatform.exceptions import InputRejectedError
from voiceplatform.flow import Input, load_flow
from voiceplatform.simulator import ScriptedInputRefused, SimulatedChannel, simulate

APPOINTMENT = REPO / "ivr_flows" / "appointment_confirmation.yaml"
CONTACT = {"first_name": "Ann", "appointment_id": "77", "appointment_date": "3 May", "appointment_time": "10:00"}


def test_the_simulations_history_is_what_a_stored_session_would_write() -> None:
    simulation = simulate(load_flow(APPOINTMENT), CONTACT, "voice", ["yes"], now=NOW, session_id="s1")
    expected = [entry for exchange in simulation.exchanges for entry in step_history(exchange.step, exchange.given)]
    assert simulation.history == expected
    assert [entry[1] for entry in simulation.history if entry[0] == "input"] == ["speech", "http_response"]


def test_a_webhook_gets_the_stub_reply_through_the_shared_handling_unless_the_script_answers_it() -> None:
    flow = load_flow(APPOINTMENT)
    stubbed = simulate(flow, CONTACT, "voice", ["yes"], now=NOW)
    reply = stubbed.exchanges[-1].given
    assert reply is not None and reply.data["status"] == 200
    assert json.loads(reply.value)["url"].endswith("/appointments/77/confirm")
    scripted = simulate(flow, CONTACT, "voice", ["yes", "timeout"], now=NOW)
    assert scripted.exchanges[-1].given == Input.timeout() and scripted.unused == []


def test_an_opt_out_is_kept_once_with_a_history_entry(tmp_path: Path) -> None:
    flow_text = """
spec_version: 1
name: stop
channels: [sms]
start: ask
nodes:
  - id: ask
    type: gather
    text: Reply STOP to stop
    choices: [{key: "1", label: STOP, next: out}]
  - {id: out, type: opt_out, next: again}
  - {id: again, type: opt_out}
"""
    flow_file = tmp_path / "stop.yaml"
    flow_file.write_text(flow_text)
    simulation = simulate(load_flow(flow_file), {}, "sms", ["stop"], now=NOW)
    assert simulation.opted_out == ["sms"]
    assert [entry for entry in simulation.history if entry[0] == "runtime"] == [
        ("runtime", "opted_out", {"channels": ["sms"]})]  # the second opt-out changed nothing


def test_a_malformed_scripted_input_is_refused_not_a_crash() -> None:
    with pytest.raises(ScriptedInputRefused) as refused:
        simulate(load_flow(APPOINTMENT), CONTACT, "voice", ["yes", "http:abc"], now=NOW)
    assert refused.value.position == 2 and refused.value.raw == "http:abc"


@pytest.mark.parametrize("raw", ["1", {"input": 1}, {"input": "1", "wait": "gather"}, {"input": "1", "from": 5},
                                 {"input": "speech:yes@loud"}])
def test_the_simulated_channel_refuses_what_is_not_an_input(raw: Any) -> None:
    with pytest.raises(InputRejectedError):
        SimulatedChannel("voice").parse_inbound(raw)


def test_the_simulated_channel_reads_inputs_for_its_channel() -> None:
    gather = {"kind": "gather", "node": "menu"}
    call = SimulatedChannel("voice").parse_inbound({"input": "1", "wait": gather, "from": "+15550100"})
    text = SimulatedChannel("sms").parse_inbound({"input": "1", "wait": gather})
    assert (call.channel, call.address, call.input) == ("simulator", "+15550100", Input.digits("1"))
    assert text.input == Input.text("1")


def test_the_simulator_needs_no_database_and_no_gevent() -> None:
    code = ("import sys, json, voiceplatform.simulator;"
            "print(json.dumps(sorted(m for m in sys.modules)))")
    loaded = set(json.loads(subprocess.check_output([sys.executable, "-c", code], cwd=REPO)))
    for module in ("gevent", "voiceplatform.db", "voiceplatform.models", "voiceplatform.sessions", "redis", "flask"):
        assert module not in loaded, f"importing the simulator loaded {module}"
