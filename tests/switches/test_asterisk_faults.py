"""Asterisk dies in the middle of a call: the call still gets a definite outcome, and the worker's
AMI connection comes back (with backoff) once Asterisk is up again."""

from __future__ import annotations

import os
import signal

import pytest

from tests.switches.lab_calls import CONTACT, FLOWS, unique_account
from voiceplatform.flow import load_flow
from voiceplatform.lab import leases, up
from voiceplatform.lab.switch_config import lab_asterisk_config
from voiceplatform.switches.asterisk import AsteriskDriver
from voiceplatform.calls.outcomes import CallOutcome
from voiceplatform.switches.services import default_services

pytestmark = pytest.mark.integration


def test_asterisk_killed_mid_call_then_ami_reconnects(asterisk_lab) -> None:  # type: ignore[no-untyped-def]
    others = leases.holders(asterisk_lab.settings.state_dir)
    if others:
        pytest.skip(f"another session uses the lab (pid {others}); not killing Asterisk under it")
    config = lab_asterisk_config(account=unique_account())
    flow = load_flow(FLOWS / "payment_reminder.yaml")
    try:
        _kill_mid_call_and_reconnect(asterisk_lab, config, flow)
    finally:
        up(asterisk_lab.settings)  # whatever happened, later tests get their lab back


def _kill_mid_call_and_reconnect(asterisk_lab, config, flow) -> None:  # type: ignore[no-untyped-def]
    with AsteriskDriver(config, default_services(config.media_dir)) as driver:
        assert driver.ami is not None and driver.ami.wait_for_logins(1, 15)
        placed = driver.place_call(flow, "silent", CONTACT, variables={"VP_AMD": "no"})
        assert placed.in_session.wait(30), "the call never reached the flow"
        os.kill(asterisk_lab.state.pid, signal.SIGKILL)

        record = placed.wait(30)
        assert record.errors == []
        assert record.outcome is CallOutcome.ANSWERED
        assert record.final_state["status"] == "interrupted"
        assert record.cause == "switch_lost"
        assert record.ended and record.billable_seconds > 0

        up(asterisk_lab.settings)
        assert driver.ami.wait_for_logins(2, 90), "AMI did not reconnect after Asterisk came back"
        assert driver.ami.disconnects >= 1
        again = driver.place_call(flow, "busy", CONTACT).wait(60)
        assert again.outcome is CallOutcome.BUSY
