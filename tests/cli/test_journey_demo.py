"""The demo's journey end to end, as `voiceplatform demo` runs it beside its campaign: the embedded
server (API and dialler) on the real lab, the real Jasmin and its handset network (the session's
``smsc`` fixture), the SMS bridge as its own process, the WhatsApp contract server standing in
for Meta with the WhatsApp bridge as its own process, and the stand-in CRM. A call rings out, the
same session goes on by SMS through Jasmin, the handset's reply "1" (carry on over WhatsApp) comes
back through Jasmin and switches the session to WhatsApp, whose template reaches the contract
server; its "Call me back" button is tapped there, the signed webhook resumes the same session,
whose webhook asks the CRM, which asks the API for the call back, and the call back is answered.
On SQLite (the embedded default) and PostgreSQL; and without Jasmin, on the dev channel, where
the demo types the SMS reply (WhatsApp still goes through its bridge and the contract server)."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from voiceplatform.client.http import ApiClient
from voiceplatform.demo.callback_desk import CallbackDesk
from voiceplatform.demo.journey import DONE, FLOW_NAME, run_journey_beside
from voiceplatform.demo.sms_gateway import OUR_NUMBER, DemoSms
from voiceplatform.demo.whatsapp_meta import demo_whatsapp, with_channel
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
    out = io.StringIO()

    def say(text: str = "") -> None:
        print(text, file=out, flush=True)

    desk = CallbackDesk(FLOW_NAME).start()
    with demo_whatsapp(say, sms.our_number) as whatsapp:
        messaging = with_channel({**sms.environment(), **whatsapp.environment()})
        for key, value in messaging.items():
            monkeypatch.setenv(key, value)
        monkeypatch.setenv(ALLOW_ENV, desk.address)
        running = start_server("127.0.0.1", 0, database_url=database_url, redis_url="",
                               token_file=tmp_path / "api-token")
        try:
            with sms.bridge(database_url, tmp_path / "bridge.log", env=messaging), \
                    whatsapp.bridge(database_url, tmp_path, env=messaging) as bridge:
                client = ApiClient(running.url, running.token, timeout=30)
                desk.client = client
                code = run_journey_beside(client, running.url, running.token, sms, whatsapp, desk, running.sessions,
                                          lambda: 0, say)
            assert not bridge.running  # stopped with the block: nothing outlives the demo
        finally:
            running.stop()
            desk.stop()
    if code != 0:
        say(bridge.output())
    return code, out.getvalue()


def test_a_call_goes_on_by_sms_through_jasmin_then_by_whatsapp_in_one_session_and_comes_back_as_a_call(  # type: ignore[no-untyped-def]
        asterisk_lab: RunningLab, smsc: RunningSmsc, database_url: str, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    code, text = run_journey(DemoSms(OUR_NUMBER, smsc.state), database_url, tmp_path, monkeypatch)
    assert code == 0, text
    phone = re.search(r"Grace at (\+12025558\d{3})", text)
    assert phone, text
    lines = text.splitlines()
    assert any(re.match(r"  voice    call \w+: no-answer \(19 ", line) for line in lines), text
    assert "  session  system: journey moves from voice to sms" in lines, text
    assert any(line.startswith("  session  bot (sms): Acme Energy: we tried to call you, Grace") for line in lines)
    assert "  session  system: journey moves from sms to whatsapp" in lines, text
    assert lines.count("  session  contact: 1") == 2, text  # the SMS reply, then the WhatsApp tap
    assert any(re.match(r"  sms      the bridge's message \d+, \+12025559990 to \+12025558\d{3}: 1 part\(s\) "
                        r"submitted, status delivered", line) for line in lines), text
    assert "  handsets submit_sm from jasmin (ESME_ROK), receipt DELIVRD, reply '1'" in lines, text
    assert_whatsapp_part(lines, text)
    assert any(re.match(r"  voice    call \w+: answered, answers \{'visit': '1'\}", line) for line in lines), text
    assert "  voice    bot (say): Thank you, your visit is confirmed. Goodbye." in lines
    assert lines[-1] == f"journey    {DONE}"


def assert_whatsapp_part(lines: list[str], text: str) -> None:
    """The session's template went through the WhatsApp bridge to the contract server, the tap
    came back, and the answer went free-form (the tap opened the window)."""
    assert any(line.startswith("whatsapp   Meta cannot be reached from here: the project's WhatsApp Cloud API "
                               "contract server") for line in lines), text
    assert any(re.match(r"  whatsapp the bridge's message \d+, \+12025559990 to \+12025558\d{3}: template sent, "
                        r"status (delivered|read)", line) for line in lines), text
    assert any(re.match(r"  whatsapp the bridge's message \d+, \+12025559990 to \+12025558\d{3}: text sent", line)
               for line in lines), text
    assert ("  meta     the contract server (standing in for Meta) accepted: template 'meter_visit_follow_up', "
            "text 'Thank you, Grace. We are calling you now.'") in lines, text
    assert "  meta     the demo tapped 'Call me back' there as the customer (a signed webhook to the bridge)" in lines
    session = re.search(r"one session: (\w+)", text)
    assert session and re.search(rf"  voice    call {session.group(1)[:12]}: no-answer", text), text


def test_without_jasmin_the_journey_runs_on_the_dev_channel(  # type: ignore[no-untyped-def]
        asterisk_lab: RunningLab, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sms = DemoSms(OUR_NUMBER, None, "Jasmin could not be installed")
    code, text = run_journey(sms, f"sqlite:///{tmp_path / 'dev.db'}", tmp_path, monkeypatch)
    assert code == 0, text
    assert "SMS on the dev channel" in text and "  handsets" not in text
    assert "  sms      the demo replied '1' as the handset (the dev channel has no handset network)" in text
    assert_whatsapp_part(text.splitlines(), text)
    assert text.splitlines()[-1] == f"journey    {DONE}"
