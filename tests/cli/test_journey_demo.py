"""The demo's journey end to end, as `voiceplatform demo` runs it beside its campaign: the embedded
server (API and dialler) on the real lab, the real Jasmin and its handset network (the session's
``smsc`` fixture), the SMS bridge as its own process, and the stand-in CRM. A call rings out, the
same session goes on by SMS through Jasmin, the handset's reply "1" comes back through Jasmin,
the flow's webhook asks the CRM, which asks the API for the call back, and the call back is
answered. On SQLite (the embedded default) and PostgreSQL; and without Jasmin, on the dev channel,
where the demo types the reply."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from voiceplatform.client.http import ApiClient
from voiceplatform.demo.callback_desk import CallbackDesk
from voiceplatform.demo.journey import FLOW_NAME, run_journey_beside
from voiceplatform.demo.sms_gateway import OUR_NUMBER, DemoSms
from voiceplatform.processes.server import start_server
from voiceplatform.safety.outbound_http import ALLOW_ENV
from voiceplatform.testing.lab_fixture import RunningLab
from voiceplatform.testing.postgres import fresh_database
from voiceplatform.testing.smsc_fixture import RunningSmsc

pytestmark = pytest.mark.integration


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'journey.db'}"
        return
    with fresh_database() as url:
        yield url


def run_journey(sms: DemoSms, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[int, str]:
    """What the demo does around the journey (main._run_with_server), its output."""
    desk = CallbackDesk(FLOW_NAME).start()
    for key, value in sms.environment().items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv(ALLOW_ENV, desk.address)
    running = start_server("127.0.0.1", 0, database_url=database_url, redis_url="", token_file=tmp_path / "api-token")
    out = io.StringIO()
    try:
        with sms.bridge(database_url, tmp_path / "bridge.log"):
            client = ApiClient(running.url, running.token, timeout=30)
            desk.client = client
            code = run_journey_beside(client, running.url, running.token, sms, desk, running.sessions, lambda: 0,
                                      lambda text="": print(text, file=out, flush=True))
    finally:
        running.stop()
        desk.stop()
    return code, out.getvalue()


def test_a_call_goes_on_by_sms_through_jasmin_and_comes_back_as_a_call(  # type: ignore[no-untyped-def]
        asterisk_lab: RunningLab, smsc: RunningSmsc, database_url: str, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    code, text = run_journey(DemoSms(OUR_NUMBER, smsc.state), database_url, tmp_path, monkeypatch)
    assert code == 0, text
    phone = re.search(r"Grace at (\+12025558\d{3})", text)
    assert phone, text
    lines = text.splitlines()
    assert any(re.match(r"  voice    call \w+: no-answer \(19 ", line) for line in lines), text
    assert "  session  system: journey moves from voice to sms" in lines
    assert any(line.startswith("  session  bot (sms): Acme Energy: we tried to call you, Grace") for line in lines)
    assert "  session  contact: 1" in lines
    assert any(re.match(r"  sms      the bridge's message \d+, \+12025559990 to \+12025558\d{3}: 1 part\(s\) "
                        r"submitted, status delivered", line) for line in lines), text
    assert "  handsets submit_sm from jasmin (ESME_ROK), receipt DELIVRD, reply '1'" in lines, text
    assert any(re.match(r"  voice    call \w+: answered, answers \{'visit': '1'\}", line) for line in lines), text
    assert "  voice    bot (say): Thank you, your visit is confirmed. Goodbye." in lines
    assert lines[-1] == "journey    done: voice, then SMS, then voice again"


def test_without_jasmin_the_journey_runs_on_the_dev_channel(  # type: ignore[no-untyped-def]
        asterisk_lab: RunningLab, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sms = DemoSms(OUR_NUMBER, None, "Jasmin could not be installed")
    code, text = run_journey(sms, f"sqlite:///{tmp_path / 'dev.db'}", tmp_path, monkeypatch)
    assert code == 0, text
    assert "SMS on the dev channel" in text and "  handsets" not in text
    assert "  sms      the demo replied '1' as the handset (the dev channel has no handset network)" in text
    assert text.splitlines()[-1] == "journey    done: voice, then SMS, then voice again"
