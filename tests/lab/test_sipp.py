"""The sipp runner and the RTP pcaps of the scripted SIP callees: sipp against sipp, no Asterisk."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from voiceplatform.lab.polling import poll
from voiceplatform.testing import rtp_pcap
from voiceplatform.testing.sipp import SCENARIOS, Sipp, parse_trace, scenario

pytestmark = pytest.mark.skipif(not Path("/usr/bin/sipp").exists(), reason="sipp (Debian sip-tester) is not installed")


def _uac(tmp: Path, uas: Sipp, audio: Path, service: str = "press-1") -> Sipp:
    return Sipp(scenario("uac-call"), tmp / "uac", role="uac", remote=uas.address, service=service,
                keys={"payloads": "0 101", "audio": str(audio)})


def test_every_shipped_scenario_loads(tmp_path: Path) -> None:
    """sipp refuses a scenario it cannot parse (a bad response code, a variable used once)."""
    audio = rtp_pcap.write_pcap(tmp_path / "a.pcap", [rtp_pcap.Silence(0.1)])
    keys = {"payloads": "0 101", "audio": str(audio), "bye_ms": "100"}
    for path in sorted(SCENARIOS.glob("uas-*.xml")):
        with Sipp(path, tmp_path / path.stem, keys=keys) as sipp:
            assert sipp.running(), sipp.output()


def test_a_rejected_call_shows_in_both_traces(tmp_path: Path) -> None:
    audio = rtp_pcap.write_pcap(tmp_path / "a.pcap", [rtp_pcap.Silence(0.1)])
    with Sipp(scenario("uas-486"), tmp_path / "uas") as uas:
        uac = _uac(tmp_path, uas, audio).start()
        assert uac.wait(15) != 0  # the UAC's scenario expected a 200
        # the UAC is gone once it sent its ACK; the UAS writes the ACK to its trace a moment later
        # (seen missing on a loaded machine), so its trace is read until it has it
        rejected = ["<INVITE", ">100", ">486", "<ACK"]
        poll(lambda: True if uas.exchange() == rejected else None, 5)
        assert uas.exchange() == rejected
        assert uac.exchange() == [">INVITE", "<100", "<486", ">ACK"]
        (invite,) = [m for m in uas.messages() if m.method == "INVITE" and m.is_request]
        assert invite.start_line.startswith("sip:press-1@") or "press-1@" in invite.start_line
        assert uas.call_ids() == uac.call_ids() and len(uas.call_ids()) == 1


def test_the_callee_hangs_up_with_and_without_a_reason(tmp_path: Path) -> None:
    audio = rtp_pcap.write_pcap(tmp_path / "a.pcap", [rtp_pcap.Silence(0.1)])
    for name, reason in (("uas-answer-bye", None), ("uas-answer-bye-reason", 'Q.850;cause=16;text="Normal call clearing"')):
        with Sipp(scenario(name), tmp_path / name, keys={"payloads": "0 101", "audio": str(audio), "bye_ms": "300"}) as uas:
            uac = _uac(tmp_path / name, uas, audio).start()
            assert uac.wait(15) == 0, uac.output()
            assert uas.exchange() == ["<INVITE", ">100", ">180", ">200", "<ACK", ">BYE", "<200"]
            (bye,) = [m for m in uas.messages() if m.is_request and m.method == "BYE"]
            assert bye.header("Reason") == reason


def test_stop_ends_a_sipp_that_would_run_for_ever(tmp_path: Path) -> None:
    uas = Sipp(scenario("uas-ring-forever"), tmp_path).start()
    pid = uas.pid
    assert uas.running() and pid is not None
    uas.stop()
    assert not uas.running() and not Path(f"/proc/{pid}").exists()


def test_each_sipp_gets_its_own_ports(tmp_path: Path) -> None:
    with Sipp(scenario("uas-ring-forever"), tmp_path / "a") as first, \
            Sipp(scenario("uas-ring-forever"), tmp_path / "b") as second:
        assert first.port != second.port and first.media_port != second.media_port
        assert first.media_port % 2 == 0


def test_trace_parser_reads_sipp_blocks() -> None:
    text = ("----------------------------------------------- 2026-01-01 10:00:00.000001\n"
            "UDP message received [10] bytes :\n\nINVITE sip:1@x SIP/2.0\nCall-ID: a\nCSeq: 1 INVITE\n\nv=0\n\n"
            "----------------------------------------------- 2026-01-01 10:00:00.000002\n"
            "UDP message sent (5 bytes):\n\nSIP/2.0 487 Request Terminated\nCall-ID: a\nCSeq: 1 INVITE\n\n")
    invite, terminated = parse_trace(text)
    assert (invite.describe(), invite.body, invite.call_id) == ("<INVITE", "v=0", "a")
    assert (terminated.describe(), terminated.method, terminated.status) == (">487", "INVITE", 487)


def test_pcap_is_one_stream_with_rfc4733_inside() -> None:
    parts = [rtp_pcap.Silence(0.1), rtp_pcap.Rfc4733("1", 0.1), rtp_pcap.Silence(0.04)]
    sent = rtp_pcap.packets(parts)
    headers = [struct.unpack("!BBHII", rtp[:12]) for _at, rtp in sent]
    assert {h[4] for h in headers} == {rtp_pcap.SSRC}  # one SSRC for audio and DTMF
    assert [h[2] for h in headers] == list(range(1, len(sent) + 1))  # one sequence
    kinds = [h[1] & 0x7F for h in headers]
    assert kinds == [0] * 5 + [101] * 7 + [0] * 2  # 5 frames, 5 event packets (end x3), 2 frames
    events = [rtp[12:] for _at, rtp in sent if rtp[1] & 0x7F == 101]
    assert {e[0] for e in events} == {1} and all(e[1] & 0x80 for e in events[-3:])
    assert {struct.unpack("!I", rtp[4:8])[0] for _at, rtp in sent if rtp[1] & 0x7F == 101} == {800}
    assert struct.unpack("!I", sent[-1][1][4:8])[0] == 800 + 800 + 160  # audio resumes after the event


def test_pcap_round_trip_and_pcma(tmp_path: Path) -> None:
    tone = [rtp_pcap.Tone("5", 0.2)]
    path = rtp_pcap.write_pcap(tmp_path / "t.pcap", tone, payload_type=rtp_pcap.PCMA)
    read = rtp_pcap.read_pcap_rtp(path)
    assert len(read) == 10 and {p[1] & 0x7F for p in read} == {8} and all(len(p) == 12 + 160 for p in read)
