"""The driver edge (issue 10 row 1): a value refused by the one validator fails that one call or
transfer cleanly, with a clear cause, and nothing of it reaches the switch (FreeSWITCH emulator)."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from tests.switches.lab_calls import CONTACT, FLOWS, services_with_shared_tts, unique_account
from voiceplatform.flow import load_flow
from voiceplatform.switches.freeswitch import FreeSwitchConfig, FreeSwitchDriver
from voiceplatform.calls.outcomes import CallOutcome
from voiceplatform.testing.freeswitch import FreeSwitchEmulator

INJECTED = "+15551234567\n\nbgapi system touch /tmp/pwned"


@pytest.fixture
def fs() -> Iterator[FreeSwitchEmulator]:
    with FreeSwitchEmulator(time_scale=0.05) as emulator:
        yield emulator


def test_a_refused_caller_id_fails_that_call_alone(fs: FreeSwitchEmulator, tmp_path: Path) -> None:
    flow = load_flow(FLOWS / "payment_reminder.yaml")
    config = FreeSwitchConfig(esl_port=fs.port, media_dir=tmp_path, account=unique_account())
    with FreeSwitchDriver(config, services_with_shared_tts(tmp_path)) as driver:
        bad = driver.place_call(flow, "answer-press-1", CONTACT, caller_id=INJECTED).wait(30)
        odd = driver.place_call(flow, "answer-press-1@evil", CONTACT).wait(30)
        good = driver.place_call(flow, "busy", CONTACT, caller_id='"Acme" <+15551234567>').wait(60)
    assert bad.outcome is CallOutcome.FAILED and "refused before dialling" in (bad.cause or "")
    assert "line feed" in (bad.cause or "")
    assert odd.outcome is CallOutcome.FAILED and "'@' is not allowed" in (odd.cause or "")
    assert good.outcome is CallOutcome.BUSY  # the next call is unaffected
    assert "dialling" not in bad.timestamps and "dialling" not in odd.timestamps  # nothing was sent
