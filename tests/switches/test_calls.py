"""Real calls through both switches: every scripted callee against the example flows.

One suite, parametrised by ``switch``: the real Asterisk lab with Local-channel callees, the same
lab over real SIP and RTP against sipp carriers (``asterisk-sip``: the lab trunk ``lab-carrier``,
one sipp UAS per scenario, ``tests/switches/sip_callees.py``), and the FreeSWITCH emulator
(``voiceplatform.testing.freeswitch``, at ``FS_TIME_SCALE`` real seconds per emulated second).
Over SIP the suite also asserts the SIP exchange in each sipp's own trace and the PCMU packets
that reached each sipp (one raw-socket tap for all of them).
All scenarios are placed at once (as a campaign would), then each test asserts on its own
call: outcome, cause, path, digits and speech, recordings, AMD, and how fast a hang-up ends a
session. What differs between the switches by nature (the words of a cause, the clock of
the callee's timing) is in ``EXPECTED``, never loosened in the assertions.
"""

from __future__ import annotations

import audioop
import re
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import pytest

from tests.switches.lab_calls import (CONTACT, FLOWS, REPO, WebhookServer, flow_with_api, services_with_shared_tts,
                                      unique_account)
from voiceplatform.flow import load_flow
from voiceplatform.speech.audio import sha256_of, wav_duration
from voiceplatform.switches.call_record import CallRecord
from voiceplatform.calls.outcomes import CallOutcome
from voiceplatform.switches.outcomes import from_freeswitch
from voiceplatform.switches.services import default_services
from voiceplatform.testing.packet_tap import PortsTap
from voiceplatform.testing.sipp import Sipp

FS_TIME_SCALE = 0.05  # the emulator runs 20 times faster than real time

SCENARIOS = {
    # name: (flow, callee, extra channel variables, ring timeout)
    "press-1": ("payment_reminder", "answer-press-1", {}, 20),
    "wrong-then-right": ("payment_reminder", "wrong-then-right", {}, 20),
    "say-yes": ("appointment", "say-yes", {}, 20),
    "silent": ("payment_reminder", "silent", {"VP_AMD": "no"}, 20),
    "busy": ("payment_reminder", "busy", {}, 20),
    "no-answer": ("payment_reminder", "no-answer", {}, 6),
    "hangup-mid-prompt": ("satisfaction_survey", "hangup-mid-prompt", {}, 20),
    "machine": ("payment_reminder", "machine", {}, 20),
    "survey-comment": ("satisfaction_survey", "answer-press-1", {}, 20),
    "voicemail-recording": ("leave_message", "say-yes", {"VP_AMD": "no"}, 20),
    "queue-transfer": ("payment_reminder", "answer-press-2", {}, 20),
    "dial-transfer": ("transfer_number", "silent", {"VP_AMD": "no"}, 20),
    "dial-transfer-busy": ("transfer_number", "silent", {"VP_AMD": "no"}, 20),
}
AGENTS = {"dial-transfer": "agent-desk", "dial-transfer-busy": "busy"}


@dataclass(frozen=True)
class Expected:
    """What each switch says in its own words."""

    time_scale: float  # real seconds per second of the callee's script
    cleared: re.Pattern[str]  # the cause of an answered call that ended normally
    busy_cause: str
    no_answer_cause: str


EXPECTED = {
    "asterisk": Expected(1.0, re.compile(r"^16 "), "dial status BUSY", "19 User alerting, no answer"),
    # over SIP the busy cause is the 486's Q.850 cause; the ring timeout's is Asterisk's CANCEL
    "asterisk-sip": Expected(1.0, re.compile(r"^16 "), "17 User busy", "19 User alerting, no answer"),
    "freeswitch": Expected(FS_TIME_SCALE, re.compile(r"^NORMAL_CLEARING$"), "USER_BUSY", "NO_ANSWER"),
}


@dataclass
class SipLegs:
    """The sipp callee of each scenario (by name), and the tap counting the RTP each received."""

    sipps: dict[str, Sipp]
    tap: PortsTap


@dataclass
class Campaign:
    switch: str
    records: dict[str, CallRecord]
    webhook: WebhookServer
    media_dir: Path
    spoken_yes: float  # seconds of the callee's "yes"
    speech_offset: float  # silence before the callee speaks into a recording
    expected: Expected
    sip: SipLegs | None = None

    @property
    def driver(self) -> str:
        """The switch that placed the calls (``asterisk`` for both Asterisk runs)."""
        return self.switch.split("-")[0]


