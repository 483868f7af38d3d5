"""The lab against a real Asterisk 22: start, stop, AMI, and every scripted callee.

Each callee is called over a Local channel from a probe (context lab-probe in
dialplans/asterisk/extensions_lab_customers.conf) and judged by the events AMI reports.
"""

from __future__ import annotations

import array
import math
import os
import signal
import time
import uuid
import wave
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.lab.fastagi import AgiChannel, OneCallAgiServer
from tests.lab.probes import originate, probe
from voiceplatform.cli.lab import lab_group
from voiceplatform.lab import down, leases, mounts, process, status, up
from voiceplatform.lab.numbers import numbers_like
from voiceplatform.lab.polling import poll
from voiceplatform.testing.lab_fixture import RunningLab

pytestmark = pytest.mark.integration

CALLEES = [
    "answer-press-1",
    "wrong-then-right",
    "say-yes",
    "silent",
    "busy",
    "no-answer",
    "hangup-mid-prompt",
    "machine",
    "call-me-back",
]


def rms(path: Path) -> tuple[float, float]:
    """(duration in seconds, RMS level 0..1) of a 16-bit mono WAV."""
    with wave.open(str(path)) as wav:
        assert (wav.getnchannels(), wav.getsampwidth()) == (1, 2)
        frames = wav.readframes(wav.getnframes())
        samples = array.array("h", frames)
        seconds = wav.getnframes() / wav.getframerate()
    level = math.sqrt(sum(s * s for s in samples) / max(len(samples), 1)) / 32768
    return seconds, level


# -- the lab itself --------------------------------------------------------------------


def test_up_is_idempotent(asterisk_lab: RunningLab) -> None:
    before = asterisk_lab.state
    report = up(asterisk_lab.settings)
    assert report.already_running
    assert report.state.pid == before.pid
    assert report.state.ami_port == before.ami_port


def test_status_reports_running_asterisk_22(asterisk_lab: RunningLab) -> None:
    report = status(asterisk_lab.settings)
    assert report.running and report.state
    assert report.state.version.startswith("Asterisk 22.")
    result = CliRunner().invoke(lab_group, ["status"])
    assert result.exit_code == 0, result.output
    assert "lab running" in result.output
    assert f"{report.state.ami_host}:{report.state.ami_port}" in result.output
    assert "Asterisk 22." in result.output


def test_ami_login_and_version(asterisk_lab: RunningLab) -> None:
    with asterisk_lab.ami(events="off") as ami:
        settings = ami.request("CoreSettings")
    assert settings["Response"] == "Success"
    assert settings["AsteriskVersion"].startswith("22.")


def test_media_dir_is_bind_mounted_at_the_same_path(asterisk_lab: RunningLab) -> None:
    root = Path(asterisk_lab.state.root)
    assert mounts.is_mounted(root / asterisk_lab.media_dir.relative_to("/"))
    assert mounts.is_mounted(root / "proc") and mounts.is_mounted(root / "dev")


def test_customers_context_has_every_callee(asterisk_lab: RunningLab) -> None:
    with asterisk_lab.ami() as ami:
        action_id = ami.send("ShowDialPlan", Context="customers")
        names = set()
        while True:
            event = ami.wait_event(lambda e: e.get("ActionID") == action_id, 10)
            if event["Event"] == "ShowDialPlanComplete":
                break
            names.add(event.get("Extension"))
    assert set(CALLEES) <= names


# -- the scripted callees ----------------------------------------------------------------


def test_answer_press_1_presses_1(asterisk_lab: RunningLab) -> None:
    with asterisk_lab.ami() as ami:
        call = probe(ami, "answer-press-1", "read")
    assert call.answered
    assert call.report and call.report["Digits"] == "1"
    assert call.report["Tries"] == "1"
    assert call.digits_received == ["1"]


def test_wrong_then_right_presses_9_then_1_after_the_reprompt(asterisk_lab: RunningLab) -> None:
    with asterisk_lab.ami() as ami:
        call = probe(ami, "wrong-then-right", "read")
    assert call.report and call.report["Digits"] == "91"
    assert call.report["Tries"] == "2"


