"""The template sync on a schedule, against the contract server (SQLite and PostgreSQL): the bridge
syncs each WABA of ``VOICEPLATFORM_WHATSAPP_WABAS`` into its account when it starts and again every
round; a template added on the server's side appears after the next round; a WABA the Graph API
refuses is logged and does not stop the others."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import replace

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from tests.api.conftest import Tenants, app, client, tenants  # noqa: F401  (fixtures)
from tests.whatsapp_bridge.runtime.world import APP_SECRET, World, wait_for
from voiceplatform.models.whatsapp import WhatsAppTemplate
from voiceplatform.testing.whatsapp_cloud import SEED_NUMBER_ID, SEED_WABA_ID, WhatsAppCloudServer

from whatsapp_bridge.bridge import WhatsAppBridge
from whatsapp_bridge.config import BusinessNumber, WhatsAppSettings
from whatsapp_bridge.template_sync import Synced
from whatsapp_bridge.throughput import LocalThroughput

TOKEN = "schedule-token"
UNKNOWN_WABA = "999000999000"


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    yield sock
    sock.close()


def test_the_wabas_setting() -> None:
    settings = WhatsAppSettings.from_env({"VOICEPLATFORM_WHATSAPP_WABAS": f"{SEED_WABA_ID}=7, 123=8",
                                          "VOICEPLATFORM_WHATSAPP_TEMPLATE_SYNC_MINUTES": "15",
                                          "VOICEPLATFORM_WHATSAPP_MARK_READ": "0"})
    assert settings.wabas == ((SEED_WABA_ID, 7), ("123", 8)) and settings.template_sync_every == 900.0
    assert settings.mark_read is False and WhatsAppSettings.from_env({}).mark_read is True
    for bad in ({"VOICEPLATFORM_WHATSAPP_WABAS": "123"}, {"VOICEPLATFORM_WHATSAPP_WABAS": "12/3=4"},
                {"VOICEPLATFORM_WHATSAPP_TEMPLATE_SYNC_MINUTES": "0"}, {"VOICEPLATFORM_WHATSAPP_MARK_READ": "maybe"}):
        with pytest.raises(ValueError):
            WhatsAppSettings.from_env(bad)


def test_the_bridge_syncs_at_start_and_every_round(app: Flask, client: FlaskClient, tenants: Tenants,  # noqa: F811
                                                  listener: socket.socket) -> None:
    acme = tenants.ids["acme"]
    port = listener.getsockname()[1]
    with WhatsAppCloudServer(webhook_url=f"http://127.0.0.1:{port}/whatsapp/webhook", app_secret=APP_SECRET,
                             token=TOKEN) as cloud:
        world = World(app, client, tenants, numbers=0)
        world.with_settings(graph_url=cloud.graph_url, token=TOKEN,
                            numbers=(BusinessNumber(SEED_NUMBER_ID, "+12027779999", 80),),
                            wabas=((UNKNOWN_WABA, acme), (SEED_WABA_ID, acme)), template_sync_every=0.3)

        def templates() -> set[tuple[str, str]]:
            with world.sessions() as db:
                return {(row.name, row.language) for row in db.scalars(
                    select(WhatsAppTemplate).where(WhatsAppTemplate.account_id == acme))}

        bridge = WhatsAppBridge(world.sessions, replace(world.settings, poll_every=0.02), messaging=world.messaging,
                                listener=listener, throughput=LocalThroughput()).start()
        try:
            assert bridge.templates is not None
            wait_for(lambda: ("hello_world", "en_US") in templates() or None, what="the sync at start")
            first = wait_for(lambda: bridge.templates.last if bridge.templates and bridge.templates.rounds else None,
                             what="a round")
            assert isinstance(first[SEED_WABA_ID], Synced)
            assert isinstance(first[UNKNOWN_WABA], str) and first[UNKNOWN_WABA]  # refused, logged, the next synced
            rounds = bridge.templates.rounds
            cloud.client.add_template("shipping_news", "en_US", "UTILITY", "APPROVED",
                                      [{"type": "BODY", "text": "Your parcel {{1}} is on its way"}])
            wait_for(lambda: ("shipping_news", "en_US") in templates() or None, what="the next round's sync")
            assert bridge.templates.rounds > rounds
        finally:
            bridge.stop(10)
