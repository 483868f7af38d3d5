"""FreeSWITCH misbehaving under the driver (through the emulator's fault hooks): the inbound
connection drops during a campaign, a call's socket closes mid-prompt, frames arrive broken.
Every call still ends with exactly one definite record, and no greenlet is left behind."""

from __future__ import annotations

import gc
from collections import Counter
from pathlib import Path
from typing import Iterator

import gevent
import pytest

from tests.switches.lab_calls import CONTACT, FLOWS, services_with_shared_tts, unique_account
from voiceplatform.flow import load_flow
from voiceplatform.switches.call_record import CallRecord
from voiceplatform.switches.freeswitch import FreeSwitchConfig, FreeSwitchDriver
from voiceplatform.switches.freeswitch.esl_frames import EslFramingError
from voiceplatform.calls.outcomes import CallOutcome
from voiceplatform.testing.esl_faults import MALFORMED_FRAMES
from voiceplatform.testing.freeswitch import FreeSwitchEmulator

TIME_SCALE = 0.05
PAID = ["greeting", "menu", "pay", "pay_link_sms", "pay_link_sent", "goodbye", "hangup"]


class CountingSink:
    """Counts how many times each call is reported (the driver must report each once)."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.calls: dict[str, CallRecord] = {}

    def call_ended(self, record: CallRecord) -> None:
        self.counts[record.call_id] += 1
        self.calls[record.call_id] = record


def live_greenlets() -> int:
    return sum(1 for obj in gc.get_objects() if isinstance(obj, gevent.Greenlet) and not obj.dead)


@pytest.fixture
def fs() -> Iterator[FreeSwitchEmulator]:
    with FreeSwitchEmulator(time_scale=TIME_SCALE) as emulator:
        yield emulator


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fs-faults-media")


def driver_for(fs: FreeSwitchEmulator, media: Path, sink: CountingSink, **overrides: object) -> FreeSwitchDriver:
    config = FreeSwitchConfig(esl_port=fs.port, media_dir=media, account=unique_account(), **overrides)  # type: ignore[arg-type]
    return FreeSwitchDriver(config, services_with_shared_tts(media), sink)


def test_inbound_connection_drops_during_a_campaign(fs: FreeSwitchEmulator, media: Path) -> None:
    """Calls talking, ringing and still to be placed when the connection drops: the driver
    reconnects, each call ends once with its own outcome (the talking calls learn their cause
    over their own sockets, the ringing ones on the new connection)."""
    sink = CountingSink()
    flow = load_flow(FLOWS / "payment_reminder.yaml")
    with driver_for(fs, media, sink, reconnect_first=1.0) as driver:
        assert driver.link is not None
        talking = [driver.place_call(flow, "answer-press-1", CONTACT) for _ in range(6)]
        ringing = [driver.place_call(flow, "no-answer", CONTACT, timeout=60) for _ in range(3)]
        for call in talking:
            assert call.in_session.wait(30), "a call never reached its flow"
        assert fs.faults.drop_inbound_connections() == 1
        assert driver.link.wait_down(10)
        late = driver.place_call(flow, "answer-press-1", CONTACT)  # placed while the link is down
        records = [call.wait(60) for call in talking + ringing + [late]]
        assert driver.link.wait_for_logins(2, 10) and driver.link.disconnects == 1

    assert len(sink.calls) == 10 and set(sink.counts.values()) == {1}
    for record in records[:6] + records[-1:]:
        assert record.outcome is CallOutcome.ANSWERED and record.path == PAID, record
        assert record.cause == "NORMAL_CLEARING" and record.errors == []
    for record in records[6:9]:
        assert record.outcome is CallOutcome.NO_ANSWER and record.cause == "NO_ANSWER"
        assert "answered" not in record.timestamps
    assert driver.live_greenlets == 0


def test_socket_closing_mid_prompt_ends_the_session_as_a_hangup(fs: FreeSwitchEmulator, media: Path) -> None:
    sink = CountingSink()
    flow = load_flow(FLOWS / "payment_reminder.yaml")
    with driver_for(fs, media, sink, run_amd=False) as driver:
        fs.faults.close_outbound_mid_prompt(after_seconds=1.0, calls=1)
        record = driver.place_call(flow, "answer-press-1", CONTACT).wait(30)
        assert driver.server is not None
    assert record.outcome is CallOutcome.ANSWERED and record.errors == []
    assert record.final_state is not None and record.final_state["status"] == "interrupted"
    assert record.path == ["greeting", "menu"]  # cut in the first prompt: nothing was pressed
    assert record.transcript[-1] == "contact: (hung up)"
    assert record.cause == "NORMAL_CLEARING"  # FreeSWITCH's own cause, from the inbound connection
    gap = (record.timestamps["session_ended"] - record.timestamps["hangup_reported"]).total_seconds()
    assert gap < 1.0
    assert sink.counts[record.call_id] == 1 and driver.live_greenlets == 0


@pytest.mark.parametrize("kind", sorted(MALFORMED_FRAMES))
def test_malformed_frame_on_the_inbound_connection(kind: str, fs: FreeSwitchEmulator, media: Path) -> None:
    """A broken frame: a clear error, the connection is dropped and made again, calls go on."""
    sink = CountingSink()
    flow = load_flow(FLOWS / "payment_reminder.yaml")
    before = live_greenlets()
    with driver_for(fs, media, sink, reconnect_first=0.05) as driver:
        assert driver.link is not None
        assert fs.faults.send_malformed(kind) == 1
        assert driver.link.wait_for_logins(2, 10), "no reconnect after a malformed frame"
        assert isinstance(driver.link.last_error, EslFramingError), driver.link.last_error
        record = driver.place_call(flow, "busy", CONTACT).wait(30)
        assert record.outcome is CallOutcome.BUSY and record.cause == "USER_BUSY"
    assert fs.wait_idle(10)
    assert driver.live_greenlets == 0
    assert live_greenlets() <= before, "a greenlet outlived the driver"


@pytest.mark.parametrize("kind", ["truncated", "garbage", "bad-utf8"])
def test_malformed_frame_on_a_calls_socket(kind: str, fs: FreeSwitchEmulator, media: Path) -> None:
    """A broken frame on one call's socket ends that call as a hang-up, with the error kept."""
    sink = CountingSink()
    flow = load_flow(FLOWS / "payment_reminder.yaml")
    before = live_greenlets()
    with driver_for(fs, media, sink, run_amd=False) as driver:
        placed = driver.place_call(flow, "silent", CONTACT)
        assert placed.in_session.wait(30)
        assert fs.faults.send_malformed(kind, uuid=placed.call_id) == 1
        record = placed.wait(30)
    assert record.outcome is CallOutcome.ANSWERED
    assert record.final_state is not None and record.final_state["status"] == "interrupted"
    assert any("bad frame" in error for error in record.errors), record.errors
    assert sink.counts[record.call_id] == 1
    assert fs.wait_idle(10)
    assert driver.live_greenlets == 0
    assert live_greenlets() <= before, "a greenlet outlived the driver"