def test_say_yes_is_recorded_as_speech(asterisk_lab: RunningLab) -> None:
    with asterisk_lab.ami() as ami:
        call = probe(ami, "say-yes", "record")
    assert call.report, call
    # The callee goes quiet after "yes": the recording ends on silence, not on its limit.
    assert call.report["Status"] == "SILENCE"
    path = Path(call.report["File"])
    assert path.parent == asterisk_lab.media_dir / "recordings/lab"
    seconds, level = rms(path)
    assert 0.3 < seconds < 4.0
    assert level > 0.01  # speech, not silence (silence is < 0.001)
    path.unlink()


def test_silent_answers_and_says_nothing(asterisk_lab: RunningLab) -> None:
    with asterisk_lab.ami() as ami:
        listened = probe(ami, "silent", "listen", variables={"TIMEOUT": "3"})
        read = probe(ami, "silent", "read", variables={"TIMEOUT": "2", "MAXTRIES": "1"})
    assert listened.answered
    assert listened.report and listened.report["WaitStatus"] == "TIMEOUT"
    assert read.report and read.report["Digits"] == "" and read.report["Tries"] == "1"
    assert read.digits_received == []


def test_busy_is_busy(asterisk_lab: RunningLab) -> None:
    with asterisk_lab.ami() as ami:
        call = probe(ami, "busy", "read")
    assert not call.answered
    assert call.originate and call.originate["Reason"] == "5"  # AST_CONTROL_BUSY
    assert call.callee_hangup and call.callee_hangup["Cause"] == "17"  # user busy


def test_no_answer_rings_until_the_originate_timeout(asterisk_lab: RunningLab) -> None:
    with asterisk_lab.ami() as ami:
        call = probe(ami, "no-answer", "read", ring_timeout=2.0)
    elapsed = time.monotonic() - call.started_at
    assert 1.9 < elapsed < 5.0
    assert not call.answered
    assert call.originate and call.originate["Reason"] == "3"  # ringing, not answered
    assert call.callee_hangup and call.callee_hangup["Cause"] == "19"  # no answer
    assert call.callee_hangup["ChannelStateDesc"] == "Ring"


def test_a_call_me_back_line_misses_a_call_then_answers_the_call_back(asterisk_lab: RunningLab) -> None:
    line, other = numbers_like("call-me-back", 2, offset=uuid.uuid4().int % 999)
    with asterisk_lab.ami() as ami:
        missed = probe(ami, line, "read", ring_timeout=2.0)
        elsewhere = probe(ami, other, "read", ring_timeout=2.0)  # each line keeps its own missed call
        back = probe(ami, line, "read")
        again = probe(ami, line, "read", ring_timeout=2.0)
    for unanswered in (missed, elsewhere, again):
        assert not unanswered.answered
        assert unanswered.originate and unanswered.originate["Reason"] == "3"  # it rang, unanswered
    assert back.answered
    assert back.report and back.report["Digits"] == "1"


def test_hangup_mid_prompt_hangs_up_during_the_first_prompt(asterisk_lab: RunningLab) -> None:
    with asterisk_lab.ami() as ami:
        call = probe(ami, "hangup-mid-prompt", "prompt")
    assert call.answered
    assert call.end and call.end["Stage"] == "prompt"  # the prompt (6 s) never finished
    assert call.report is None
    assert call.callee_hangup and call.callee_hangup["Cause"] == "16"
    assert call.answered_at and call.ended_at
    assert 0.8 < call.ended_at - call.answered_at < 4.0


def test_machine_is_detected_by_amd(asterisk_lab: RunningLab) -> None:
    with asterisk_lab.ami() as ami:
        call = probe(ami, "machine", "amd")
    assert call.report and call.report["AmdStatus"] == "MACHINE", call.report


@pytest.mark.parametrize("callee", ["answer-press-1", "wrong-then-right", "say-yes"])
def test_people_are_human_to_amd(asterisk_lab: RunningLab, callee: str) -> None:
    with asterisk_lab.ami() as ami:
        call = probe(ami, callee, "amd")
    assert call.report and call.report["AmdStatus"] == "HUMAN", call.report


# -- the production contexts ---------------------------------------------------------------


