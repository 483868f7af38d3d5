"""The builders and the Graph client against the WhatsApp contract server (in-process, port 0):
every message the builders make is one Meta's validation accepts, the errors come back
classified, templates page, media downloads; and the webhooks the server signs verify and parse
with no problem."""

from __future__ import annotations

import httpx
import pytest

from voiceplatform.flow.outputs import Button, Send
from voiceplatform.testing.whatsapp_cloud import (LAYLA, SEED_NUMBER_ID, SEED_WABA_ID, USERNAME_ONLY_BSUID, ZOE,
                                                 WebhookReceiver, WhatsAppCloudServer)
from whatsapp_bridge.errors import GraphAuthError, MediaTooLargeError, ReengagementError, Retry
from whatsapp_bridge.graph_client import GraphClient
from whatsapp_bridge.identity import contact_address, contact_identity
from whatsapp_bridge.messages import (ButtonMessage, ListMessage, ListRow, ListSection, MediaMessage, MediaRef,
                                      Message, ReplyButton, TemplateMessage, TextMessage)
from whatsapp_bridge.rendering import render
from whatsapp_bridge.signature import HEADER_NAME, verify
from whatsapp_bridge.webhook_payloads import parse, to_input


def graph(server: WhatsAppCloudServer, **options: object) -> GraphClient:
    return GraphClient(server.graph_url, server.token, **options)  # type: ignore[arg-type]


FREE_FORM: list[Message] = [
    TextMessage("مرحبا Zoë 👋 — write to help@example.com", preview_url=True),
    ButtonMessage("Confirm your visit?", (ReplyButton("1", "Yes"), ReplyButton("2", "No"), ReplyButton("3", "Later")),
                  header="Visit", footer="Reply any time"),
    ListMessage("Slots", "Pick a slot", (ListSection(tuple(ListRow(f"s{n}", f"Slot {n}", "30 min") for n in range(9))
                                                     + (ListRow("__more", "More"),), "Tuesday"),)),
    MediaMessage("image", MediaRef(link="https://cdn.example.com/receipt.png"), caption="Your receipt"),
    MediaMessage("document", MediaRef(link="https://cdn.example.com/bill.pdf"), caption="Bill", filename="bill.pdf"),
]


def test_every_free_form_builder_is_accepted_inside_the_window(whatsapp_cloud: WhatsAppCloudServer) -> None:
    whatsapp_cloud.client.inject_text(ZOE, "hi")
    with graph(whatsapp_cloud) as client:
        results = [client.send_message(SEED_NUMBER_ID, message, "+" + ZOE) for message in FREE_FORM]
    assert all(result.wamid.startswith("wamid.") for result in results)
    assert len({result.wamid for result in results}) == len(FREE_FORM)
    assert results[0].wa_id == ZOE and results[0].user_id


def test_templates_go_outside_the_window_and_free_form_gets_131047(whatsapp_cloud: WhatsAppCloudServer) -> None:
    with graph(whatsapp_cloud) as client:
        sent = client.send_message(SEED_NUMBER_ID, TemplateMessage("order_update", "en_US", ("Layla", "A-42"),
                                                                   quick_replies=("yes", "stop")), LAYLA)
        assert sent.message_status == "accepted"
        send = Send("whatsapp", "Your order A-42 is on its way", buttons=(Button("yes", "Thanks"),),
                    template={"name": "order_update", "language": "en_US", "params": ["Layla", "A-42"]})
        [outside] = render(send, window_open=False)
        assert client.send_message(SEED_NUMBER_ID, outside, LAYLA).wamid
        with pytest.raises(ReengagementError) as caught:
            client.send_message(SEED_NUMBER_ID, TextMessage("hello"), LAYLA)
    assert caught.value.retry is Retry.NEVER and caught.value.code == 131047


def test_a_wrong_token_is_an_auth_error(whatsapp_cloud: WhatsAppCloudServer) -> None:
    with GraphClient(whatsapp_cloud.graph_url, "wrong-token") as client, pytest.raises(GraphAuthError) as caught:
        client.send_message(SEED_NUMBER_ID, TextMessage("hi"), ZOE)
    assert caught.value.http_status == 401 and caught.value.code == 190


