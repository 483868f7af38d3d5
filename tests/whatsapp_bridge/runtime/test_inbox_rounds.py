"""The inbox applies a round's stored POSTs together, on SQLite and PostgreSQL: twenty status
POSTs cost a handful of commits rather than one or more each, with every status applied; an
event whose statuses cannot be applied, or one of whose messages the router could not apply,
is left for its retry while the rest of its round is applied."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from sqlalchemy import event, select

from tests.api.conftest import app, client, tenants  # noqa: F401  (fixtures)
from tests.whatsapp_bridge.runtime.test_webhooks import Rig, answers, new_contact, rig  # noqa: F401  (fixture)
from tests.whatsapp_bridge.runtime.world import envelope, status, text_message
from voiceplatform.models.whatsapp import WhatsAppWebhookEvent
from voiceplatform.sessions.inbound import Routed

import whatsapp_bridge.inbox as inbox_module


@pytest.fixture
def commits(rig: Rig) -> Iterator[list[int]]:  # noqa: F811
    """One entry per COMMIT on the rig's database while the test runs."""
    seen: list[int] = []
    engine = rig.world.sessions.kw["bind"]

    def count(connection: Any) -> None:
        seen.append(1)

    event.listen(engine, "commit", count)
    yield seen
    event.remove(engine, "commit", count)


def _event(rig: Rig, event_id: int) -> WhatsAppWebhookEvent:
    with rig.world.sessions() as db:
        row = db.get(WhatsAppWebhookEvent, event_id)
        assert row is not None
        return row


def test_twenty_status_posts_are_applied_in_a_few_commits(rig: Rig, commits: list[int]) -> None:  # noqa: F811
    wamids = []
    for _ in range(4):
        wa_id = new_contact()
        wamids.append(f"wamid.OUT{wa_id}")
        rig.sent_message(wa_id, wamids[-1])
    for n in range(20):  # sent, then delivered, of each message, five times over: re-batched duplicates
        assert rig.post(envelope(rig.number, statuses=[status(wamid, "sent" if n < 10 else "delivered")
                                                         for wamid in wamids])) == 200
    before = len(commits)
    assert rig.inbox.process_once() == 20
    assert len(commits) - before <= 3  # the claim, the statuses with the marks (was 21: one a POST, and the claim)
    assert [message.status for wamid in wamids for message in rig.world.messages(wamid=wamid)] == ["delivered"] * 4
    assert all(_event(rig, event_id).processed_at is not None for event_id in rig.woken[-20:])


def test_an_event_whose_statuses_fail_is_retried_and_the_rest_of_its_round_applied(
        rig: Rig, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    good, bad = new_contact(), new_contact()
    rig.sent_message(good, f"wamid.OUT{good}")
    rig.sent_message(bad, f"wamid.OUT{bad}")
    real = inbox_module.apply_statuses

    def failing(db: Any, statuses: Sequence[Any], *args: Any, **kwargs: Any) -> Any:
        if any(item.message_id == f"wamid.OUT{bad}" for item in statuses):
            raise RuntimeError("the statuses of the bad one cannot be applied")
        return real(db, statuses, *args, **kwargs)

    monkeypatch.setattr(inbox_module, "apply_statuses", failing)
    assert rig.post(envelope(rig.number, statuses=[status(f"wamid.OUT{good}", "delivered")])) == 200
    assert rig.post(envelope(rig.number, statuses=[status(f"wamid.OUT{bad}", "delivered")])) == 200
    first, second = rig.woken[-2:]
    assert rig.inbox.process_once() == 2
    assert rig.world.messages(wamid=f"wamid.OUT{good}")[0].status == "delivered"
    assert rig.world.messages(wamid=f"wamid.OUT{bad}")[0].status != "delivered"
    done, failed = _event(rig, first), _event(rig, second)
    assert done.processed_at is not None and done.error is None
    assert failed.processed_at is None and failed.attempts == 1 and failed.next_attempt_at is not None
    assert "cannot be applied" in (failed.error or "")
    assert rig.inbox.counters["event_failures"] == 1
    monkeypatch.setattr(inbox_module, "apply_statuses", real)
    with rig.world.sessions.begin() as db:  # its backoff is over
        db.execute(WhatsAppWebhookEvent.__table__.update().where(WhatsAppWebhookEvent.id == second)
                   .values(next_attempt_at=None))
    assert rig.inbox.process_once() == 1
    assert rig.world.messages(wamid=f"wamid.OUT{bad}")[0].status == "delivered"
    assert _event(rig, second).processed_at is not None


def test_an_event_with_a_message_not_applied_is_retried_and_the_others_resume(
        rig: Rig, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    one, two = new_contact(), new_contact()
    first_session, second_session = rig.waiting_session(one), rig.waiting_session(two)
    router = rig.inbox.router
    real = router.receive_many

    def refusing(messages: Sequence[Any], **kwargs: Any) -> list[Routed]:
        keep = [message for message in messages if message.message_id != f"wamid.IN{two}"]
        applied = iter(real(keep, **kwargs))
        return [next(applied) if message.message_id != f"wamid.IN{two}" else Routed("failed", error="refused")
                for message in messages]

    monkeypatch.setattr(router, "receive_many", refusing)
    assert rig.post(envelope(rig.number, messages=[text_message(one, "yes", f"wamid.IN{one}")])) == 200
    assert rig.post(envelope(rig.number, messages=[text_message(two, "no", f"wamid.IN{two}")])) == 200
    first, second = rig.woken[-2:]
    assert rig.inbox.process_once() == 2
    assert answers(rig, first_session).get("answer") == "yes"
    assert not answers(rig, second_session)
    assert _event(rig, first).processed_at is not None
    refused = _event(rig, second)
    assert refused.processed_at is None and refused.attempts == 1 and "refused" in (refused.error or "")
    monkeypatch.setattr(router, "receive_many", real)
    with rig.world.sessions.begin() as db:
        db.execute(WhatsAppWebhookEvent.__table__.update().where(WhatsAppWebhookEvent.id == second)
                   .values(next_attempt_at=None))
    assert rig.inbox.process_once() == 1
    assert answers(rig, second_session).get("answer") == "no"
    assert rig.world.session(first_session).status == "completed"
    with rig.world.sessions() as db:
        assert db.scalars(select(WhatsAppWebhookEvent.processed_at).where(
            WhatsAppWebhookEvent.id.in_([first, second]))).all().count(None) == 0


def test_windows_that_cannot_be_written_fail_only_the_events_with_messages(
        rig: Rig, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    sent, writer = new_contact(), new_contact()
    rig.sent_message(sent, f"wamid.OUT{sent}")
    session_id = rig.waiting_session(writer)

    def broken(*args: Any, **kwargs: Any) -> int:
        raise RuntimeError("the windows table is away")

    monkeypatch.setattr(inbox_module, "refresh_windows", broken)
    assert rig.post(envelope(rig.number, messages=[text_message(writer, "yes", f"wamid.IN{writer}")])) == 200
    assert rig.post(envelope(rig.number, statuses=[status(f"wamid.OUT{sent}", "delivered")])) == 200
    message_event, status_event = rig.woken[-2:]
    assert rig.inbox.process_once() == 2  # claimed alone, after the claim with the windows failed
    assert rig.world.messages(wamid=f"wamid.OUT{sent}")[0].status == "delivered"
    assert _event(rig, status_event).processed_at is not None
    failed = _event(rig, message_event)
    assert failed.processed_at is None and failed.attempts == 1 and "windows table is away" in (failed.error or "")
    assert not answers(rig, session_id)  # not routed without its window