@pytest.mark.parametrize(("callee", "amd"), [("answer-press-1", "HUMAN"), ("machine", "MACHINE")])
def test_outbound_context_runs_amd_then_hands_the_call_to_fastagi(
    asterisk_lab: RunningLab, callee: str, amd: str
) -> None:
    replies: list[str] = []

    def session(headers: dict[str, str], agi: AgiChannel) -> None:
        replies.append(agi.command("GET VARIABLE AMDSTATUS"))
        replies.append(agi.command("GET VARIABLE VP_CUSTOM"))
        if amd == "HUMAN":
            reply = agi.command('STREAM FILE hello-world "0123456789#"')
            if reply.startswith("200 result=0 "):
                reply = agi.command("WAIT FOR DIGIT 8000")
            replies.append(reply)
        agi.command("HANGUP")

    server = OneCallAgiServer(session)
    call_id = uuid.uuid4().hex
    with asterisk_lab.ami() as ami:
        originate(
            ami, callee, "voiceplatform-outbound", "s", call_id=call_id,
            variables={"VP_CALL_ID": call_id, "VP_AGI_ADDRESS": server.address,
                       "VP_CUSTOM": "kept"},
        )
        server.join(30)
        follow_hangup = ami.wait_event(
            lambda e: e.get("Event") == "Hangup" and e.get("Uniqueid") == call_id, 15
        )
    assert server.headers["agi_network_script"] == "flow"
    assert server.headers["agi_arg_1"] == call_id
    assert server.headers["agi_arg_2"] == amd
    assert server.headers["agi_arg_3"]  # AMDCAUSE, e.g. HUMAN-808-800
    assert replies[0] == f"200 result=1 ({amd})"
    assert replies[1] == "200 result=1 (kept)"
    if amd == "HUMAN":
        assert replies[2].startswith("200 result=49")  # '1'
    assert follow_hangup["Uniqueid"] == call_id


def test_native_ivr_reads_a_digit_and_records(asterisk_lab: RunningLab) -> None:
    call_id = uuid.uuid4().hex
    with asterisk_lab.ami() as ami:
        originate(ami, "answer-press-1", "voiceplatform-native-ivr", "s", call_id=call_id)
        ami.wait_event(
            lambda e: e.get("Event") == "Hangup" and e.get("Uniqueid") == call_id, 40
        )
    recording = asterisk_lab.media_dir / "recordings/native" / f"{call_id}.wav"
    assert recording.exists()
    seconds, _ = rms(recording)
    assert seconds < 6.0
    recording.unlink()


# -- stopping, and recovering from a crash (these restart the lab; keep them last) --------


def _alone(lab: RunningLab) -> None:
    """Skip a test that restarts the lab while another session (another pytest) uses it."""
    others = leases.holders(lab.settings.state_dir)
    if others:
        pytest.skip(f"another session uses the lab (pid {others}); not restarting it under it")


def test_down_stops_asterisk_and_unmounts(asterisk_lab: RunningLab) -> None:
    _alone(asterisk_lab)
    state = asterisk_lab.state
    root = Path(state.root)
    report = down(asterisk_lab.settings)
    assert any(str(state.pid) in line for line in report.stopped)
    assert not process.is_alive(state.pid)
    assert [p for p in mounts.mounts_under(root) if p != root] == []
    assert not status(asterisk_lab.settings).running
    assert down(asterisk_lab.settings).stopped == []  # twice is fine
    restarted = up(asterisk_lab.settings)
    assert not restarted.already_running
    assert status(asterisk_lab.settings).running


def test_up_cleans_up_after_asterisk_was_killed(asterisk_lab: RunningLab) -> None:
    _alone(asterisk_lab)
    state = asterisk_lab.state
    os.kill(state.pid, signal.SIGKILL)
    assert poll(lambda: True if not process.is_alive(state.pid) else None, 10)
    report = status(asterisk_lab.settings)
    assert not report.running and report.stale
    restarted = up(asterisk_lab.settings)
    assert not restarted.already_running
    assert restarted.state.pid != state.pid
    with asterisk_lab.ami(events="off") as ami:
        assert ami.request("Ping")["Response"] == "Success"
