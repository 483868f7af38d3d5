"""Calls coming in over real SIP: sipp calls the lab's Asterisk (as a UAC, through the lab's
trunk ``lab-carrier``), the ``voiceplatform-inbound`` context hands each call to the driver's
FastAGI route ``inbound``, and the database router (voiceplatform.inbound.router) decides:
the dialled number's account and flow, the caller as a contact, the call's inbound row.

All calls are placed at once; each test asserts on its own call: a known number runs its flow
(DTMF typed during the greeting taken by the menu, path and results recorded, a recording of the
number's account), a new caller becomes a contact, an existing one is recognised, and an unknown
number, or one without the voice channel, is refused with its documented SIP response (404, 403).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.switches.inbound_numbers import EXISTING, LogLines, new_caller, seed
from tests.switches.lab_calls import services_with_shared_tts
from voiceplatform.testing import rtp_pcap
from voiceplatform.testing.sipp import Sipp, scenario

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(not Path("/usr/bin/sipp").exists(), reason="sipp (sip-tester) is not installed")]

NEW_CALLER = new_caller()


@dataclass
class Inbound:
    sipps: dict[str, Sipp]
    sessions: sessionmaker[Session]
    account_id: int
    account: str
    numbers: dict[str, str]
    ann_id: int
    url: str
    log: list[str]


def _caller_audio(tts: Any, folder: Path, key: str) -> Path:
    """Press ``key`` a second after the answer (during the greeting: typed ahead to the rating
    menu), then speak a comment over the window in which the recording starts."""
    comment = rtp_pcap.Speech.from_wav(tts.render("The service was really good, thank you very much."))
    parts: list[rtp_pcap.Part] = [rtp_pcap.Silence(1.0), rtp_pcap.Rfc4733(key), rtp_pcap.Silence(6.0)]
    for _ in range(4):
        parts += [comment, rtp_pcap.Silence(0.8)]
    return rtp_pcap.write_pcap(folder / f"press-{key}.pcap", parts + [rtp_pcap.Silence(40)])


@pytest.fixture(scope="module")
def inbound(asterisk_lab: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Inbound]:
    from voiceplatform.campaigns.pricing import Rates
    from voiceplatform.db import make_engine, session_factory, upgrade
    from voiceplatform.dialer.settle import DialerCallSink
    from voiceplatform.inbound.router import DatabaseInboundRouter
    from voiceplatform.lab import up
    from voiceplatform.lab.inbound import answer_inbound_at, sip_address
    from voiceplatform.lab.switch_config import lab_asterisk_config
    from voiceplatform.switches.asterisk import AsteriskDriver

    up(asterisk_lab.settings)
    folder = tmp_path_factory.mktemp("inbound")
    url = f"sqlite:///{folder / 'inbound.db'}"
    upgrade(url)
    sessions = session_factory(make_engine(url))
    seeded = seed(sessions)
    account, account_id, numbers, ann_id = seeded.account, seeded.account_id, seeded.numbers, seeded.ann_id
    services = services_with_shared_tts(Path(asterisk_lab.media_dir).resolve())
    config = lab_asterisk_config(account=account)
    driver = AsteriskDriver(config, services, DialerCallSink(sessions, Rates()), inbound=DatabaseInboundRouter(sessions))
    calls = {  # name: (dialled, caller, key pressed)
        "new-caller": (numbers["survey"], NEW_CALLER, "4"),
        "existing": (numbers["survey"], EXISTING, "2"),
        "unknown": (numbers["unknown"], EXISTING, "1"),
        "sms-only": (numbers["sms-only"], EXISTING, "1"),
    }
    sipps: dict[str, Sipp] = {}
    with driver, LogLines() as log:
        answer_inbound_at(asterisk_lab.settings, f"127.0.0.1:{driver.agi_port}")
        try:
            remote = sip_address(asterisk_lab.state)
            for name, (dialled, caller, key) in calls.items():
                audio = _caller_audio(services.tts, folder, key)
                sipps[name] = Sipp(scenario("uac-inbound"), folder / name, role="uac", remote=remote, service=dialled,
                                   calls=1, keys={"caller": caller, "payloads": "0 101", "audio": str(audio)}).start()
            for sipp in sipps.values():
                sipp.wait(120)
            for _ in range(100):  # the last records are written as the calls settle
                if driver.active_calls == 0:
                    break
                import gevent

                gevent.sleep(0.1)
            yield Inbound(sipps, sessions, account_id, account, numbers, ann_id, url, log.lines)
        finally:
            for sipp in sipps.values():
                sipp.stop()


def _calls(run: Inbound, caller: str) -> list[Any]:
    from voiceplatform.models import Call

    with run.sessions() as session:
        rows = list(session.scalars(select(Call).where(Call.account_id == run.account_id, Call.caller == caller)
                                    .order_by(Call.queued_at)))
        for row in rows:
            _ = row.recordings  # loaded while the session is open
        return rows


def test_a_known_number_runs_its_flow_for_a_new_caller(inbound: Inbound) -> None:
    sipp = inbound.sipps["new-caller"]
    assert sipp.exchange()[:1] == [">INVITE"] and "<200" in sipp.exchange() and "<BYE" in sipp.exchange(), sipp.exchange()
    [call] = _calls(inbound, NEW_CALLER)
    assert (call.direction, call.to, call.caller, call.outcome) == ("inbound", inbound.numbers["survey"], NEW_CALLER, "answered")
    assert call.flow_name == "satisfaction_survey" and call.switch == "asterisk"
    assert call.results.get("rating") == "4", (call.path, call.results, call.errors)
    assert call.path[:4] == ["intro", "rating", "route", "comment_high"] and call.path[-1] == "done", call.path
    assert call.answered_at and call.ended_at and float(call.billable_seconds) > 0
    assert call.recordings and all(r.account_id == inbound.account_id for r in call.recordings)
    assert float(call.recordings[0].duration) > 1.0
    assert Path(call.recordings[0].path).exists() and f"/{inbound.account}/" in call.recordings[0].path


def test_a_new_caller_becomes_a_contact(inbound: Inbound) -> None:
    from voiceplatform.models import Contact

    [call] = _calls(inbound, NEW_CALLER)
    with inbound.sessions() as session:
        contact = session.scalars(select(Contact).where(Contact.account_id == inbound.account_id, Contact.phone == NEW_CALLER)).one()
    assert call.contact_id == contact.id


def test_an_existing_contact_is_recognised(inbound: Inbound) -> None:
    from voiceplatform.models import Contact

    answered = [c for c in _calls(inbound, EXISTING) if c.outcome == "answered"]
    assert len(answered) == 1, [(c.to, c.outcome, c.cause) for c in _calls(inbound, EXISTING)]
    call = answered[0]
    assert call.contact_id == inbound.ann_id
    assert any("Ann" in line for line in call.transcript), call.transcript  # "Hello Ann, ..."
    assert call.results.get("rating") == "2" and "comment_low" in call.path, (call.path, call.results)
    with inbound.sessions() as session:
        assert len(session.scalars(select(Contact).where(Contact.phone == EXISTING)).all()) == 1


@pytest.mark.parametrize(("name", "status"), [("unknown", "404"), ("sms-only", "403")])
def test_a_number_that_does_not_answer_is_refused_with_its_sip_response(inbound: Inbound, name: str, status: str) -> None:
    exchange = inbound.sipps[name].exchange()
    assert exchange[0] == ">INVITE" and f"<{status}" in exchange and "<200" not in exchange, exchange
    assert exchange[-1] == ">ACK"
    cause, why = {"unknown": ("cause 1 (SIP 404)", "is not a number of any account"),
                  "sms-only": ("cause 21 (SIP 403)", "takes no voice calls")}[name]
    logged = [line for line in inbound.log if inbound.numbers[name] in line and "rejected" in line]
    assert len(logged) == 1 and cause in logged[0] and why in logged[0], inbound.log
    from voiceplatform.models import Call

    with inbound.sessions() as session:  # a refused call answers nothing and leaves no call row
        assert session.scalars(select(Call).where(Call.to == inbound.numbers[name])).first() is None


def test_inbound_calls_show_in_the_calls_api_and_the_recordings_review(inbound: Inbound) -> None:
    from voiceplatform.app import create_app
    from voiceplatform.models import Account, ApiToken, Role
    from voiceplatform.review.search import RecordingFilters, find_recordings

    with inbound.sessions.begin() as session:
        owner = session.get(Account, inbound.account_id)
        row, secret = ApiToken.issue(owner, Role.SUPERVISOR, name="inbound test")
        session.add(row)
    client = create_app({"DATABASE_URL": inbound.url, "TESTING": True, "MIGRATE_ON_START": False}).test_client()
    headers = {"Authorization": f"Bearer {secret}"}
    listed = client.get("/calls?direction=inbound", headers=headers).get_json()["items"]
    assert {c["caller"] for c in listed} == {NEW_CALLER, EXISTING} and all(c["direction"] == "inbound" for c in listed)
    [call] = _calls(inbound, NEW_CALLER)
    detail = client.get(f"/calls/{call.id}", headers=headers).get_json()
    assert detail["path"] == call.path and detail["recordings"] and detail["results"]["rating"] == "4"
    with inbound.sessions() as session:
        page = find_recordings(session, [inbound.account_id], RecordingFilters(number=NEW_CALLER))
    assert [r.call_id for r in page.items] == [call.id] and page.items[0].direction == "inbound"
    assert page.items[0].caller == NEW_CALLER
