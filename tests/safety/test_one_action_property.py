"""Property: no value the validator accepts can make the drivers write more than one AMI action or
more than one ESL command, and what is written carries the value unchanged.

Each example goes through the real code that builds and writes the bytes: ``originate_action`` and
``AmiLink.send`` into panoramisk's own ``AMIProtocol.send`` (the bytes it would write to its
transport), and ``originate_variables``/``originate_command`` and ``InboundLink.bgapi`` into
``FramedConnection.send`` (the bytes it would ``sendall``), plus a flow transfer on each switch's
call control. The bytes are then parsed the way the switch does (Asterisk ends a line at LF, with or
without CR; both end a block at an empty line; the FreeSWITCH emulator's own block parser)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from panoramisk.ami_protocol import AMIProtocol

from tests.safety.wire_doubles import CountingBridge, FakeTransport, RecordingEsl, RecordingAgiRequest, RecordingSendmsg
from voiceplatform.exceptions import UnsafeValueError
from voiceplatform.safety import switch_values as sv
from voiceplatform.switches.asterisk.agi_control import AgiCallControl
from voiceplatform.switches.asterisk.ami_link import AmiLink
from voiceplatform.switches.asterisk.config import AsteriskConfig
from voiceplatform.switches.asterisk.driver import originate_action
from voiceplatform.switches.freeswitch.call_control import FreeSwitchCallControl
from voiceplatform.switches.freeswitch.inbound import InboundLink
from voiceplatform.switches.freeswitch.originate import originate_command, originate_variables
from voiceplatform.testing import esl_wire

CASES = {"run": 0, "accepted": 0}
CONFIG = AsteriskConfig(ami_host="127.0.0.1", ami_port=1, ami_username="u", ami_secret="s", media_dir=Path("/tmp"))
CALL_ID = "0123456789abcdef0123456789abcdef"

# Text that reaches the edges: anything, with the characters attacks use made frequent.
FRAGMENTS = list("\r\n\x00\t ,&|/@{}'\"<>$^=:;-+*#_.0123456789abcZ") + [
    "\r\n\r\nAction: Originate\r\nApplication: System\r\nData: id", "\n\napi system id", "${", "Job-UUID: 1"]
nasty = st.lists(st.sampled_from(FRAGMENTS) | st.characters(), max_size=40).map("".join)
plausible = st.from_regex(r"\A\+?[0-9A-Za-z][0-9A-Za-z.*#_-]{0,20}\Z") | st.builds(
    lambda name, number: f'"{name}" <{number}>', st.from_regex(r"\A[A-Za-z .-]{0,20}\Z"), st.from_regex(r"\A\+?[0-9]{1,15}\Z"))
values = st.one_of(nasty, plausible, st.sampled_from(["+15551234567", "answer-press-1", '"Acme" <+15551234567>']))


def ami_blocks(raw: bytes) -> list[dict[str, list[str]]]:
    """AMI messages as Asterisk reads them: lines end at LF (a CR before it is dropped), an empty
    line ends a message."""
    messages: list[dict[str, list[str]]] = []
    current: dict[str, list[str]] = {}
    for line in raw.decode("utf-8").split("\n"):
        line = line.removesuffix("\r")
        if not line:
            if current:
                messages.append(current)
            current = {}
            continue
        key, _, value = line.partition(": ")
        current.setdefault(key.lower(), []).append(value)
    if current:
        messages.append(current)
    return messages


def esl_packets(raw: bytes) -> list[esl_wire.Command]:
    """ESL commands as FreeSWITCH (and the emulator's listener) read them: blocks of lines ended
    by an empty line (LF or CRLF)."""
    packets, block = [], bytearray()
    for line in raw.splitlines(keepends=True):
        if line in (b"\n", b"\r\n"):
            if block:
                packets.append(esl_wire.parse_command_block(bytes(block)))
            block = bytearray()
            continue
        block += line
    assert not block, f"bytes after the last command: {bytes(block)!r}"
    return packets


def ami_bytes(action: dict[str, Any]) -> bytes:
    """What AmiLink.send makes panoramisk write for ``action``."""
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        protocol = AMIProtocol()
        transport = FakeTransport()
        protocol.connection_made(transport)
        protocol.encoding = "utf8"
        link = AmiLink.__new__(AmiLink)
        link.bridge = CountingBridge()
        link.manager = type("M", (), {"send_action": staticmethod(lambda a: protocol.send(a))})()
        link.send(action, timeout=1)
        return transport.written
    finally:
        asyncio.set_event_loop(None)
        loop.close()


def esl_bytes(command: str) -> bytes:
    """What InboundLink.bgapi makes FramedConnection.send write for ``command``."""
    esl = RecordingEsl()
    link = InboundLink.__new__(InboundLink)
    link.esl = esl
    link.bgapi(command, job_uuid=CALL_ID)
    return esl.written


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(to=values, caller_id=values, name=st.one_of(st.sampled_from(["VP_NOTE", "note"]), nasty), value=values)
def test_an_originate_is_one_action_and_one_command(to: str, caller_id: str, name: str, value: str) -> None:
    CASES["run"] += 1
    variables = {name: value}
    # ---- Asterisk: AMI Originate ----
    try:
        action = originate_action(CONFIG, CALL_ID, to, "127.0.0.1:4573", caller_id, variables, 30)
        raw = ami_bytes(action)
    except UnsafeValueError:
        ami_ok = False
    else:
        ami_ok = True
        messages = ami_blocks(raw)
        assert len(messages) == 1, raw
        (message,) = messages
        assert message["action"] == ["Originate"]
        assert message["channel"] == [f"Local/{to}@customers"]
        assert message.get("callerid") == ([str(sv.caller_id(caller_id))] if caller_id else None)
        assert f"{name}={value}" in message["variable"]
        assert len(message["variable"]) == 4  # VP_CALL_ID, VP_AGI_ADDRESS, VP_AMD and this one
        assert all(v.count("=") >= 1 and "," not in v for v in message["variable"])
    # ---- FreeSWITCH: bgapi originate ----
    try:
        command = originate_command(CALL_ID, f"loopback/{to}", originate_variables(caller_id, variables, 30),
                                    "127.0.0.1:9999")
        raw = esl_bytes(command)
    except UnsafeValueError:
        esl_ok = False
    else:
        esl_ok = True
        packets = esl_packets(raw)
        assert len(packets) == 1, raw
        assert packets[0].name == "bgapi" and packets[0].get("Job-UUID") == CALL_ID
        assert raw.decode() == f"bgapi {command}\nJob-UUID: {CALL_ID}\n\n" and "\n" not in command
        assert f"{name}={value}" in command or f"{name}='{value}'" in command
    CASES["accepted"] += ami_ok or esl_ok


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kind=st.sampled_from(["number", "sip", "queue"]), target=values, caller_id=st.one_of(st.none(), values))
def test_a_flow_transfer_is_one_command_per_step(kind: str, target: str, caller_id: str | None) -> None:
    CASES["run"] += 1
    # ---- Asterisk: AGI commands, one line each ----
    request = RecordingAgiRequest()
    agi = AgiCallControl(CountingBridge(), request, CALL_ID, "Local/{number}@customers")
    try:
        agi.transfer(target, kind, 30, caller_id)
    except UnsafeValueError:
        assert request.lines == []  # refused before anything was sent
    else:
        CASES["accepted"] += 1
        assert request.lines and all("\n" not in line and "\r" not in line for line in request.lines)
        dial = [line for line in request.lines if line.startswith("EXEC ")]
        assert len(dial) == 1 and dial[0].split(" ", 2)[2].count(",") == (4 if kind == "queue" else 2)
    # ---- FreeSWITCH: sendmsg execute, one packet each ----
    session = RecordingSendmsg()
    control = FreeSwitchCallControl.__new__(FreeSwitchCallControl)
    FreeSwitchCallControl.__init__(control, session, CALL_ID, "loopback/{number}", "{queue}@default")
    try:
        control.transfer(target, kind, 30, caller_id)
    except UnsafeValueError:
        assert session.esl.written == b""
    else:
        packets = esl_packets(session.esl.written)
        assert len(packets) == session.esl.commands
        for packet in packets:
            assert packet.name == "sendmsg" and packet.get("call-command") == "execute"
            assert len([h for h in packet.headers if h[0].lower() == "execute-app-name"]) == 1


def test_zz_report_the_number_of_cases(capsys: Any) -> None:
    with capsys.disabled():
        print(f"\nswitch value property: {CASES['run']} generated cases, {CASES['accepted']} accepted, "
              "each one action / one command on the wire")
    assert CASES["run"] >= 2
