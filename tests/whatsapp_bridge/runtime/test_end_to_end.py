"""The bridge end to end against the WhatsApp contract server (voiceplatform.testing.whatsapp_cloud),
on SQLite and PostgreSQL: Zoë writes to our seed number, whose inbound flow starts a session; its
question goes out as a button message (her window is open); she taps a button on the server's
side (its control endpoint), the signed webhook resumes the session, and its answer goes out as
text. The statuses Meta posts move the messages forward."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import replace

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.api.conftest import Tenants, app, client, tenants  # noqa: F401  (fixtures)
from tests.whatsapp_bridge.runtime.world import APP_SECRET, World, wait_for
from voiceplatform.models.whatsapp import SENT
from voiceplatform.testing.whatsapp_cloud import SEED_NUMBER_ID, ZOE, WhatsAppCloudServer

from whatsapp_bridge.bridge import WhatsAppBridge
from whatsapp_bridge.config import BusinessNumber
from whatsapp_bridge.throughput import LocalThroughput

SEED = BusinessNumber(SEED_NUMBER_ID, "+12026669999", 80)  # the seed number, registered under a number the platform takes
TOKEN = "end-to-end-token"


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    yield sock
    sock.close()


def test_a_button_tapped_on_the_contract_server_resumes_the_session(
        app: Flask, client: FlaskClient, tenants: Tenants, listener: socket.socket) -> None:  # noqa: F811
    port = listener.getsockname()[1]
    with WhatsAppCloudServer(webhook_url=f"http://127.0.0.1:{port}/whatsapp/webhook", app_secret=APP_SECRET,
                             token=TOKEN) as cloud:
        world = World(app, client, tenants, numbers=0)
        world.with_settings(graph_url=cloud.graph_url, token=TOKEN, numbers=(SEED,))
        name, _ = world.publish()
        world.register(SEED, flow=name)
        bridge = WhatsAppBridge(world.sessions, replace(world.settings, poll_every=0.02, inbox_poll_every=0.05),
                                messaging=world.messaging, listener=listener, throughput=LocalThroughput()).start()
        try:
            cloud.client.inject_text(ZOE, "hi")
            asked = wait_for(lambda: next((entry for entry in cloud.client.sent()
                                           if entry["kind"] == "interactive"), None), what="the button message")
            buttons = asked["body"]["interactive"]["action"]["buttons"]
            assert [button["reply"]["id"] for button in buttons] == ["yes", "no"]
            assert asked["body"]["to"] == ZOE
            cloud.client.inject("button_reply", user=ZOE, id="yes", title="Yes")
            thanks = wait_for(lambda: next((entry for entry in cloud.client.sent()
                                            if entry["kind"] == "text"), None), what="the answer's text")
            assert thanks["body"]["text"]["body"] == "Thanks: yes"
            question = wait_for(lambda: next((message for message in world.messages(recipient=f"+{ZOE}")
                                              if message.message_type == "interactive"
                                              and message.status in ("delivered", "read")), None),
                                what="the question's delivery status")
            assert question.send_state == SENT and question.wamid == asked["wamid"]
            session = world.session(question.session_id or "")
            assert session.status == "completed" and session.address == f"+{ZOE}"
        finally:
            bridge.stop(10)