def _flows(tmp: Path, webhook: WebhookServer) -> dict[str, Any]:
    return {
        "payment_reminder": load_flow(FLOWS / "payment_reminder.yaml"),
        "satisfaction_survey": load_flow(FLOWS / "satisfaction_survey.yaml"),
        "appointment": load_flow(flow_with_api(tmp, webhook.url)),
        "leave_message": load_flow(REPO / "tests" / "switches" / "flows" / "leave_message.yaml"),
        "transfer_number": load_flow(REPO / "tests" / "switches" / "flows" / "transfer_number.yaml"),
    }


def _place_all(driver: Any, flows: dict[str, Any], numbers: dict[str, str] | None = None) -> dict[str, CallRecord]:
    """Place every scenario at once; ``numbers`` replaces a scenario's callee (over SIP: the
    port of its sipp)."""
    placed = {
        name: driver.place_call(flows[flow], (numbers or {}).get(name, callee), {**CONTACT, "agent": AGENTS.get(name, "")},
                                variables=variables, timeout=ring)
        for name, (flow, callee, variables, ring) in SCENARIOS.items()
    }
    return {name: call.wait(240) for name, call in placed.items()}


def _sip_campaign(lab: Any, tmp: Path, webhook: WebhookServer) -> Iterator[Campaign]:
    """Every scenario over real SIP: one sipp UAS each, dialled through the lab trunk."""
    from tests.switches import sip_callees
    from voiceplatform.lab.asterisk_config import LAB_SIP_DIAL_TEMPLATE
    from voiceplatform.lab.switch_config import lab_asterisk_config
    from voiceplatform.switches.asterisk import AsteriskDriver
    from voiceplatform.testing import rtp_pcap
    from voiceplatform.testing.sipp import scenario

    media = Path(lab.media_dir).resolve()
    services = services_with_shared_tts(media)
    flows = _flows(tmp, webhook)
    voices = sip_callees.Voices(services.tts)
    sipps: dict[str, Sipp] = {}
    config = lab_asterisk_config(account=unique_account(), dial_template=LAB_SIP_DIAL_TEMPLATE)
    try:
        for name, callee in sip_callees.callees(voices, flows, dict(CONTACT), services.tts).items():
            pcap = rtp_pcap.write_pcap(tmp / "pcaps" / f"{name}.pcap", list(callee.timeline)) if callee.answers else None
            sipps[name] = Sipp(scenario(callee.scenario), tmp / "sipp" / name, keys=callee.sipp_keys(pcap)).start()
        with PortsTap(ports=frozenset(s.media_port for s in sipps.values())) as tap, \
                AsteriskDriver(config, services) as driver:
            records = _place_all(driver, flows, {name: str(s.port) for name, s in sipps.items()})
            yield Campaign("asterisk-sip", records, webhook, media, wav_duration(voices.yes_path), 0.0,
                           EXPECTED["asterisk-sip"], SipLegs(sipps, tap))
    finally:
        for sipp in sipps.values():
            sipp.stop()


_SIPP = pytest.mark.skipif(not Path("/usr/bin/sipp").exists(), reason="sipp (sip-tester) is not installed")


@pytest.fixture(scope="module", params=[pytest.param("asterisk", marks=pytest.mark.integration),
                                        pytest.param("asterisk-sip", marks=[pytest.mark.integration, _SIPP]),
                                        "freeswitch"])
def calls(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Campaign]:
    with pytest.MonkeyPatch.context() as patch:
        # The appointment flow's webhook node calls a local server: opt in, as an on-premises operator would.
        patch.setenv("VOICEPLATFORM_OUTBOUND_ALLOW", "127.0.0.1")
        yield from _campaign(request, tmp_path_factory)


