"""A WhatsApp campaign end to end with real processes (SQLite and PostgreSQL): the contract
server, ``python -m whatsapp_bridge`` and ``voiceplatform worker --switch none`` with the bridge's
driver. The appointment reminder (ivr_flows/whatsapp_appointment_reminder.yaml) opens with a
question whose ``template:`` is its fallback: the contacts never wrote, so each gets the
template; they tap its quick replies on the server's side, which opens their window, so the
confirmation goes free-form; their sessions complete, and so does the campaign.

On the way: a contact on the do-not-call list and one opted out of WhatsApp are skipped; the
server's undeliverable user fails (131026, a ``failed`` status: ``undelivered`` to the campaign)
and the retry rule sends once more, then it is final; the stats count the messages, the
delivered and the read ones; each delivered template is charged its category's rate (utility,
outside the window) and the free-form confirmations nothing; the number's tier holds and the
server throttled nothing."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from tests.campaigns.messaging_world import numbers
from tests.whatsapp_bridge.faults.campaign import RATES, TIER, whatsapp_run
from voiceplatform.campaigns.progress import progress
from voiceplatform.models import Account, CampaignContactStatus, Contact, DoNotCall, FlowSession
from voiceplatform.models.base import utcnow
from voiceplatform.settings import paths
from voiceplatform.testing.redis import RedisServer
from voiceplatform.testing.whatsapp_cloud import UNDELIVERABLE

pytestmark = pytest.mark.integration

FLOW = (paths().flows_dir / "whatsapp_appointment_reminder.yaml").read_text()
CONTACT = {"first_name": "Amira", "appointment_date": "3 March", "appointment_time": "10:00"}
UTILITY = Decimal(RATES["whatsapp_per_category"]["utility"])
#: ``undelivered``: once more after 1.2 s (the default is an hour)
RETRIES = {"undelivered": {"retries": 1, "minutes": 0.02}}


def test_a_whatsapp_campaign_opens_with_templates_and_carries_on_in_the_window(
        engine: Engine, database_url: str, redis_server: RedisServer, tmp_path: Path) -> None:
    reached = numbers(6, start=5000)
    blocked, opted_out = numbers(2, start=5100)
    undeliverable = f"+{UNDELIVERABLE}"
    phones = reached + [blocked, opted_out, undeliverable]
    with whatsapp_run(engine, database_url, redis_server.url, tmp_path, phones, definition=FLOW,
                      attributes=CONTACT, settings={"calls_per_second": 20, "retries": RETRIES},
                      balance="10") as run:
        with run.sessions.begin() as db:
            db.add(DoNotCall(account_id=run.seeded.account_id, phone=blocked, reason="asked"))
            for contact_id in run.seeded.contact_ids:
                contact = db.get(Contact, contact_id)
                assert contact is not None
                if contact.phone == opted_out:
                    contact.channels = ["voice", "sms"]  # left WhatsApp
        run.cloud.client.add_template("appointment_reminder", "en", "UTILITY", "APPROVED", [
            {"type": "BODY", "text": "Hello {{1}}, your appointment is on {{2}} at {{3}}. Will you come?"},
            {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": "Confirm"},
                                            {"type": "QUICK_REPLY", "text": "Cancel"}]}])
        readers = reached[:3]
        for phone in readers:
            run.cloud.client.add_user(phone=phone.lstrip("+"), name="Reader", reads=True)
        run.start_bridge()
        run.start_worker("w1")
        # each reachable contact gets the template: the window is closed
        run.wait(lambda db: sum(m.message_type == "template" and m.wamid is not None
                                for m in run.messages(db)) >= len(reached) + 1, 45, "the templates sent")
        templates = [entry for entry in run.sent() if entry["kind"] == "template"]
        assert {entry["body"]["to"] for entry in templates} >= {p.lstrip("+") for p in reached}
        assert all(entry["body"]["template"]["name"] == "appointment_reminder" for entry in templates)
        # the contacts tap a quick reply: 1 (Confirm) for the first four, 2 (Cancel) for the others
        for i, phone in enumerate(reached):
            payload, text = ("1", "Confirm") if i < 4 else ("2", "Cancel")
            run.cloud.client.inject("quick_reply", user=phone.lstrip("+"), payload=payload, text=text)
        def completed(db: Session) -> bool:
            found = db.scalars(select(FlowSession.status).where(FlowSession.address.in_(reached))).all()
            return len(found) == len(reached) and set(found) == {"completed"}
        run.wait(completed, 45, "the sessions completed")
        run.wait_settled(timeout=45)
        run.wait(lambda db: all(r.status != CampaignContactStatus.PENDING for r in run.contacts(db))
                 and run.campaign(db).status.value == "completed", 30, "the retry made and final")
        free_form = [entry for entry in run.sent() if entry["kind"] == "text"]
        assert sorted(entry["body"]["to"] for entry in free_form) == sorted(p.lstrip("+") for p in reached)
        assert sum("see you on 3 March" in entry["body"]["text"]["body"] for entry in free_form) == 4
        run.stop()
        with run.sessions() as db:
            by_phone = {}
            for row in run.contacts(db):
                contact = db.get(Contact, row.contact_id)
                assert contact is not None
                by_phone[contact.phone] = row
            assert {phone: (by_phone[phone].status.value, by_phone[phone].last_outcome) for phone in
                    (blocked, opted_out)} == {blocked: ("skipped", "do-not-call"), opted_out: ("skipped", "opted-out")}
            assert (by_phone[undeliverable].last_outcome, by_phone[undeliverable].attempts) == ("undelivered", 2)
            assert all((by_phone[p].last_outcome, by_phone[p].attempts) == ("delivered", 1) for p in reached)
            stats = progress(db, run.campaign(db), utcnow())
            account = db.get(Account, run.seeded.account_id)
            assert account is not None
            balance = Decimal(account.balance)
        # two messages to each contact reached (the template, then the confirmation), two
        # attempts' templates to the undeliverable user; the readers read both of theirs
        assert stats["messages"] == len(reached) + 2  # the attempts' own: each first step's
        statuses = stats["message_statuses"]
        assert statuses == {"read": 2 * len(readers), "delivered": 2 * (len(reached) - len(readers)),
                            "failed": 2}, statuses
        assert stats["attempts_by_outcome"] == {"delivered": len(reached), "undelivered": 2}, stats
        # the templates delivered at the utility rate (outside the window), the rest free
        assert Decimal(stats["cost"]) == UTILITY * len(reached)
        assert balance == Decimal("10") - UTILITY * len(reached)
        most, throttled = run.pacing()
        assert most <= TIER and throttled == 0, (most, throttled)
