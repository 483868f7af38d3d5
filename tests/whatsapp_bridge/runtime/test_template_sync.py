"""An account's template registry synced from the contract server's WABA (every translation, on
SQLite and PostgreSQL): listed ones inserted, changed ones updated, gone ones deleted, another
account's left alone; the platform's catalog reads them."""

from __future__ import annotations

from datetime import datetime, timezone

from flask import Flask

from tests.api.conftest import Tenants, app, tenants  # noqa: F401  (fixtures)
from voiceplatform.messages.whatsapp_catalog import catalog_for
from voiceplatform.testing.whatsapp_cloud import SEED_WABA_ID, WhatsAppCloudServer

from whatsapp_bridge.graph_client import GraphClient, TemplateRecord
from whatsapp_bridge.template_sync import sync_templates

NOW = datetime(2026, 12, 1, tzinfo=timezone.utc)


def test_the_registry_follows_the_graph_api(app: Flask, tenants: Tenants) -> None:  # noqa: F811
    sessions = app.extensions["vp_sessions"]
    acme, globex = tenants.ids["acme"], tenants.ids["globex"]
    with WhatsAppCloudServer(token="sync-token") as cloud, GraphClient(cloud.graph_url, "sync-token") as graph:
        records = graph.templates(SEED_WABA_ID)
    assert {(r.name, r.language) for r in records} >= {("hello_world", "en_US"), ("order_update", "es")}
    with sessions.begin() as db:
        first = sync_templates(db, acme, records, NOW)
        sync_templates(db, globex, records[:1], NOW)
    assert (first.added, first.changed, first.removed) == (len(records), 0, 0)
    with sessions() as db:
        catalog = catalog_for(db, acme)
        assert catalog is not None
    changed = [TemplateRecord(r.name, r.language, "PAUSED", r.category, r.body_params, r.quick_replies)
               if r.name == "order_update" else r for r in records if r.name != "hello_world"]
    with sessions.begin() as db:
        second = sync_templates(db, acme, changed, NOW)
    hello = sum(1 for r in records if r.name == "hello_world")
    orders = sum(1 for r in records if r.name == "order_update")
    assert (second.added, second.changed, second.removed) == (0, orders, hello)
    with sessions.begin() as db:
        assert sync_templates(db, globex, records[:1], NOW).removed == 0  # globex's own, untouched by acme's
