"""A flow's opt_out reaches the contact's record with the call's save, and the dialler honours it
at dialling time (SQLite and PostgreSQL)."""

from __future__ import annotations

from sqlalchemy import Engine

from tests.dialer.test_dispatcher import World, numbers
from voiceplatform.db import session_factory
from voiceplatform.models import CampaignStatus, Contact
from voiceplatform.switches.call_record import CallRecord
from voiceplatform.calls.store import DatabaseCallSink
from voiceplatform.testing.campaign_seed import seed_campaign


def _saved_with(engine: Engine, opt_outs: list[str], phone: str) -> Contact:
    sessions = session_factory(engine)
    seeded = seed_campaign(sessions, [phone], name=f"opt-{phone}")
    contact_id = seeded.contact_ids[0]
    record = CallRecord(call_id=f"call-{phone}", to=phone, flow="collections_bilingual", switch="test", opt_outs=opt_outs)
    record.mark("ended")
    DatabaseCallSink(sessions, seeded.account_id, contact_id=contact_id).call_ended(record)
    with sessions() as session:
        contact = session.get(Contact, contact_id)
        assert contact is not None
        session.expunge(contact)
        return contact


def test_opting_out_of_sms_takes_it_out_of_the_contact_channels(engine: Engine) -> None:
    contact = _saved_with(engine, ["sms"], "+12025550301")
    assert contact.channels == ["voice", "whatsapp"] and contact.opted_out_at is None


def test_opting_out_of_all_sets_opted_out_at(engine: Engine) -> None:
    contact = _saved_with(engine, ["all"], "+12025550302")
    assert contact.opted_out_at is not None
    assert contact.channels == ["voice", "sms", "whatsapp"]


def test_no_opt_out_changes_nothing(engine: Engine) -> None:
    contact = _saved_with(engine, [], "+12025550303")
    assert contact.opted_out_at is None and contact.channels == ["voice", "sms", "whatsapp"]


def test_the_dialler_skips_a_contact_who_opted_out_of_calls(engine: Engine) -> None:
    world = World(engine)
    seeded = seed_campaign(world.sessions, numbers(2, 310), name="voice-opt-out")
    with world.sessions.begin() as session:
        session.get(Contact, seeded.contact_ids[0]).channels = ["sms", "whatsapp"]  # left voice
    world.run_until(seeded.campaign_id, {CampaignStatus.COMPLETED})
    outcomes = sorted((row.status.value, row.last_outcome) for row in world.contacts(seeded.campaign_id))
    assert outcomes == [("done", "answered"), ("skipped", "opted-out")]
    placed = [record.to for record in world.switch.placed if record.to in numbers(2, 310)]
    assert placed == ["+12025550311"]  # (other tests' campaigns in this database may be dialled too)
