"""The data model on SQLite (WAL) and PostgreSQL, created by the Alembic migrations."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import IntegrityError

from voiceplatform.db import session_factory
from voiceplatform.models import (
    Account, ApiToken, Base, Call, Campaign, CampaignContact, Contact, DoNotCall, FlowStatus, FlowVersion, Role,
)
from voiceplatform.models.accounts import hash_token
from voiceplatform.phone import InvalidPhoneNumber, to_e164
from voiceplatform.switches.call_record import CallRecord, RecordingInfo
from voiceplatform.calls.store import DatabaseCallSink
from voiceplatform.calls.outcomes import CallOutcome

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=timezone.utc)


def test_migrations_match_the_models(engine: Engine) -> None:
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}), Base.metadata)
    assert differences == []


def test_sqlite_runs_in_wal_mode(engine: Engine) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("WAL is SQLite's journal mode; PostgreSQL has its own")
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_sub_accounts_form_a_tree(engine: Engine) -> None:
    sessions = session_factory(engine)
    with sessions.begin() as session:
        master = Account(name="Master", balance=Decimal("100.5"))
        child = Account(name="Child", parent=master)
        grandchild = Account(name="Grandchild", parent=child)
        session.add_all([master, child, grandchild])
        session.flush()
        assert sorted(master.tree_ids()) == sorted([master.id, child.id, grandchild.id])
        assert child.tree_ids() == [child.id, grandchild.id]
        master_id = master.id
    with sessions() as session:
        assert session.get(Account, master_id).balance == Decimal("100.5")


def test_api_tokens_are_hashed_expire_regenerate_and_revoke(engine: Engine) -> None:
    sessions = session_factory(engine)
    with sessions.begin() as session:
        account = Account(name="Tokens")
        token, secret = ApiToken.issue(account, Role.OPERATOR, name="ci", expires_at=T0 + timedelta(days=30))
        session.add(token)
        session.flush()
        assert secret.startswith("vp_") and token.token_hash == hash_token(secret) and secret not in (token.token_hash, token.prefix)
        assert token.usable(T0) and not token.usable(T0 + timedelta(days=31))
        old_hash = token.token_hash
        new_secret = token.regenerate()
        assert token.token_hash == hash_token(new_secret) != old_hash
        token.revoke(T0)
        assert not token.usable(T0 + timedelta(seconds=1))
    with sessions() as session:
        found = session.scalars(select(ApiToken).where(ApiToken.token_hash == hash_token(new_secret))).one()
        assert found.expires_at == T0 + timedelta(days=30) and found.expires_at.tzinfo is not None
        assert session.scalars(select(ApiToken).where(ApiToken.token_hash == old_hash)).first() is None


def test_contacts_and_do_not_call_are_unique_per_account(engine: Engine) -> None:
    sessions = session_factory(engine)
    with sessions.begin() as session:
        one, two = Account(name="One"), Account(name="Two")
        session.add_all([one, two])
        session.flush()
        phone = to_e164("(202) 555-0143")
        session.add_all([Contact(account_id=one.id, phone=phone, attributes={"first_name": "Ann"}),
                         Contact(account_id=two.id, phone=phone), DoNotCall(account_id=one.id, phone=phone)])
        ids = one.id
    with pytest.raises(IntegrityError), sessions.begin() as session:
        session.add(Contact(account_id=ids, phone=phone))
    with pytest.raises(IntegrityError), sessions.begin() as session:
        session.add(DoNotCall(account_id=ids, phone=phone))


def test_campaign_pins_a_published_flow_version_and_contacts_once(engine: Engine) -> None:
    sessions = session_factory(engine)
    with sessions.begin() as session:
        account = Account(name="Campaigns")
        session.add(account)
        session.flush()
        flow = FlowVersion(account_id=account.id, name="payment_reminder", version=1, status=FlowStatus.PUBLISHED,
                           definition="spec_version: 1", checksum=FlowVersion.checksum_of("spec_version: 1"), published_at=T0)
        contact = Contact(account_id=account.id, phone="+12025550143")
        session.add_all([flow, contact])
        session.flush()
        campaign = Campaign(account_id=account.id, name="March", flow_version_id=flow.id,
                            settings={"calls_per_second": 2, "max_concurrent": 10})
        session.add(campaign)
        session.flush()
        session.add(CampaignContact(campaign_id=campaign.id, contact_id=contact.id, next_attempt_at=T0))
        keys = (campaign.id, contact.id)
    with pytest.raises(IntegrityError), sessions.begin() as session:
        session.add(CampaignContact(campaign_id=keys[0], contact_id=keys[1]))


def test_call_records_are_stored_once_with_their_recordings(engine: Engine) -> None:
    sessions = session_factory(engine)
    with sessions.begin() as session:
        account = Account(name="Calls")
        session.add(account)
        session.flush()
        account_id = account.id
    record = CallRecord(call_id=f"call-{engine.dialect.name}", to="+12025550143", flow="payment_reminder", switch="asterisk")
    record.outcome, record.cause, record.amd = CallOutcome.ANSWERED, "16 Normal Clearing", "HUMAN"
    for phase, seconds in (("queued", 0), ("dialling", 1), ("answered", 5), ("ended", 47)):
        record.mark(phase, T0 + timedelta(seconds=seconds))
    record.path, record.results = ["greeting", "menu", "pay"], {"choice": "1"}
    record.recordings.append(RecordingInfo("/media/recordings/x.wav", 12.5, "ab" * 32, "comment"))
    sink = DatabaseCallSink(sessions, account_id)
    sink.call_ended(record)
    sink.call_ended(record)  # a retried save updates, never duplicates
    with sessions() as session:
        calls = session.scalars(select(Call).where(Call.account_id == account_id)).all()
        assert len(calls) == 1
        call = calls[0]
        assert (call.outcome, call.amd, call.path, call.results) == ("answered", "HUMAN", ["greeting", "menu", "pay"], {"choice": "1"})
        assert float(call.billable_seconds) == 42.0 and call.answered_at == T0 + timedelta(seconds=5)
        assert [(r.path, float(r.duration), r.node) for r in call.recordings] == [("/media/recordings/x.wav", 12.5, "comment")]


def test_naive_datetimes_are_refused(engine: Engine) -> None:
    with pytest.raises(Exception, match="naive"), session_factory(engine).begin() as session:
        session.add(Account(name="Naive", created_at=datetime(2026, 1, 1)))


@pytest.mark.parametrize("raw, expected", [("+44 20 7946 0958", "+442079460958"), ("(202) 555-0143", "+12025550143")])
def test_phone_numbers_become_e164(raw: str, expected: str) -> None:
    assert to_e164(raw) == expected


@pytest.mark.parametrize("raw", ["", "12", "not a number", "+1 555 0000 000000"])
def test_bad_phone_numbers_say_why(raw: str) -> None:
    with pytest.raises(InvalidPhoneNumber):
        to_e164(raw)