def test_templates_are_listed_across_pages(whatsapp_cloud: WhatsAppCloudServer) -> None:
    with graph(whatsapp_cloud, template_page_size=3) as client:
        records = client.templates(SEED_WABA_ID)
    by_key = {(record.name, record.language): record for record in records}
    assert len(by_key) == len(records) > 3
    order = by_key["order_update", "en_US"]
    assert (order.status, order.category, order.body_params, order.quick_replies) == (
        "APPROVED", "UTILITY", 2, ("Yes", "Stop promotions"))
    assert by_key["paused_promo", "en_US"].status == "PAUSED"
    assert by_key["spring_sale", "en_US"].category == "MARKETING"


def test_an_inbound_voice_note_is_fetched_with_a_cap_and_marked_read(whatsapp_cloud: WhatsAppCloudServer,
                                                                        whatsapp_webhooks: WebhookReceiver) -> None:
    whatsapp_cloud.client.inject("audio", user=ZOE)
    whatsapp_cloud.client.wait_for_webhooks()
    [event] = [event for webhook in whatsapp_webhooks.received for event in parse(webhook.json()).inbound]
    assert event.kind == "audio" and event.media is not None
    with graph(whatsapp_cloud) as client:
        info = client.media_info(event.media.id)
        audio = client.download(info.url, max_bytes=10 * 1024 * 1024)
        assert audio and (info.file_size is None or info.file_size == len(audio))
        with pytest.raises(MediaTooLargeError):
            client.download(info.url, max_bytes=len(audio) - 1)
        client.mark_read(SEED_NUMBER_ID, event.message_id)


def test_the_servers_webhooks_verify_over_their_bytes_and_parse_cleanly(whatsapp_cloud: WhatsAppCloudServer,
                                                                         whatsapp_webhooks: WebhookReceiver) -> None:
    whatsapp_cloud.client.inject_text(ZOE, "مرحبا 👋 @home")
    with graph(whatsapp_cloud) as client:
        client.send_message(SEED_NUMBER_ID, TextMessage("Welcome 🌙"), ZOE)
    whatsapp_cloud.client.wait_for_webhooks()
    assert whatsapp_webhooks.received
    kinds: set[str] = set()
    for webhook in whatsapp_webhooks.received:
        headers = httpx.Headers(webhook.headers)
        assert verify(whatsapp_cloud.app_secret, webhook.body, headers.get(HEADER_NAME))
        assert not verify("another secret", webhook.body, headers.get(HEADER_NAME))
        batch = parse(webhook.json())
        assert batch.problems == []
        kinds |= {event.text or "" for event in batch.inbound} | {status.status for status in batch.statuses}
    assert "مرحبا 👋 @home" in kinds and {"sent", "delivered", "read"} <= kinds


def test_every_inbound_kind_the_server_sends_parses_into_the_engine_input(
        whatsapp_cloud: WhatsAppCloudServer, whatsapp_webhooks: WebhookReceiver) -> None:
    cloud = whatsapp_cloud.client
    cloud.inject("button_reply", user=ZOE, id="1", title="Yes")
    cloud.inject("list_reply", user=ZOE, id="__more", title="More", description="next page")
    cloud.inject("quick_reply", user=LAYLA, payload="stop", text="Stop promotions")
    cloud.inject("location", user=ZOE, latitude=24.7136, longitude=46.6753, name="Kingdom Centre")
    cloud.inject("text", user_id=USERNAME_ONLY_BSUID, text="from a username")
    cloud.wait_for_webhooks()
    events = [event for webhook in whatsapp_webhooks.received for event in parse(webhook.json()).inbound]
    assert [(event.kind, to_input(event).value) for event in events] == [
        ("button_reply", "1"), ("list_reply", "__more"), ("template_button", "stop"),
        ("location", "24.7136,46.6753"), ("text", "from a username")]
    # addressed by the phone when the server gives one, else by the BSUID (a username-only user);
    # the BSUID the server gives every user is kept beside the phone
    assert [contact_address(event) for event in events] == [
        "+" + ZOE, "+" + ZOE, "+" + LAYLA, "+" + ZOE, USERNAME_ONLY_BSUID]
    assert all(contact_identity(event.user_id, event.wa_id).user_id == event.user_id for event in events)
    assert all(event.user_id for event in events)
    assert events[-1].user_id == USERNAME_ONLY_BSUID
