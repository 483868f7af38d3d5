"""emit(): one pending delivery per active subscription of the account that wants the event, in
the caller's transaction, with a single SELECT; on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import Session, sessionmaker

from tests.webhooks.conftest import new_account, subscribe
from voiceplatform.models import WebhookDelivery
from voiceplatform.models.base import utcnow
from voiceplatform.webhooks import ALL, EVENTS, KNOWN_EVENTS, PING, UnknownEventError, emit, wants


def deliveries(sessions: sessionmaker[Session]) -> list[WebhookDelivery]:
    with sessions() as session:
        return list(session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)))


def test_the_documented_events() -> None:
    assert EVENTS == ("call.ended", "campaign.started", "campaign.paused", "campaign.resumed", "campaign.cancelled",
                      "campaign.completed", "campaign.failed", "message.received", "message.status")
    assert KNOWN_EVENTS == (*EVENTS, "ping") and ALL == "*"
    assert all(wants(["*"], name) for name in EVENTS) and not wants(["*"], PING)
    assert wants(["call.ended"], "call.ended") and not wants(["call.ended"], "campaign.failed") and not wants([], "call.ended")


def test_only_active_subscriptions_that_want_the_event(sessions: sessionmaker[Session]) -> None:
    account = new_account(sessions)
    calls = subscribe(sessions, account, ["call.ended"])
    everything = subscribe(sessions, account, ["*"])
    campaigns = subscribe(sessions, account, ["campaign.completed", "campaign.failed"])
    subscribe(sessions, account, ["*"], active=False)
    payload = {"call_id": "c-1", "outcome": "answered", "billable_seconds": 12.5}
    before = utcnow()
    with sessions.begin() as session:
        assert emit(session, account, "call.ended", payload) == 2
    with sessions.begin() as session:
        assert emit(session, account, "campaign.completed", {"campaign_id": 7}) == 2
    with sessions.begin() as session:
        assert emit(session, account, "campaign.paused", {"campaign_id": 7}) == 1
    rows = deliveries(sessions)
    assert [(row.subscription_id, row.event) for row in rows] == [
        (calls, "call.ended"), (everything, "call.ended"), (everything, "campaign.completed"),
        (campaigns, "campaign.completed"), (everything, "campaign.paused")]
    first = rows[0]
    assert (first.status, first.attempts, first.payload, first.delivered_at) == ("pending", 0, payload, None)
    assert before <= first.next_attempt_at <= utcnow() and first.created_at == first.next_attempt_at


def test_other_accounts_and_master_or_sub_accounts_get_nothing(sessions: sessionmaker[Session]) -> None:
    master = new_account(sessions, "master")
    sub = new_account(sessions, "sub", parent_id=master)
    other = new_account(sessions, "other")
    on_master, on_sub = subscribe(sessions, master, ["*"]), subscribe(sessions, sub, ["*"])
    subscribe(sessions, other, ["*"])
    quiet = new_account(sessions, "quiet")
    with sessions.begin() as session:
        assert emit(session, sub, "call.ended", {"n": 1}) == 1  # not the master's subscription
        assert emit(session, master, "call.ended", {"n": 2}) == 1  # not the sub-account's
        assert emit(session, quiet, "call.ended", {}) == 0
    assert [(row.subscription_id, row.payload) for row in deliveries(sessions)] == [(on_sub, {"n": 1}), (on_master, {"n": 2})]


def test_emit_belongs_to_the_callers_transaction(sessions: sessionmaker[Session]) -> None:
    account = new_account(sessions)
    subscribe(sessions, account, ["*"])
    with sessions() as session:
        assert emit(session, account, "campaign.started", {"campaign_id": 1}) == 1
        session.rollback()  # the campaign change failed: no event
    assert deliveries(sessions) == []


def test_the_payload_is_copied_and_must_be_json(sessions: sessionmaker[Session]) -> None:
    account = new_account(sessions)
    subscribe(sessions, account, ["*"])
    payload: dict[str, Any] = {"tags": ["a"]}
    with sessions.begin() as session:
        emit(session, account, "call.ended", payload)
        payload["tags"].append("changed later by the caller")
    assert deliveries(sessions)[0].payload == {"tags": ["a"]}
    with sessions.begin() as session, pytest.raises(TypeError):
        emit(session, account, "call.ended", {"when": utcnow()})


@pytest.mark.parametrize("name", ["call.started", "ping", "*", ""])
def test_unknown_events_are_a_programming_error(sessions: sessionmaker[Session], name: str) -> None:
    with sessions.begin() as session, pytest.raises(UnknownEventError, match="unknown webhook event"):
        emit(session, 1, name, {})
    assert issubclass(UnknownEventError, ValueError)


def test_one_select_whatever_the_number_of_subscriptions(sessions: sessionmaker[Session]) -> None:
    account = new_account(sessions)
    for index in range(5):
        subscribe(sessions, account, ["*"] if index % 2 else ["call.ended"], active=index != 4)
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement.split()[0].upper())

    engine = sessions.kw["bind"]
    event.listen(engine, "before_cursor_execute", record)
    try:
        with sessions.begin() as session:
            assert emit(session, account, "call.ended", {}) == 4
            session.flush()
            assert statements.count("SELECT") == 1
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert set(statements) <= {"SELECT", "INSERT"}
