"""Calling windows, retry decisions and settings: pure rules the dialer follows."""

from __future__ import annotations

from datetime import datetime, time, timezone

import pytest
from pydantic import ValidationError

from voiceplatform.campaigns.decisions import after_attempt
from voiceplatform.campaigns.settings import CampaignSettings
from voiceplatform.campaigns.windows import CallingWindow, next_opening

UTC = timezone.utc
WEEKDAYS_NO_FRIDAY = CallingWindow(time(9), time(20), frozenset({0, 1, 2, 3, 5, 6}))


@pytest.mark.parametrize("now, zone, expected", [
    (datetime(2026, 11, 26, 15, 0, tzinfo=UTC), "America/New_York", datetime(2026, 11, 26, 15, 0, tzinfo=UTC)),  # Thu 10:00: open
    (datetime(2026, 11, 26, 13, 0, tzinfo=UTC), "America/New_York", datetime(2026, 11, 26, 14, 0, tzinfo=UTC)),  # Thu 08:00: waits an hour
    (datetime(2026, 11, 27, 12, 0, tzinfo=UTC), "America/New_York", datetime(2026, 11, 28, 14, 0, tzinfo=UTC)),  # Friday: Saturday 09:00
    (datetime(2026, 11, 26, 23, 0, tzinfo=UTC), "Asia/Tokyo", datetime(2026, 11, 28, 0, 0, tzinfo=UTC)),  # Fri 08:00 Tokyo: Sat 09:00
    (datetime(2026, 11, 26, 19, 30, tzinfo=UTC), "Europe/London", datetime(2026, 11, 26, 19, 30, tzinfo=UTC)),  # 19:30 London: open
    (datetime(2026, 11, 26, 20, 0, tzinfo=UTC), "Europe/London", datetime(2026, 11, 28, 9, 0, tzinfo=UTC)),  # 20:00 closed; Fri skipped
])
def test_next_opening_in_the_contacts_own_zone(now: datetime, zone: str, expected: datetime) -> None:
    assert next_opening(WEEKDAYS_NO_FRIDAY, now, zone) == expected


def test_daylight_saving_gap_moves_to_the_first_real_time() -> None:
    window = CallingWindow(time(2, 30), time(5), frozenset(range(7)))
    # 2026-03-08: New York skips 02:00-03:00; 02:30 does not exist, the window opens at 03:00 EDT.
    opening = next_opening(window, datetime(2026, 3, 8, 5, 0, tzinfo=UTC), "America/New_York")
    assert opening == datetime(2026, 3, 8, 7, 0, tzinfo=UTC)


def test_windows_must_be_within_a_day() -> None:
    with pytest.raises(ValueError):
        CallingWindow(time(20), time(9))


def test_retry_rules_per_outcome() -> None:
    settings = CampaignSettings.model_validate({"retries": {"busy": {"retries": 3, "minutes": 10}}})
    now = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)  # 10:00 in New York
    first = after_attempt(settings, "busy", 1, now, "America/New_York")
    assert (first.final, first.next_attempt_at) == (False, datetime(2026, 11, 26, 15, 10, tzinfo=UTC))
    assert after_attempt(settings, "busy", 4, now, "America/New_York").final  # 1 call + 3 retries
    assert after_attempt(settings, "answered", 1, now, "UTC").final
    assert after_attempt(settings, "machine", 1, now, "UTC").final  # default: no retry
    late = after_attempt(settings, "no-answer", 1, datetime(2026, 11, 27, 0, 30, tzinfo=UTC), "America/New_York")
    assert late.next_attempt_at == datetime(2026, 11, 27, 14, 0, tzinfo=UTC)  # an hour later is 20:30: waits for 09:00


@pytest.mark.parametrize("raw", [
    {"calls_per_second": 0}, {"max_concurrent": 0}, {"window": {"start": "21:00", "end": "09:00"}},
    {"window": {"days": ["someday"]}}, {"retries": {"maybe": {"retries": 1}}}, {"surprise": 1},
])
def test_bad_settings_are_refused(raw: dict) -> None:  # type: ignore[type-arg]
    with pytest.raises(ValidationError):
        CampaignSettings.model_validate(raw)


def test_a_messaging_campaign_may_start_up_to_2000_sessions_a_second_a_voice_one_200_calls() -> None:
    def rate(raw: dict[str, float], **context: str) -> float:
        return CampaignSettings.model_validate(raw, context=context or None).calls_per_second

    assert rate({"calls_per_second": 2000}, channel="sms") == 2000
    assert rate({"calls_per_second": 200}, channel="voice") == 200
    assert rate({"calls_per_second": 2000}) == 2000  # a stored campaign, validated without its channel
    for raw, channel in (({"calls_per_second": 201}, "voice"), ({"calls_per_second": 2001}, "sms"),
                         ({"max_sessions_per_second": 5001}, "whatsapp")):
        with pytest.raises(ValidationError):
            CampaignSettings.model_validate(raw, context={"channel": channel})
