"""A live call on the shared handling (voiceplatform.channels.handling): its history, sends,
opt-outs and webhooks are what every channel does; the voice runner only controls the call."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tests.switches.scripted_call import ScriptedCall
from voiceplatform.flow import Flow, Input, load_flow
from voiceplatform.flow import outputs as out
from voiceplatform.speech.stt import PocketsphinxRecognizer
from voiceplatform.speech.tts import TextToSpeech
from voiceplatform.switches.call_record import CallRecord
from voiceplatform.switches.recordings import RecordingLayout
from voiceplatform.switches.voice_runner import VoiceRunner, VoiceServices

FLOW = """
spec_version: 1
name: stop_and_tell
channels: [voice, sms]
start: ask
nodes:
  - id: ask
    type: gather
    text: Press 1 to stop our text messages
    choices: [{key: "1", label: stop, next: link}]
  - {id: link, type: send, channel: sms, text: "You will get no more texts", next: out}
  - {id: out, type: opt_out, channel: sms, reason: pressed 1, next: tell}
  - id: tell
    type: webhook
    method: POST
    url: https://crm.example/opt-outs
    timeout: 2
    exits: {success: bye, failure: bye}
  - {id: bye, type: say, text: Goodbye}
"""


@pytest.fixture
def flow(tmp_path: Path) -> Flow:
    path = tmp_path / "stop_and_tell.yaml"
    path.write_text(textwrap.dedent(FLOW))
    return load_flow(path)


def runner_with(tmp_path: Path, answer: tuple[Input, str | None], sent: list[out.Send],
                asked: list[out.HttpRequest]) -> VoiceRunner:
    def perform(request: out.HttpRequest) -> tuple[Input, str | None]:
        asked.append(request)
        return answer

    return VoiceRunner(VoiceServices(tts=TextToSpeech(tmp_path / "tts"), stt=PocketsphinxRecognizer(),
                                     recordings=RecordingLayout(tmp_path / "media"), audio_root=tmp_path,
                                     perform_http=perform, send_message=lambda record, send: sent.append(send)))


def test_a_calls_send_opt_out_and_webhook_go_through_the_shared_handling(flow: Flow, tmp_path: Path) -> None:
    sent: list[out.Send] = []
    asked: list[out.HttpRequest] = []
    runner = runner_with(tmp_path, (Input.http_response(204, ""), None), sent, asked)
    record = runner.run(flow, {}, ScriptedCall([("press", "1")]), CallRecord("call-1", "+15550100", flow.name, "test"))
    assert [send.text for send in sent] == ["You will get no more texts"]  # the injected sender
    assert [request.url for request in asked] == ["https://crm.example/opt-outs"]  # the injected performer
    assert record.opt_outs == ["sms"] and record.errors == []
    kinds = [(entry["kind"], entry["type"]) for entry in record.history]
    # as in a stored session: the step's events and outputs, then what the runtime did about them
    opted, answered = kinds.index(("runtime", "opted_out")), kinds.index(("input", "http_response"))
    assert kinds.index(("output", "opt_out")) < kinds.index(("output", "http_request")) < opted < answered
    assert record.history[opted]["payload"] == {"channels": ["sms"]}
    assert record.final_state["status"] == "completed"


def test_a_calls_failed_webhook_is_in_its_errors_and_in_the_input_it_resumed_with(flow: Flow, tmp_path: Path) -> None:
    failure = "POST https://crm.example/opt-outs failed: connection refused"
    runner = runner_with(tmp_path, (Input.timeout(), failure), [], [])
    record = runner.run(flow, {}, ScriptedCall([("press", "1")]), CallRecord("call-1", "+15550100", flow.name, "test"))
    assert record.errors == [failure]
    resumed = [entry for entry in record.history if entry["kind"] == "input" and entry["type"] == "timeout"]
    assert resumed == [{"kind": "input", "type": "timeout", "payload": {"kind": "timeout", "data": {"error": failure}}}]
    assert record.path[-1] == "bye"  # the failure exit, then on


def test_a_calls_history_is_each_input_then_its_step(flow: Flow, tmp_path: Path) -> None:
    runner = runner_with(tmp_path, (Input.http_response(200, "{}"), None), [], [])
    record = runner.run(flow, {}, ScriptedCall([("press", "1")]), CallRecord("call-1", "+15550100", flow.name, "test"))
    inputs = [entry["type"] for entry in record.history if entry["kind"] == "input"]
    assert inputs == ["digits", "http_response"]
    first_input = next(i for i, entry in enumerate(record.history) if entry["kind"] == "input")
    assert {entry["kind"] for entry in record.history[:first_input]} == {"event", "output"}
    assert record.history[first_input]["payload"] == Input.digits("1").to_dict()
