"""The one validator for values bound for a switch or a carrier (voiceplatform.safety.switch_values)."""

from __future__ import annotations

import pytest

from voiceplatform.exceptions import InputRejectedError, UnsafeValueError, VoicePlatformError
from voiceplatform.safety import switch_values as sv

ATTACK = "1000\r\n\r\nAction: Originate\r\nChannel: Local/1@x\r\nApplication: System\r\nData: touch /tmp/pwned"
LAB_CALLEES = ["answer-press-1", "answer-press-2", "wrong-then-right", "say-yes", "silent", "busy",
               "no-answer", "hangup-mid-prompt", "machine", "agent-desk"]


@pytest.mark.parametrize("value", LAB_CALLEES + ["+15551234567", "15551234567", "*98", "100#"])
def test_lab_callees_and_e164_numbers_are_valid_destinations(value: str) -> None:
    assert sv.destination(value) == value


@pytest.mark.parametrize("value, fragment", [
    ("1\r\nAction: Originate", "carriage return"),
    ("1\nAction: Originate", "line feed"),
    ("1\x00", "NUL"),
    ("1\x1b[2J", "U+001B"),
    ("1\u2028", "U+2028"),
    ("1\ud800", "U+D800"),
    ("1\x85", "U+0085"),
    ("1" * 65, "65 characters long; at most 64"),
    ("", "must not be empty"),
    ("100@other-context", "'@' is not allowed"),
    ("SIP/a&SIP/b", "'/' is not allowed"),
    ("100&200", "'&' is not allowed"),
    ("100,U(sub)", "',' is not allowed"),
    ("100|200", "'|' is not allowed"),
    ("1 2", "' ' is not allowed"),
])
def test_destination_refusals_say_what_is_wrong(value: str, fragment: str) -> None:
    with pytest.raises(UnsafeValueError) as caught:
        sv.destination(value, "to")
    assert caught.value.field == "to"
    assert fragment in str(caught.value)


def test_the_error_is_in_the_tree_and_never_echoes_megabytes() -> None:
    with pytest.raises(UnsafeValueError) as caught:
        sv.header_value("x" * 5_000_000, "AMI CallerID")
    error = caught.value
    assert isinstance(error, InputRejectedError) and isinstance(error, VoicePlatformError)
    assert isinstance(error, ValueError) and error.code == "unsafe_value"
    assert len(str(error)) < 200 and "5000000 characters" in str(error)
    with pytest.raises(UnsafeValueError) as caught:
        sv.destination("@" * 60)
    assert len(str(caught.value)) < 200


@pytest.mark.parametrize("value, number, name", [
    ("+15551234567", "+15551234567", ""),
    ('"Acme Support" <+15551234567>', "+15551234567", "Acme Support"),
    ("Acme <100>", "100", "Acme"),
    ("<100>", "100", ""),
    ('"Zoë Ünal" <+4930123456>', "+4930123456", "Zoë Ünal"),
])
def test_caller_ids_split_into_name_and_number(value: str, number: str, name: str) -> None:
    checked = sv.caller_id(value)
    assert (checked.number, checked.name) == (number, name)
    assert sv.caller_id(str(checked)) == checked  # the normalised form reads back the same


@pytest.mark.parametrize("value, fragment", [
    (ATTACK, "carriage return"),
    ("x" * 5000, "5000 characters long; at most 80"),
    ('"a,b" <100>', "','"),
    ('"x}" <100>', "'}'"),
    ("\"it's\" <100>", "\"'\""),
    ('"a" <1@ctx>', "'@'"),
    ('"a" <100> <200>', "not a caller id"),
    ('"' + "n" * 49 + '" <100>', "at most 48"),
])
def test_caller_id_refusals(value: str, fragment: str) -> None:
    with pytest.raises(UnsafeValueError) as caught:
        sv.caller_id(value)
    assert caught.value.field == "caller_id" and fragment in str(caught.value)


def test_channel_variables() -> None:
    assert sv.variables({"VP_CALL_ID": "abc", "note": "a, b c"}) == {"VP_CALL_ID": "abc", "note": "a, b c"}
    for name in ("bad name", "1x", "a=b", "CDR(x)", "x" * 65, ""):
        with pytest.raises(UnsafeValueError):
            sv.variable_name(name)
    for value in ("it's", "a}b", "{x=1}", "^^:a:b", "${system(ls)}", "$[1+1]", "a\nb", "v" * 1025):
        with pytest.raises(UnsafeValueError):
            sv.variable_value(value, "v")
    assert sv.variable_value("v" * 1024) == "v" * 1024


@pytest.mark.parametrize("kind, target", [("number", "agent-desk"), ("sip", "PJSIP/agent-7@pbx.example:5060"),
                                          ("sip", "sofia/gateway/trunk/+15550100"), ("queue", "collections")])
def test_transfer_targets_that_are_valid(kind: str, target: str) -> None:
    assert sv.transfer_target(target, kind) == target


@pytest.mark.parametrize("kind, target", [("sip", "PJSIP/a&PJSIP/b"), ("sip", "PJSIP/a,30,U(x)"),
                                          ("sip", "PJSIP/${EVIL}"), ("queue", "q,c,,,1"), ("number", "1\r\n"),
                                          ("queue", "x" * 65), ("carrier-pigeon", "x")])
def test_transfer_targets_that_add_channels_or_options_are_refused(kind: str, target: str) -> None:
    with pytest.raises(UnsafeValueError):
        sv.transfer_target(target, kind)


def test_ami_action_refuses_every_header_that_would_break_the_block() -> None:
    ok = sv.ami_action({"Action": "Originate", "Priority": 1, "Variable": ["A=1", "B=2"]})
    assert ok == {"Action": "Originate", "Priority": "1", "Variable": ["A=1", "B=2"]}
    for bad in ({"Action": "Originate", "CallerID": ATTACK}, {"Action": "Originate", "Variable": ["A=1", "B=2\r\n"]},
                {"Action": "Originate", "Bad Name": "x"}, {"Action": "Originate", "X\r\nAction": "x"},
                {"Channel": "x"}):
        with pytest.raises(UnsafeValueError):
            sv.ami_action(bad)


def test_esl_command_is_exactly_one_command() -> None:
    assert sv.esl_command("api version") == "api version"
    assert sv.esl_command("bgapi originate x\nJob-UUID: 1")
    assert sv.esl_command("sendmsg\ncall-command: execute\nexecute-app-name: playback")
    for bad in ("api version\n\napi system rm", "api version\nJob-UUID: 1", "api a\rb", "sendmsg\nnot a header",
                "sendmsg\n", "x" * 4097, "api \x00"):
        with pytest.raises(UnsafeValueError):
            sv.esl_command(bad)


def test_agi_command_is_one_line() -> None:
    assert sv.agi_command('SET VARIABLE CALLERID(num) "100"')
    with pytest.raises(UnsafeValueError):
        sv.agi_command("EXEC Dial x\nEXEC System rm")
