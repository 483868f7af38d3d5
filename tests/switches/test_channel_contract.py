"""The voice drivers and the simulator implement the one channel contract (ChannelDriver): their
capabilities, what ``deliver`` means for a live call, and ``parse_inbound`` for a call coming in."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any, cast

import pytest
from sqlalchemy.orm import Session

from tests.switches.scripted_call import ScriptedCall
from voiceplatform.channels.contract import ChannelDriver, Delivery, InboundMessage
from voiceplatform.dialer.switch import make_driver
from voiceplatform.exceptions import ChannelUnavailableError, InputRejectedError
from voiceplatform.flow import Channel, Input, load_flow
from voiceplatform.flow import outputs as out
from voiceplatform.simulator import SimulatedChannel
from voiceplatform.speech.stt import PocketsphinxRecognizer
from voiceplatform.speech.tts import TextToSpeech
from voiceplatform.switches.asterisk import AsteriskConfig, AsteriskDriver
from voiceplatform.switches.call_record import CallRecord
from voiceplatform.switches.freeswitch import FreeSwitchConfig, FreeSwitchDriver
from voiceplatform.switches.inbound import InboundCall, InboundRejection, InboundRoute, RejectCause
from voiceplatform.switches.recordings import RecordingLayout
from voiceplatform.switches.voice_channel import NO_ROUTER, SwitchDriver, route_inbound
from voiceplatform.switches.voice_runner import VoiceServices

REPO = Path(__file__).resolve().parents[2]
NO_DATABASE = cast(Session, None)  # a live driver's deliver writes nothing
ASTERISK_CALL = {"agi_arg_1": "+12025550100", "agi_extension": "s", "agi_callerid": "+12025550199",
                 "agi_uniqueid": "1700000000.12", "agi_channel": "PJSIP/trunk-00000001"}
FREESWITCH_CALL = {"Caller-Destination-Number": "+12025550100", "Caller-Caller-ID-Number": "+12025550199",
                   "Unique-ID": "3f2c7a52-0b7e-4d0a-9a43-7f1d2f6b1c11", "Call-Direction": "inbound"}


def services(tmp_path: Path) -> VoiceServices:
    return VoiceServices(tts=TextToSpeech(tmp_path / "tts"), stt=PocketsphinxRecognizer(),
                         recordings=RecordingLayout(tmp_path / "media"), audio_root=tmp_path)


def asterisk(tmp_path: Path) -> AsteriskDriver:
    return AsteriskDriver(AsteriskConfig("127.0.0.1", 5038, "platform", "secret", tmp_path), services(tmp_path))


def freeswitch(tmp_path: Path) -> FreeSwitchDriver:
    return FreeSwitchDriver(FreeSwitchConfig(esl_password="secret", media_dir=tmp_path), services(tmp_path))


@pytest.fixture(params=["asterisk", "freeswitch"])
def voice_driver(request: pytest.FixtureRequest, tmp_path: Path) -> AsteriskDriver | FreeSwitchDriver:
    return asterisk(tmp_path) if request.param == "asterisk" else freeswitch(tmp_path)


# ---- what each is -------------------------------------------------------------------------------

def test_each_voice_driver_is_a_live_voice_channel_and_a_switch_driver(voice_driver: Any) -> None:
    assert isinstance(voice_driver, ChannelDriver) and isinstance(voice_driver, SwitchDriver)
    capabilities = voice_driver.capabilities
    assert (capabilities.name, capabilities.renders_as, capabilities.live) == ("voice", Channel.VOICE, True)
    assert not isinstance(object(), ChannelDriver)  # the check can fail


@pytest.mark.parametrize("channel, live", [("voice", True), ("sms", False), ("whatsapp", False)])
def test_the_simulator_declares_itself_per_the_channel_it_simulates(channel: str, live: bool) -> None:
    simulated = SimulatedChannel(channel)
    assert isinstance(simulated, ChannelDriver)
    assert (simulated.capabilities.renders_as.value, simulated.capabilities.live) == (channel, live)


def test_the_typed_assignments_pass_mypy_and_a_wrong_one_does_not(tmp_path: Path) -> None:
    wrong = tmp_path / "not_a_driver.py"
    wrong.write_text("from voiceplatform.channels.contract import ChannelDriver\n"
                     "from voiceplatform.dialer.switch import make_driver\n"
                     "x: ChannelDriver = object()\n"
                     "y: str = make_driver('asterisk')  # not Any: a SwitchDriver is no str\n")
    result = subprocess.run([sys.executable, "-m", "mypy", "--follow-imports=silent", "--no-error-summary",
                             "tests/switches/channel_contract_typing.py", str(wrong)],
                            cwd=REPO, capture_output=True, text=True)
    errors = [line for line in result.stdout.splitlines() if ": error:" in line]
    assert [Path(line.split(":")[0]).name for line in errors] == [wrong.name] * 2, result.stdout + result.stderr
    assert "ChannelDriver" in errors[0] and "SwitchDriver" in errors[1]


def test_make_driver_gives_an_unstarted_switch_driver(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOICEPLATFORM_ESL_PASSWORD", "secret")
    monkeypatch.setenv("VOICEPLATFORM_MEDIA_DIR", str(tmp_path))
    driver = make_driver("freeswitch")
    assert isinstance(driver, FreeSwitchDriver) and isinstance(driver, SwitchDriver)
    assert driver.active_calls == 0 and driver.link is None  # nothing connected before start()


# ---- parse_inbound: a call coming in ------------------------------------------------------------

def test_asterisk_reads_an_inbound_call_from_its_fastagi_headers(tmp_path: Path) -> None:
    message = asterisk(tmp_path).parse_inbound(ASTERISK_CALL)
    assert message == InboundMessage("voice", "+12025550199", "+12025550100", Input.facts(answered=True),
                                     "1700000000.12", ASTERISK_CALL)
    withheld = asterisk(tmp_path).parse_inbound({**ASTERISK_CALL, "agi_callerid": "unknown", "agi_arg_1": ""})
    assert (withheld.address, withheld.our_address) == ("", "s")  # no caller id; the extension dialled


def test_freeswitch_reads_an_inbound_call_from_its_channel_data(tmp_path: Path) -> None:
    message = freeswitch(tmp_path).parse_inbound(FREESWITCH_CALL)
    assert (message.channel, message.address, message.our_address) == ("voice", "+12025550199", "+12025550100")
    assert message.message_id == FREESWITCH_CALL["Unique-ID"] and message.input == Input.facts(answered=True)


@pytest.mark.parametrize("raw", [{}, {"agi_arg_1": 5, "Caller-Destination-Number": 5}, "not a mapping",
                                 {"agi_arg_1": "+12025550100", "Caller-Destination-Number": "+12025550100",
                                  "agi_callerid": ["x"], "Caller-Caller-ID-Number": ["x"]}])
def test_an_event_that_is_not_an_inbound_call_is_refused(voice_driver: Any, raw: Any) -> None:
    with pytest.raises(InputRejectedError):
        voice_driver.parse_inbound(raw)


class Router:
    def __init__(self) -> None:
        self.asked: list[InboundCall] = []

    def route(self, call: InboundCall) -> InboundRoute | InboundRejection:
        self.asked.append(call)
        return InboundRejection(RejectCause.NOT_ANSWERED_HERE, "test")


def test_inbound_calls_are_routed_from_what_parse_inbound_read(tmp_path: Path) -> None:
    router = Router()
    driver = asterisk(tmp_path)
    asked, answer = route_inbound(router, driver.parse_inbound, {**ASTERISK_CALL, "agi_callerid": "unknown"},
                                  "call-7", "asterisk")
    assert router.asked == [asked] == [InboundCall("call-7", "+12025550100", "", "asterisk", "1700000000.12")]
    assert isinstance(answer, InboundRejection) and answer.cause is RejectCause.NOT_ANSWERED_HERE
    _, unparsable = route_inbound(router, driver.parse_inbound, {"agi_uniqueid": "1"}, "call-8", "asterisk")
    _, no_router = route_inbound(None, driver.parse_inbound, ASTERISK_CALL, "call-9", "asterisk")
    assert isinstance(unparsable, InboundRejection) and unparsable.cause is RejectCause.UNKNOWN_NUMBER
    assert isinstance(no_router, InboundRejection) and no_router.reason == NO_ROUTER
    assert len(router.asked) == 1  # neither reached the router


# ---- deliver: outputs for the call that runs the session ----------------------------------------

def delivery(session_id: str | None, *outputs: out.Output) -> Delivery:
    return Delivery(session_id, 1, "+12025550199", None, "voice", outputs)


def test_deliver_to_a_session_with_no_live_call_is_refused(voice_driver: Any) -> None:
    with pytest.raises(ChannelUnavailableError, match="no live call"):
        voice_driver.deliver(NO_DATABASE, delivery("call-1", out.Say("Hello")))
    with pytest.raises(ChannelUnavailableError):
        voice_driver.deliver(NO_DATABASE, delivery(None, out.Say("Hello")))


def test_deliver_hands_say_play_hangup_to_the_running_call_before_its_next_step(voice_driver: Any) -> None:
    flow = load_flow(REPO / "ivr_flows" / "payment_reminder.yaml")
    contact = {"first_name": "Ann", "amount": "$5", "due_date": "Monday", "account_id": "A1"}
    taken: list[int] = []

    class Call(ScriptedCall):  # while the greeting plays, something outside the call delivers to it
        def play(self, audio_path: str, escape_digits: str = "") -> str | None:
            if not taken:
                taken.append(voice_driver.deliver(NO_DATABASE, delivery(
                    "call-1", out.Say("This call is recorded"), out.Send("sms", "not for a call"))))
            return super().play(audio_path, escape_digits)

    call = Call([("press", "1")])
    record = voice_driver.runner.run(flow, contact, call, CallRecord("call-1", "+12025550199", flow.name, "test"))
    assert taken == [1]  # the say; a send is not a call's to take
    announcement = str(voice_driver.services.tts.render("This call is recorded", "en"))
    assert call.played.count(announcement) == 1
    pressed = next(i for i, entry in enumerate(record.history) if entry["kind"] == "input")
    assert record.history[pressed + 1] == {"kind": "output", "type": "say",
                                           "payload": out.Say("This call is recorded").to_dict()}
    assert record.path[:3] == ["greeting", "menu", "pay"] and record.final_state["status"] == "completed"
    with pytest.raises(ChannelUnavailableError):  # the call is over
        voice_driver.deliver(NO_DATABASE, delivery("call-1", out.Say("Too late")))