def _campaign(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Campaign]:
    switch = request.param
    tmp = tmp_path_factory.mktemp(f"flows-{switch}")
    if switch == "asterisk-sip":
        from voiceplatform.lab import up

        lab = request.getfixturevalue("asterisk_lab")
        up(lab.settings)
        with WebhookServer() as webhook:
            yield from _sip_campaign(lab, tmp, webhook)
        return
    if switch == "asterisk":
        from voiceplatform.lab.switch_config import lab_asterisk_config
        from voiceplatform.switches.asterisk import AsteriskDriver

        from voiceplatform.lab import up

        lab = request.getfixturevalue("asterisk_lab")
        up(lab.settings)  # idempotent: brings the lab back if an earlier test stopped it
        config = lab_asterisk_config(account=unique_account())
        spoken = wav_duration(Path(lab.state.root) / "usr/share/asterisk/sounds/voiceplatform-lab/yes.wav")
        with WebhookServer() as webhook, AsteriskDriver(config, default_services(config.media_dir)) as driver:
            yield Campaign(switch, _place_all(driver, _flows(tmp, webhook)), webhook, Path(lab.media_dir).resolve(),
                           spoken, 0.0, EXPECTED[switch])
        return
    from voiceplatform.switches.freeswitch import FreeSwitchConfig, FreeSwitchDriver
    from voiceplatform.testing import esl_media
    from voiceplatform.testing.freeswitch import FreeSwitchEmulator

    media = tmp_path_factory.mktemp("fs-media")
    with FreeSwitchEmulator(time_scale=FS_TIME_SCALE) as fs:
        callee = fs.callees.resolve("say-yes")
        spoken = len(esl_media.synthesize(callee.speech or "")) / (esl_media.RATE * esl_media.SAMPLE_WIDTH)
        config = FreeSwitchConfig(esl_port=fs.port, media_dir=media, account=unique_account())
        with WebhookServer() as webhook, FreeSwitchDriver(config, services_with_shared_tts(media)) as driver:
            yield Campaign(switch, _place_all(driver, _flows(tmp, webhook)), webhook, media.resolve(),
                           spoken, callee.speech_offset, EXPECTED[switch])


def test_press_1_pays(calls: Campaign) -> None:
    record = calls.records["press-1"]
    assert record.switch == calls.driver
    assert record.outcome is CallOutcome.ANSWERED and record.amd == "HUMAN"
    assert record.path == ["greeting", "menu", "pay", "pay_link_sms", "pay_link_sent", "goodbye", "hangup"]
    assert "contact: pressed 1" in record.transcript
    assert record.results == {"choice": "1"}
    assert [m["channel"] for m in record.messages] == ["sms"]  # the payment link, sent from the call
    assert calls.expected.cleared.match(record.cause or "") and record.errors == []
    stamps = record.timestamps
    assert stamps["queued"] <= stamps["dialling"] <= stamps["answered"] <= stamps["session_ended"] <= stamps["ended"]
    assert 5 * calls.expected.time_scale < record.billable_seconds < 120


def test_wrong_key_is_re_asked_then_accepted(calls: Campaign) -> None:
    record = calls.records["wrong-then-right"]
    pressed = [line for line in record.transcript if line.startswith("contact: pressed")]
    assert pressed == ["contact: pressed 9", "contact: pressed 1"]
    assert "bot (listening: dtmf/speech, 5s, attempt 2)" in record.transcript
    assert record.results == {"choice": "1"} and record.path[-1] == "hangup"


def test_spoken_yes_confirms_and_calls_the_webhook(calls: Campaign) -> None:
    record, webhook = calls.records["say-yes"], calls.webhook
    said = [line for line in record.transcript if line.startswith("contact (said")]
    # one utterance, recognised as one of the Yes choice's phrases
    assert len(said) == 1, "\n".join([f"{record.outcome} amd={record.amd} cause={record.cause} errors={record.errors}",
                                        f"path={record.path}", *record.transcript])
    answer = record.final_state["results"]["attendance"]
    assert answer["value"] == "1" and answer["label"] == "Yes"
    assert answer["input"] in ("yes", "yeah", "yep", "confirm", "correct", "sure", "y")
    assert record.path == ["greeting", "confirm", "confirmed", "confirmed_message", "goodbye", "hangup"]
    confirm = [r for r in webhook.requests if r["path"] == "/api/appointments/77/confirm"]
    assert len(confirm) == 1 and '"answer":"Yes"' in confirm[0]["body"]
    assert record.final_state["vars"]["confirmation_code"] == "CONF-42"


def test_silence_exhausts_retries(calls: Campaign) -> None:
    record = calls.records["silent"]
    assert record.outcome is CallOutcome.ANSWERED and record.amd is None
    assert record.transcript.count("contact: (no input)") == 3, (record.errors, record.cause, record.transcript[-2:])
    assert record.path == ["greeting", "menu", "goodbye", "hangup"]


def test_busy_and_no_answer_never_start_a_session(calls: Campaign) -> None:
    busy, no_answer = calls.records["busy"], calls.records["no-answer"]
    assert busy.outcome is CallOutcome.BUSY and busy.cause == calls.expected.busy_cause
    assert no_answer.outcome is CallOutcome.NO_ANSWER and no_answer.cause == calls.expected.no_answer_cause
    if calls.switch == "freeswitch":  # the cause is FreeSWITCH's own, and maps to the outcome
        assert from_freeswitch(busy.cause, answered=False) is busy.outcome
        assert from_freeswitch(no_answer.cause, answered=False) is no_answer.outcome
    for record in (busy, no_answer):
        assert record.path == [] and record.billable_seconds == 0 and "answered" not in record.timestamps
    rang = (no_answer.timestamps["ended"] - no_answer.timestamps["dialling"]).total_seconds()
    scale = calls.expected.time_scale
    assert 5 * scale < rang < 15 * scale  # the 6 s ring timeout


