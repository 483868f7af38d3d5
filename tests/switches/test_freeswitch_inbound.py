"""Calls coming in on FreeSWITCH (the emulator): a carrier's call, sent by the public dialplan to
the platform's outbound-socket listener with the ``socket`` application, unanswered; the driver
routes it through the database router (SQLite and PostgreSQL), answers and runs the number's
flow, or hangs it up unanswered with the rejection's cause (UNALLOCATED_NUMBER, CALL_REJECTED)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import gevent
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.switches.inbound_numbers import EXISTING, LogLines, Seeded, new_caller, seed
from tests.switches.lab_calls import services_with_shared_tts
from voiceplatform.testing.esl_call import Call as EmulatedCall
from voiceplatform.testing.esl_callees import Callee
from voiceplatform.testing.freeswitch import FreeSwitchEmulator

TIME_SCALE = 0.05
NEW_CALLER = new_caller()


@dataclass
class Run:
    calls: dict[str, EmulatedCall]
    sessions: sessionmaker[Session]
    seeded: Seeded
    log: list[str]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def run(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    from voiceplatform.campaigns.pricing import Rates
    from voiceplatform.db import make_engine, session_factory, upgrade
    from voiceplatform.dialer.settle import DialerCallSink
    from voiceplatform.inbound.router import DatabaseInboundRouter
    from voiceplatform.switches.freeswitch import FreeSwitchConfig, FreeSwitchDriver
    from voiceplatform.testing.postgres import fresh_database

    folder = tmp_path_factory.mktemp("fs-inbound")
    if request.param == "sqlite":
        url_context: Any = _Fixed(f"sqlite:///{folder / 'inbound.db'}")
    else:
        url_context = fresh_database()
    with url_context as url:
        upgrade(url)
        engine = make_engine(url)
        sessions = session_factory(engine)
        seeded = seed(sessions)
        with sessions.begin() as session:
            from voiceplatform.models import WebhookSubscription

            session.add(WebhookSubscription(account_id=seeded.account_id, url="https://hooks.example.com/in",
                                            events=["call.ended"], secret="s" * 32, active=True))
        with FreeSwitchEmulator(time_scale=TIME_SCALE) as fs:
            config = FreeSwitchConfig(esl_port=fs.port, media_dir=folder / "media", account="unused")
            driver = FreeSwitchDriver(config, services_with_shared_tts(folder / "media"), DialerCallSink(sessions, Rates()),
                                      inbound=DatabaseInboundRouter(sessions))
            with driver, LogLines() as log:
                address = driver.socket_address
                numbers = seeded.numbers
                calls = {
                    "new-caller": fs.inbound_call(numbers["survey"], NEW_CALLER, address, caller_behaviour=Callee(
                        "caller-4", prompt_digits=("4",), speech="the service was really good thank you")),
                    "existing": fs.inbound_call(numbers["survey"][2:], EXISTING, address,  # national, as some carriers send it
                                                caller_behaviour=Callee("caller-2", prompt_digits=("2",), speech="too slow")),
                    "unknown": fs.inbound_call(numbers["unknown"], EXISTING, address),
                    "sms-only": fs.inbound_call(numbers["sms-only"], EXISTING, address),
                }
                for call in calls.values():
                    assert call.done.wait(60), f"call to {call.channel.destination} still running"
                for _ in range(200):
                    if driver.active_calls == 0:
                        break
                    gevent.sleep(0.05)
                yield Run(calls, sessions, seeded, log.lines)
        engine.dispose()


class _Fixed:
    def __init__(self, url: str) -> None:
        self.url = url

    def __enter__(self) -> str:
        return self.url

    def __exit__(self, *_exc: object) -> None:
        return None


def _calls(run: Run, caller: str) -> list[Any]:
    from voiceplatform.models import Call

    with run.sessions() as session:
        rows = list(session.scalars(select(Call).where(Call.account_id == run.seeded.account_id, Call.caller == caller)))
        for row in rows:
            _ = row.recordings
        return rows


def test_a_known_number_answers_and_runs_its_flow(run: Run) -> None:
    emulated = run.calls["new-caller"]
    assert emulated.answered_at is not None and emulated.channel.direction == "inbound"
    [call] = _calls(run, NEW_CALLER)
    assert (call.direction, call.to, call.caller, call.outcome, call.switch) == (
        "inbound", run.seeded.numbers["survey"], NEW_CALLER, "answered", "freeswitch")
    assert call.id == emulated.uuid and call.flow_name == "satisfaction_survey"
    assert call.results.get("rating") == "4" and call.path[:4] == ["intro", "rating", "route", "comment_high"], (call.path, call.errors)
    assert call.path[-1] == "done" and call.ended_at is not None
    assert call.recordings and all(r.account_id == run.seeded.account_id for r in call.recordings)
    assert f"/{run.seeded.account}/" in call.recordings[0].path and float(call.recordings[0].duration) > 0


def test_the_caller_becomes_a_contact_or_is_recognised(run: Run) -> None:
    from voiceplatform.models import Contact

    [new] = _calls(run, NEW_CALLER)
    with run.sessions() as session:
        contact = session.scalars(select(Contact).where(Contact.account_id == run.seeded.account_id,
                                                        Contact.phone == NEW_CALLER)).one()
    assert new.contact_id == contact.id
    answered = [c for c in _calls(run, EXISTING) if c.outcome == "answered"]
    assert len(answered) == 1 and answered[0].contact_id == run.seeded.ann_id
    assert answered[0].to == run.seeded.numbers["survey"]  # the national form was normalised
    assert any("Ann" in line for line in answered[0].transcript) and answered[0].results.get("rating") == "2"


@pytest.mark.parametrize(("name", "cause"), [("unknown", "UNALLOCATED_NUMBER"), ("sms-only", "CALL_REJECTED")])
def test_a_number_that_does_not_answer_is_hung_up_unanswered(run: Run, name: str, cause: str) -> None:
    from voiceplatform.models import Call

    emulated = run.calls[name]
    assert emulated.channel.hangup_cause == cause and emulated.answered_at is None
    why = {"unknown": "is not a number of any account", "sms-only": "takes no voice calls"}[name]
    logged = [line for line in run.log if run.seeded.numbers[name] in line and "rejected" in line]
    assert len(logged) == 1 and cause in logged[0] and why in logged[0], run.log
    with run.sessions() as session:
        assert session.scalars(select(Call).where(Call.to == run.seeded.numbers[name])).first() is None


def test_no_inbound_router_refuses_every_call(tmp_path: Path) -> None:
    from voiceplatform.switches.call_record import MemoryCallSink
    from voiceplatform.switches.freeswitch import FreeSwitchConfig, FreeSwitchDriver

    with FreeSwitchEmulator(time_scale=TIME_SCALE) as fs:
        config = FreeSwitchConfig(esl_port=fs.port, media_dir=tmp_path, account="a")
        sink = MemoryCallSink()
        with FreeSwitchDriver(config, services_with_shared_tts(tmp_path), sink) as driver:
            call = fs.inbound_call("+12025550100", EXISTING, driver.socket_address)
            assert call.done.wait(30)
    assert call.channel.hangup_cause == "UNALLOCATED_NUMBER" and call.answered_at is None and sink.calls == {}


def test_each_answered_inbound_call_is_one_call_ended_webhook(run: Run) -> None:
    from voiceplatform.models import WebhookDelivery

    with run.sessions() as session:
        payloads = [d.payload for d in session.scalars(select(WebhookDelivery).where(WebhookDelivery.event == "call.ended"))]
    [new] = _calls(run, NEW_CALLER)
    mine = [p for p in payloads if p["call_id"] == new.id]
    assert len(mine) == 1 and mine[0]["direction"] == "inbound" and mine[0]["caller"] == NEW_CALLER
    assert mine[0]["to"] == run.seeded.numbers["survey"] and mine[0]["results"]["rating"] == "4" and mine[0]["recordings"]
    assert len(payloads) == 2  # the two answered calls; the refused ones have no call
