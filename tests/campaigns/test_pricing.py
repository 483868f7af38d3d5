"""Rates per channel, the minimum charge each channel needs in the balance, SMS billed per part,
the estimates, and retry rules checked against the campaign's channel (pure)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import ValidationError

from voiceplatform.campaigns.pricing import Rates, estimate_messages, estimate_voice, parts_of
from voiceplatform.campaigns.settings import CampaignSettings

RATES = Rates(voice_per_minute=Decimal("0.02"), sms_per_part=Decimal("0.034"), whatsapp_per_message=Decimal("0.005"))


def test_each_channel_has_its_unit_and_minimum_charge() -> None:
    assert RATES.unit("voice") == ("minute", Decimal("0.02")) and RATES.minimum_charge("voice") == Decimal("0.02")
    assert RATES.unit("sms") == ("part", Decimal("0.034")) and RATES.minimum_charge("sms") == Decimal("0.034")
    assert RATES.unit("whatsapp") == ("message", Decimal("0.005"))
    assert RATES.minimum_charge("whatsapp") == RATES.whatsapp_rate("marketing") == Decimal("0.25")
    with pytest.raises(ValueError, match="not a messaging channel"):
        RATES.message_cost("voice", 1, 1)


def test_sms_is_billed_per_part_and_whatsapp_per_message() -> None:
    texts = ["x" * 200, "ب" * 80, "short"]  # 2 + 2 + 1 parts
    assert parts_of("sms", texts) == 5 and parts_of("whatsapp", texts) == 3
    assert RATES.message_cost("sms", 3, 5) == Decimal("0.170")
    assert RATES.message_cost("whatsapp", 3, 5) == Decimal("0.015")


def test_estimates_per_channel() -> None:
    assert estimate_voice(RATES, 10, 1.5) == Decimal("0.4000")  # two started minutes each
    assert estimate_messages(RATES, "sms", 1000, 1, 1.5) == Decimal("51.0000")
    assert estimate_messages(RATES, "whatsapp", 1000, 2, 2) == Decimal("10.0000")


def test_rates_from_configuration_name_the_unknown() -> None:
    assert Rates.from_mapping({"sms_per_part": "0.034"}).sms_per_part == Decimal("0.034")
    with pytest.raises(ValueError, match="sms_per_message"):
        Rates.from_mapping({"sms_per_message": "0.01"})


def test_retry_rules_are_checked_against_the_campaign_channel() -> None:
    sms = CampaignSettings.model_validate({"retries": {"undelivered": {"retries": 1, "minutes": 60}}},
                                          context={"channel": "sms"})
    assert sms.retries["undelivered"].minutes == 60 and sms.retries["expired"].retries == 0
    with pytest.raises(ValidationError, match="sms campaigns' retry rules"):
        CampaignSettings.model_validate({"retries": {"busy": {"retries": 1}}}, context={"channel": "sms"})
    with pytest.raises(ValidationError, match="voice campaigns' retry rules"):
        CampaignSettings.model_validate({"retries": {"undelivered": {"retries": 1}}}, context={"channel": "voice"})
    # a stored campaign's settings (every default merged in) read back without a channel
    assert CampaignSettings.model_validate(sms.model_dump(mode="json")).retries == sms.retries
