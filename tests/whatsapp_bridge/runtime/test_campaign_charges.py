"""A WhatsApp campaign is charged per delivered message, by the category and type its status's
``pricing`` reports, in the status's transaction and once (SQLite and PostgreSQL): a marketing
template delivered costs the marketing rate (its duplicated status, and the ``read`` after it,
nothing more); a free-form message inside the window (``free_customer_service``) costs nothing;
a failed one costs nothing. Nothing is charged when the attempt is sent."""

from __future__ import annotations

import itertools
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from tests.api.conftest import Tenants, app, client, tenants  # noqa: F401  (fixtures)
from tests.campaigns.messaging_world import seed_messaging
from tests.whatsapp_bridge.runtime.world import BUTTONS, ScriptedGraph, World, envelope, status
from voiceplatform.campaigns.fanout import fan_out
from voiceplatform.campaigns.pricing import Rates
from voiceplatform.campaigns.progress import progress
from voiceplatform.campaigns.settings import CampaignSettings
from voiceplatform.dialer.messaging import MessageSender
from voiceplatform.models import Account, Campaign, CampaignMessage, Number, NumberChannel
from voiceplatform.models.base import utcnow
from voiceplatform.models.whatsapp import WhatsAppMessage

from whatsapp_bridge.pairs import PairPacer
from whatsapp_bridge.sender import Sender, Sending
from whatsapp_bridge.status_updates import apply_statuses
from whatsapp_bridge.throughput import LocalThroughput
from whatsapp_bridge.webhook_payloads import parse

MARKETING = {"billable": True, "pricing_model": "PMP", "type": "regular", "category": "marketing"}
SERVICE = {"billable": False, "pricing_model": "PMP", "type": "free_customer_service", "category": "service"}
RATES = Rates.from_mapping({"whatsapp_per_category": {"marketing": "0.25", "utility": "0.02"}})
_phones = itertools.count(1)


class Campaigned:
    """A running WhatsApp campaign of the button flow (a question with a template fallback) from
    one of our numbers, its contacts' first messages sent through a scripted Graph API."""

    def __init__(self, world: World, phones: list[str], open_windows: bool = False) -> None:
        self.world, self.phones = world, phones
        self.number = world.ours[0]
        self.seeded = seed_messaging(world.sessions, phones, channel="whatsapp", name=f"charges {self.number.number}",
                                     definition=BUTTONS.format(name="reminder"), balance="10")
        with world.sessions.begin() as db:
            number = Number(account_id=self.seeded.account_id, number=self.number.number)
            number.channels = [NumberChannel(channel="whatsapp")]
            db.add(number)
        if open_windows:
            for phone in phones:
                world.open_window(self.number, phone, utcnow() - timedelta(minutes=5))
        fan_out(world.sessions, self.seeded.campaign_id, utcnow())
        with world.sessions() as db:
            campaign = db.get(Campaign, self.seeded.campaign_id)
            assert campaign is not None
            settings = CampaignSettings.model_validate(campaign.settings or {})
        sent = MessageSender(world.sessions, world.messaging.runner, RATES).send_batch(
            self.seeded.campaign_id, settings, len(phones))
        assert sent.placed == len(phones), sent
        self.graph = ScriptedGraph()
        sending = Sending(self.graph, world.settings, LocalThroughput(), PairPacer(), sleep=lambda seconds: None)
        assert Sender(world.sessions, sending, "charges-test").send_round().sent == len(phones)

    def message(self, phone: str) -> WhatsAppMessage:
        [found] = [m for m in self.world.messages(recipient=phone)]
        return found

    def post(self, *statuses: dict[str, Any]) -> None:
        batch = parse(envelope(self.number, statuses=list(statuses)))
        with self.world.sessions.begin() as db:
            apply_statuses(db, batch.statuses, utcnow(), self.world.settings.rates)

    def attempt(self, phone: str) -> CampaignMessage:
        session_id = self.message(phone).session_id
        with self.world.sessions() as db:
            return db.scalars(select(CampaignMessage).where(CampaignMessage.session_id == session_id)).one()

    def balance(self) -> Decimal:
        with self.world.sessions() as db:
            account = db.get(Account, self.seeded.account_id)
            assert account is not None
            return Decimal(account.balance)

    def stats(self) -> dict[str, Any]:
        with self.world.sessions() as db:
            campaign = db.get(Campaign, self.seeded.campaign_id)
            assert campaign is not None
            return progress(db, campaign, utcnow())


def phones(count: int) -> list[str]:
    return [f"+1555077{next(_phones):04d}" for _ in range(count)]


@pytest.fixture
def world(app: Flask, client: FlaskClient, tenants: Tenants) -> World:  # noqa: F811
    return World(app, client, tenants, numbers=1)


def test_a_delivered_marketing_template_is_charged_its_rate_once(world: World) -> None:
    first, second = phones(2)
    run = Campaigned(world, [first, second])
    assert run.balance() == Decimal("10")  # nothing when sent
    assert {run.attempt(p).cost for p in (first, second)} == {Decimal("0")}
    wamid = run.message(first).wamid or ""
    assert run.message(first).message_type == "template"  # the window was closed
    run.post(status(wamid, "sent", pricing=MARKETING))
    assert run.balance() == Decimal("10")  # sent is not delivered
    run.post(status(wamid, "delivered", pricing=MARKETING))
    run.post(status(wamid, "delivered", pricing=MARKETING))  # Meta delivers webhooks at least once
    run.post(status(wamid, "read"))
    assert run.message(first).cost == Decimal("0.25")
    assert run.attempt(first).cost == Decimal("0.25") and run.attempt(first).outcome == "delivered"
    assert run.balance() == Decimal("9.75")
    other = run.message(second).wamid or ""
    run.post(status(other, "delivered", pricing=MARKETING), status(other, "read", pricing=MARKETING))
    assert run.balance() == Decimal("9.50")
    stats = run.stats()
    assert (stats["cost"], stats["message_statuses"]) == ("0.5000", {"read": 2}), stats


def test_a_free_form_message_in_the_window_costs_nothing(world: World) -> None:
    [phone] = phones(1)
    run = Campaigned(world, [phone], open_windows=True)
    message = run.message(phone)
    assert message.message_type == "interactive"  # free-form: the contact's window is open
    run.post(status(message.wamid or "", "delivered", pricing=SERVICE), status(message.wamid or "", "read"))
    assert run.message(phone).cost == Decimal("0")
    assert run.attempt(phone).cost == Decimal("0") and run.attempt(phone).outcome == "delivered"
    assert run.balance() == Decimal("10")


def test_a_failed_message_costs_nothing(world: World) -> None:
    [phone] = phones(1)
    run = Campaigned(world, [phone])
    wamid = run.message(phone).wamid or ""
    run.post(status(wamid, "sent", pricing=MARKETING),
             status(wamid, "failed", errors=[{"code": 131026, "title": "Message undeliverable"}]))
    assert run.message(phone).status == "failed" and run.message(phone).cost is None
    assert run.attempt(phone).cost == Decimal("0") and run.attempt(phone).outcome == "undelivered"
    assert run.balance() == Decimal("10")
    assert run.stats()["cost"] == "0.0000"