def test_hangup_mid_prompt_ends_the_session_within_a_second(calls: Campaign) -> None:
    record = calls.records["hangup-mid-prompt"]
    assert record.final_state["status"] == "interrupted"
    assert record.path[0] == "intro" and record.results == {}
    assert calls.expected.cleared.match(record.cause or "")
    gap = (record.timestamps["session_ended"] - record.timestamps["hangup_reported"]).total_seconds()
    assert gap < 1.0, f"the session ended {gap:.2f}s after the hang-up"


def test_answering_machine_gets_the_voicemail(calls: Campaign) -> None:
    record = calls.records["machine"]
    assert record.outcome is CallOutcome.MACHINE and record.amd == "MACHINE"
    assert record.path == ["voicemail", "hangup"]


def test_survey_comment_is_recorded(calls: Campaign) -> None:
    record = calls.records["survey-comment"]
    assert record.results["rating"] == "1" and record.path[-3:] == ["comment_low", "thanks", "done"], (
        record.errors, record.cause, record.transcript[-4:])
    assert len(record.recordings) == 1
    recording = Path(record.recordings[0].path)
    assert recording.exists() and record.results["comment"] == str(recording)


def test_voicemail_recording_has_the_callers_words(calls: Campaign) -> None:
    record = calls.records["voicemail-recording"]
    assert record.path == ["prompt", "message", "thanks", "done"]
    (info,) = record.recordings
    path = Path(info.path)
    parts = path.relative_to(calls.media_dir).parts
    assert parts[0] == "recordings" and parts[1] == record.account and parts[-1] == f"{record.call_id}.wav"
    assert info.sha256 == sha256_of(path) and info.duration == pytest.approx(wav_duration(path), abs=0.01)
    spoken = calls.spoken_yes + calls.speech_offset
    assert spoken - 0.3 <= info.duration <= spoken + 2.5  # the word, plus at most the silence limit
    with wave.open(str(path)) as audio:
        loudest = max(audioop.rms(audio.readframes(800), 2) for _ in range(max(1, audio.getnframes() // 800)))
    assert loudest > 300, "the recording holds no speech"


def test_press_2_is_transferred_to_the_agents_queue(calls: Campaign) -> None:
    record = calls.records["queue-transfer"]
    assert record.path == ["greeting", "menu", "agent"]
    assert record.results == {"choice": "2", "agent": "completed"}
    assert "system: transfer to queue collections" in record.transcript
    assert record.final_state["status"] == "completed"


def test_transfer_to_a_number_and_to_a_busy_one(calls: Campaign) -> None:
    answered, busy = calls.records["dial-transfer"], calls.records["dial-transfer-busy"]
    assert answered.path == ["connect", "after", "done"] and answered.results == {"connect": "completed"}
    assert busy.path == ["connect", "unavailable", "done"] and busy.results == {"connect": "busy"}


def test_over_sip_each_callee_saw_its_exchange_and_pcmu(calls: Campaign) -> None:
    """Over SIP: the exchange in each sipp's own trace (the platform's BYE, or CANCEL/487/ACK at
    the ring timeout), and the prompts arriving as PCMU at each callee that answered."""
    if calls.sip is None:
        pytest.skip("a Local-channel or emulated run has no SIP leg")
    from tests.switches.sip_callees import exchange_for

    wrong = {}
    for name, sipp in calls.sip.sipps.items():
        exchange, expected = sipp.exchange(), exchange_for(name)
        answered = "answered" in calls.records[name].timestamps
        received = calls.sip.tap.per_port.get(sipp.media_port, {})
        pcmu = received.get(0, 0)
        if exchange != expected:
            wrong[name] = f"exchange {exchange}, expected {expected}"
        elif answered and pcmu < 50:
            wrong[name] = f"{pcmu} PCMU packets reached sipp ({dict(received)})"
        elif not answered and sum(received.values()):
            wrong[name] = f"RTP reached a callee that never answered ({dict(received)})"
        elif set(received) - {0, 101, 13}:
            wrong[name] = f"payload types other than PCMU, RFC 4733 and comfort noise: {dict(received)}"
    assert wrong == {}
