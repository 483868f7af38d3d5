"""Calls over real SIP and RTP: the lab's Asterisk dials sipp "carriers" on loopback.

Each callee behaviour is one sipp UAS (voiceplatform/lab/sipp/) on its own fresh port; the lab's
trunk ``lab-carrier`` reaches it with the dial template LAB_SIP_DIAL_TEMPLATE, whose number is
that port. All calls are placed at once, then each test asserts on its own call: outcome and
cause (from the switch's own cause, docs/sip-outcomes.md), the SIP exchange in sipp's own trace,
the path through the flow, and the RTP sipp was sent (counted by a raw-socket tap). A tap on the
lab's resolver address asserts that no call made a DNS query.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import pytest

from tests.switches.lab_calls import CONTACT, FLOWS, REPO, unique_account
from voiceplatform.flow import load_flow
from voiceplatform.lab.asterisk_config import LAB_SIP_DIAL_TEMPLATE
from voiceplatform.lab.resolver import LAB_RESOLVER, installed
from voiceplatform.switches.call_record import CallRecord
from voiceplatform.calls.outcomes import CallOutcome
from voiceplatform.switches.outcomes import TRUNK_DID_NOT_RESPOND
from voiceplatform.testing import rtp_pcap
from voiceplatform.testing.packet_tap import UdpTap
from voiceplatform.testing.sipp import Sipp, scenario

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(not Path("/usr/bin/sipp").exists(), reason="sipp (sip-tester) is not installed")]

RING = 6  # seconds: the ring timeout of every call here
REJECTS = {  # SIP final response -> (Q.850 cause Asterisk reports, outcome)
    "486": ("17", CallOutcome.BUSY),
    "480": ("19", CallOutcome.NO_ANSWER),
    "408": ("18", CallOutcome.NO_ANSWER),
    "603": ("21", CallOutcome.REJECTED),
    "503": ("34", CallOutcome.CONGESTION),
    "404": ("1", CallOutcome.FAILED),
    "488": ("58", CallOutcome.FAILED),
}


@dataclass
class SipCall:
    sipp: Sipp
    tap: UdpTap
    record: CallRecord


@dataclass
class SipRun:
    calls: dict[str, SipCall]
    dns: UdpTap


def _timeline(tts: Any, *parts: rtp_pcap.Part) -> list[rtp_pcap.Part]:
    hello = rtp_pcap.Speech.from_wav(tts.render("Hello?"))
    return [rtp_pcap.Silence(0.3), hello, *parts]


def _callees(tts: Any, folder: Path) -> dict[str, tuple[str, str, dict[str, str], dict[str, str]]]:
    """name: (flow, scenario, keys, channel variables)."""
    pcap = folder / "pcaps"
    press_1 = rtp_pcap.write_pcap(pcap / "press-1.pcap", _timeline(
        tts, rtp_pcap.Silence(3.0), rtp_pcap.Rfc4733("1"), rtp_pcap.Silence(40)))
    early = rtp_pcap.write_pcap(pcap / "early.pcap", _timeline(  # during AMD / the greeting
        tts, rtp_pcap.Silence(0.9), rtp_pcap.Rfc4733("1"), rtp_pcap.Silence(40)))
    inband = rtp_pcap.write_pcap(pcap / "inband.pcap", _timeline(
        tts, rtp_pcap.Silence(3.0), rtp_pcap.Tone("1", 0.25), rtp_pcap.Silence(40)))
    pcma = rtp_pcap.write_pcap(pcap / "pcma.pcap", _timeline(
        tts, rtp_pcap.Silence(3.0), rtp_pcap.Silence(40)), payload_type=rtp_pcap.PCMA)
    quiet = rtp_pcap.write_pcap(pcap / "quiet.pcap", [rtp_pcap.Silence(40)])
    callees = {
        f"sip-{code}": ("payment_reminder", f"uas-{code}", {}, {}) for code in REJECTS
    }
    callees.update({
        "press-1": ("payment_reminder", "uas-answer", {"payloads": "0 101", "audio": str(press_1)}, {}),
        "dtmf-during-greeting": ("payment_reminder", "uas-answer", {"payloads": "0 101", "audio": str(early)},
                                 {"VP_AMD": "no"}),
        "inband-dtmf": ("payment_reminder", "uas-answer", {"payloads": "0", "audio": str(inband)}, {}),
        "pcma-only": ("payment_reminder", "uas-answer", {"payloads": "8", "audio": str(pcma)}, {"VP_AMD": "no"}),
        "ring-forever": ("payment_reminder", "uas-ring-forever", {}, {}),
        "never-respond": ("payment_reminder", "uas-never-respond", {}, {}),
        "no-rtp": ("payment_reminder", "uas-answer-no-rtp", {"payloads": "0 101"}, {"VP_AMD": "no"}),
        "bye-no-reason": ("payment_reminder", "uas-answer-bye",
                          {"payloads": "0 101", "audio": str(quiet), "bye_ms": "2500"}, {"VP_AMD": "no"}),
        "bye-reason": ("payment_reminder", "uas-answer-bye-reason",
                       {"payloads": "0 101", "audio": str(quiet), "bye_ms": "2500"}, {"VP_AMD": "no"}),
    })
    return callees


@pytest.fixture(scope="module")
def sip(asterisk_lab: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SipRun]:
    from voiceplatform.lab import up
    from voiceplatform.lab.switch_config import lab_asterisk_config
    from voiceplatform.switches.asterisk import AsteriskDriver
    from tests.switches.lab_calls import services_with_shared_tts

    up(asterisk_lab.settings)
    folder = tmp_path_factory.mktemp("sip")
    media = Path(asterisk_lab.media_dir).resolve()
    services = services_with_shared_tts(media)
    flow = {"payment_reminder": load_flow(FLOWS / "payment_reminder.yaml")}
    config = lab_asterisk_config(account=unique_account(), dial_template=LAB_SIP_DIAL_TEMPLATE)
    sipps: list[Sipp] = []
    taps: list[UdpTap] = []
    with UdpTap(53, host=LAB_RESOLVER) as dns, AsteriskDriver(config, services) as driver:
        try:
            placed = {}
            for name, (flow_name, scene, keys, variables) in _callees(services.tts, folder).items():
                sipp = Sipp(scenario(scene), folder / name, keys=keys).start()
                tap = UdpTap(sipp.media_port).start()
                sipps.append(sipp)
                taps.append(tap)
                placed[name] = (sipp, tap, driver.place_call(flow[flow_name], str(sipp.port), dict(CONTACT),
                                                             variables=variables, timeout=RING))
            calls = {name: SipCall(s, t, p.wait(120)) for name, (s, t, p) in placed.items()}
            yield SipRun(calls, dns)
        finally:
            for tap in taps:
                tap.stop()
            for sipp in sipps:
                sipp.stop()


def _diagnose(call: SipCall) -> str:
    r = call.record
    return f"{r.outcome} {r.cause!r} path={r.path} errors={r.errors} sip={call.sipp.exchange()}"


@pytest.mark.parametrize("code", sorted(REJECTS))
def test_each_sip_final_response_gives_its_outcome(sip: SipRun, code: str) -> None:
    call = sip.calls[f"sip-{code}"]
    cause, outcome = REJECTS[code]
    assert call.record.outcome is outcome, _diagnose(call)
    assert (call.record.cause or "").split()[0] == cause, _diagnose(call)
    assert call.sipp.exchange() == ["<INVITE", ">100", f">{code}", "<ACK"]
    assert call.record.path == [] and "answered" not in call.record.timestamps


def test_ringing_until_the_timeout_is_no_answer_with_cancel(sip: SipRun) -> None:
    call = sip.calls["ring-forever"]
    # Asterisk's own cause for its CANCEL at the timeout: 19, "user alerting, no answer"
    assert call.record.outcome is CallOutcome.NO_ANSWER and "ringing" in call.record.timestamps, _diagnose(call)
    assert call.record.cause == "19 User alerting, no answer", _diagnose(call)
    assert call.sipp.exchange() == ["<INVITE", ">100", ">180", "<CANCEL", ">200", ">487", "<ACK"]
    rang = (call.record.timestamps["ended"] - call.record.timestamps["dialling"]).total_seconds()
    assert RING - 1 < rang < RING + 10


def test_a_trunk_that_never_responds_is_failed_not_no_answer(sip: SipRun) -> None:
    call = sip.calls["never-respond"]
    assert call.record.outcome is CallOutcome.FAILED, _diagnose(call)
    assert (call.record.cause or "").startswith(TRUNK_DID_NOT_RESPOND), _diagnose(call)
    assert "ringing" not in call.record.timestamps
    assert call.sipp.exchange()[0] == "<INVITE" and ">180" not in call.sipp.exchange()


def test_press_1_over_rfc4733_pays_and_the_platform_hangs_up(sip: SipRun) -> None:
    call = sip.calls["press-1"]
    record = call.record
    assert record.outcome is CallOutcome.ANSWERED and record.amd == "HUMAN", _diagnose(call)
    assert record.path == ["greeting", "menu", "pay", "pay_link_sms", "pay_link_sent", "goodbye", "hangup"], _diagnose(call)
    assert record.results == {"choice": "1"}
    exchange = call.sipp.exchange()
    assert exchange[:5] == ["<INVITE", ">100", ">180", ">200", "<ACK"] and exchange[-2:] == ["<BYE", ">200"]
    assert call.tap.payload_types[0] > 100, call.tap.payload_types  # the prompts reached sipp as PCMU


def test_dtmf_during_the_greeting_reaches_the_menu(sip: SipRun) -> None:
    call = sip.calls["dtmf-during-greeting"]
    assert call.record.results == {"choice": "1"}, _diagnose(call)
    assert call.record.path[:3] == ["greeting", "menu", "pay"]


def test_in_band_dtmf_is_detected(sip: SipRun) -> None:
    call = sip.calls["inband-dtmf"]
    assert call.record.results == {"choice": "1"}, _diagnose(call)


def test_pcma_only_callee_gets_pcma(sip: SipRun) -> None:
    call = sip.calls["pcma-only"]
    assert call.record.outcome is CallOutcome.ANSWERED, _diagnose(call)
    assert call.tap.payload_types[8] > 100 and call.tap.payload_types[0] == 0, call.tap.payload_types


def test_no_rtp_ends_at_the_media_timeout(sip: SipRun) -> None:
    call = sip.calls["no-rtp"]
    record = call.record
    lasted = (record.timestamps["ended"] - record.timestamps["answered"]).total_seconds()
    # payment_reminder would listen 3 times for 5 s after ~10 s of prompts; rtp_timeout is 10 s
    assert lasted < 16, (lasted, _diagnose(call))
    assert call.sipp.exchange()[-2:] == ["<BYE", ">200"]


@pytest.mark.parametrize("name", ["bye-no-reason", "bye-reason"])
def test_a_callee_bye_is_normal_clearing_with_or_without_reason(sip: SipRun, name: str) -> None:
    call = sip.calls[name]
    assert call.record.outcome is CallOutcome.ANSWERED, _diagnose(call)
    assert (call.record.cause or "").startswith("16 "), _diagnose(call)
    assert call.sipp.exchange()[-2:] == [">BYE", "<200"]
    assert call.record.final_state["status"] == "interrupted"


def test_no_call_made_a_dns_query(sip: SipRun, asterisk_lab: Any) -> None:
    assert installed(Path(asterisk_lab.state.root))  # the lab's look-ups would go to the tap's address
    assert sip.dns.packets == 0


def test_the_dns_tap_sees_a_query(sip: SipRun) -> None:
    """The tap that says "0 queries" does see one (a test that cannot fail is a defect)."""
    import socket

    before = sip.dns.packets
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.sendto(b"\x12\x34" + b"\0" * 10, (LAB_RESOLVER, 53))
    import gevent

    for _ in range(50):
        if sip.dns.packets > before:
            break
        gevent.sleep(0.05)
    assert sip.dns.packets == before + 1
