"""The concurrency cap against the real lab: calls of a few seconds each, offered faster than the
cap allows. The calls' own start and end times never show more than the cap open at once, and the
cap is reached (so the check means something). The achieved rate is measured by
bench/campaign.py, not asserted here."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import Engine, select

from tests.dialer.lab_campaign import assert_exactly_once, completed, wait_for
from voiceplatform.db import session_factory
from voiceplatform.dialer.process import start_dialer
from voiceplatform.lab.numbers import numbers_like
from voiceplatform.models import Call
from voiceplatform.testing.campaign_seed import seed_campaign
from voiceplatform.testing.overlap import max_overlap

pytestmark = pytest.mark.integration


def test_concurrency_never_exceeds_the_cap(asterisk_lab, engine: Engine) -> None:  # type: ignore[no-untyped-def]
    sessions = session_factory(engine)
    numbers = numbers_like("hangup-mid-prompt", 8, offset=int(time.time()) % 900)
    seeded = seed_campaign(sessions, numbers, name="cap", settings={"calls_per_second": 5, "max_concurrent": 3,
                                                                    "ring_seconds": 10})
    dialer = start_dialer(sessions, switch="asterisk", capacity=50)
    try:
        dialer.runtime.wake()
        _, rows, calls = wait_for(sessions, seeded.campaign_id, completed, 120, "the campaign to complete")
    finally:
        dialer.stop(timeout=30)
    assert_exactly_once(rows, calls)
    with sessions() as session:
        spans = [(c.dialling_at, c.ended_at) for c in session.scalars(select(Call).where(Call.campaign_id == seeded.campaign_id))]
    assert all(start and end for start, end in spans)
    assert max_overlap(spans) <= 3
    assert max_overlap(spans) >= 2, "the calls never overlapped: the cap was not exercised"
    assert all(call.outcome == "answered" for call in calls), [(c.outcome, c.cause) for c in calls]
