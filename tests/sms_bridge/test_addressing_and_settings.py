"""Sender IDs go out with the right TON/NPI, addresses from the SMSC come in spelled as the numbers
table spells them, and the bridge's settings refuse what they cannot use."""

from __future__ import annotations

import pytest

from voiceplatform.channels.plugins import register_configured
from voiceplatform.channels.registry import ChannelRegistry
from voiceplatform.exceptions import ChannelUnavailableError, InputRejectedError

from sms_bridge.addressing import (InvalidDestinationError, InvalidSenderError, WireAddress, destination_address,
                                   inbound_address, source_address)
from sms_bridge.config import BridgeSettings, SmppRoute
from sms_bridge.driver import SmsChannel


@pytest.mark.parametrize("sender, wire", [
    ("+12025559000", WireAddress(1, 1, "12025559000")),  # a long code: international, E.164
    ("4321", WireAddress(3, 0, "4321")),  # a short code: network specific
    ("12345678", WireAddress(3, 0, "12345678")),
    ("ACME", WireAddress(5, 0, "ACME")),  # alphanumeric
    ("Acme Bank 1", WireAddress(5, 0, "Acme Bank 1")),
])
def test_sender_ids_carry_their_type_of_number(sender: str, wire: WireAddress) -> None:
    assert source_address(sender) == wire


@pytest.mark.parametrize("sender", ["", "12", "AcmeBank1234", "+0123", "Acme\nBank", "123456789", "€uro"])
def test_what_is_no_sender_id_is_refused_with_its_code(sender: str) -> None:
    with pytest.raises(InvalidSenderError) as raised:
        source_address(sender)
    assert raised.value.code == "invalid_sender" and raised.value.field == "sender"


def test_destinations_are_e164() -> None:
    assert destination_address("+966501234567") == WireAddress(1, 1, "966501234567")
    for bad in ("966501234567", "+1", "answer-press-1"):
        with pytest.raises(InvalidDestinationError):
            destination_address(bad)


def test_inbound_addresses_are_spelled_as_the_numbers_table() -> None:
    assert inbound_address("12025550711", 1) == "+12025550711"  # international: the +
    assert inbound_address("2025550711", 0) == "+12025550711"  # unknown: read in the region
    assert inbound_address("4321", 3) == "4321"  # a short code
    assert inbound_address("ACME", 5) == "ACME"
    with pytest.raises(InputRejectedError):
        inbound_address("\x00\x01", 1)


def test_the_smpp_url_gives_the_route() -> None:
    route = SmppRoute.from_url("smpps://plat%40form:s%3Acret@smsc.example:3551?binds=4&window=20&verify=0")
    assert (route.host, route.port, route.system_id, route.password) == ("smsc.example", 3551, "plat@form", "s:cret")
    assert (route.binds, route.window, route.tls, route.tls_verify) == (4, 20, True, False)
    assert "s:cret" not in repr(route)
    assert SmppRoute.from_url("smpp://p:x@127.0.0.1").port == 2775


@pytest.mark.parametrize("url", ["http://p:x@h:1", "smpp://h:1", "smpp://p:x@h:1?binds=0", "smpp://p:x@h:1?window=x",
                                 "smpp://p:x@h:1?speed=9"])
def test_a_bad_smpp_url_is_refused(url: str) -> None:
    with pytest.raises(ValueError):
        SmppRoute.from_url(url)


def test_the_no_response_policy_is_unknown_unless_told_and_checked() -> None:
    assert BridgeSettings.from_env({}).no_response == "unknown"
    assert BridgeSettings.from_env({"VOICEPLATFORM_SMS_NO_RESPONSE": "resend"}).no_response == "resend"
    with pytest.raises(ValueError):
        BridgeSettings.from_env({"VOICEPLATFORM_SMS_NO_RESPONSE": "retry"})


def test_the_driver_is_registered_by_configuration_and_a_bad_entry_stops_the_process() -> None:
    registry = ChannelRegistry()
    assert register_configured(registry, {"VOICEPLATFORM_CHANNELS": "sms_bridge.driver:register"}) == [
        "sms_bridge.driver:register"]
    assert isinstance(registry.for_engine_channel("sms"), SmsChannel)
    for bad in ("sms_bridge.driver", "sms_bridge.nowhere:register", "sms_bridge.driver:missing", "sms_bridge.driver:NAME"):
        with pytest.raises(ChannelUnavailableError):
            register_configured(ChannelRegistry(), {"VOICEPLATFORM_CHANNELS": bad})


def test_parse_inbound_refuses_what_is_no_message() -> None:
    driver = SmsChannel(BridgeSettings())
    message = driver.parse_inbound({"from": "12025550711", "from_ton": 1, "to": "12025559000", "to_ton": 1,
                                    "text": "hi", "parts": 3, "missing": [2]})
    assert (message.channel, message.address, message.our_address) == ("sms", "+12025550711", "+12025559000")
    assert message.input.value == "hi" and message.input.data == {"parts": 3, "incomplete": True, "missing_parts": [2]}
    for raw in ({"to": "1", "text": "x"}, {"from": "12025550711", "to": "12025559000", "text": 5},
                {"from": "12025550711", "to": "12025559000", "text": "x", "from_ton": "1"},
                {"from": "12025550711", "to": "12025559000", "text": "x", "missing": "2"}):
        with pytest.raises(InputRejectedError):
            driver.parse_inbound(raw)
