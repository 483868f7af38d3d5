"""Signed webhooks as Meta sends them: the shapes of inbound messages and statuses, the signature
over the exact (ASCII-escaped) bytes, and the delivery quirks: retries, duplicates, batches,
shuffled statuses, a status before the send call is answered."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from tests.testing.whatsapp_cloud.helpers import (
    a_list, body_params, buttons, interactive, rows, send, statuses_of, template, text, wamid_of,
)
from voiceplatform.testing.whatsapp_cloud import (
    LAYLA, SEED_NUMBER_ID, SEED_WABA_ID, USERNAME_ONLY_BSUID, ZOE, ReceivedWebhook, WebhookReceiver,
    WhatsAppCloudServer,
)

UNICODE_TEXT = "Zo\u00eb @ caf\u00e9 \U0001f600\U0001f44d\U0001f3fd \u0645\u0631\u062d\u0628\u0627 \u0628\u0643"


def only_message(receiver: WebhookReceiver) -> dict[str, Any]:
    (message,) = receiver.messages()
    return message


# ---------------------------------------------------------------- signature and bytes
def test_unicode_payload_is_ascii_escaped_and_signed_over_the_exact_bytes(
        whatsapp_cloud: WhatsAppCloudServer, whatsapp_webhooks: WebhookReceiver) -> None:
    whatsapp_cloud.client.inject_text(LAYLA, UNICODE_TEXT, name="\u0644\u064a\u0644\u0649 @home \U0001f3e0")
    whatsapp_cloud.client.wait_for_webhooks()
    (webhook,) = whatsapp_webhooks.received
    assert all(byte < 128 for byte in webhook.body)
    assert b"\\ud83d\\ude00" in webhook.body and b"\\u0645\\u0631" in webhook.body and b"@" in webhook.body
    header = webhook.headers["x-hub-signature-256"]
    assert header.startswith("sha256=") and len(header) == 71 and header[7:] == header[7:].lower()
    expected = hmac.new(whatsapp_cloud.app_secret.encode(), webhook.body, hashlib.sha256).hexdigest()
    assert header == f"sha256={expected}"
    assert webhook.signature_valid(whatsapp_cloud.app_secret)
    assert not webhook.signature_valid("another-secret")
    payload = webhook.json()
    assert payload["entry"][0]["changes"][0]["value"]["messages"][0]["text"]["body"] == UNICODE_TEXT
    # re-serialising the parsed JSON (the classic bug) does not give the signed bytes
    reserialised = json.dumps(payload, ensure_ascii=False).encode()
    assert hmac.new(whatsapp_cloud.app_secret.encode(), reserialised, hashlib.sha256).hexdigest() != expected


# ---------------------------------------------------------------- inbound messages
def test_inbound_text_envelope(whatsapp_cloud: WhatsAppCloudServer, whatsapp_webhooks: WebhookReceiver) -> None:
    injected = whatsapp_cloud.client.inject_text(ZOE, "hi")
    whatsapp_cloud.client.wait_for_webhooks()
    payload = whatsapp_webhooks.received[0].json()
    assert payload["object"] == "whatsapp_business_account"
    (entry,) = payload["entry"]
    assert entry["id"] == SEED_WABA_ID
    (change,) = entry["changes"]
    assert change["field"] == "messages"
    value = change["value"]
    assert value["messaging_product"] == "whatsapp"
    assert value["metadata"] == {"display_phone_number": "15550001111", "phone_number_id": SEED_NUMBER_ID}
    assert value["contacts"] == [{"profile": {"name": "Zo\u00eb"}, "wa_id": ZOE, "user_id": injected["user_id"]}]
    (message,) = value["messages"]
    assert message["from"] == ZOE and message["from_user_id"] == injected["user_id"]
    assert message["id"] == injected["wamid"] and message["type"] == "text" and message["text"] == {"body": "hi"}
    assert message["timestamp"].isdigit()


def test_button_reply_carries_context_of_the_message_it_answers(
        whatsapp_cloud: WhatsAppCloudServer, whatsapp_webhooks: WebhookReceiver) -> None:
    whatsapp_cloud.client.inject_text(ZOE, "hi")
    asked = wamid_of(send(whatsapp_cloud, interactive(ZOE, buttons("Yes", "No", ids=["yes", "no"]))))
    whatsapp_cloud.client.inject("button_reply", user=ZOE, id="yes", title="Yes")
    whatsapp_cloud.client.wait_for_webhooks()
    reply = whatsapp_webhooks.messages()[-1]
    assert reply["type"] == "interactive"
    assert reply["interactive"] == {"type": "button_reply", "button_reply": {"id": "yes", "title": "Yes"}}
    assert reply["context"] == {"from": "15550001111", "id": asked}


def test_list_reply(whatsapp_cloud: WhatsAppCloudServer, whatsapp_webhooks: WebhookReceiver) -> None:
    whatsapp_cloud.client.inject_text(ZOE, "hi")
    asked = wamid_of(send(whatsapp_cloud, interactive(ZOE, a_list([{"rows": rows(2)}]))))
    whatsapp_cloud.client.inject("list_reply", user=ZOE, id="r1", title="Express", description="1 day")
    whatsapp_cloud.client.wait_for_webhooks()
    reply = whatsapp_webhooks.messages()[-1]
    assert reply["interactive"] == {"type": "list_reply",
                                    "list_reply": {"id": "r1", "title": "Express", "description": "1 day"}}
    assert reply["context"]["id"] == asked


def test_template_quick_reply_is_type_button(whatsapp_cloud: WhatsAppCloudServer,
                                              whatsapp_webhooks: WebhookReceiver) -> None:
    asked = wamid_of(send(whatsapp_cloud, template(ZOE, "order_update", components=body_params("Zo\u00eb", "A1"))))
    whatsapp_cloud.client.inject("quick_reply", user=ZOE, payload="STOP", text="Stop promotions")
    whatsapp_cloud.client.wait_for_webhooks()
    reply = whatsapp_webhooks.messages()[-1]
    assert reply["type"] == "button" and reply["button"] == {"payload": "STOP", "text": "Stop promotions"}
    assert reply["context"] == {"from": "15550001111", "id": asked}


def test_voice_note_with_a_served_media_id(whatsapp_cloud: WhatsAppCloudServer, whatsapp_webhooks: WebhookReceiver) -> None:
    whatsapp_cloud.client.inject("audio", user=ZOE)
    whatsapp_cloud.client.wait_for_webhooks()
    audio = only_message(whatsapp_webhooks)["audio"]
    assert audio["voice"] is True and audio["mime_type"] == "audio/ogg; codecs=opus"
    described = whatsapp_cloud.client.media(audio["id"]).json()
    assert described["sha256"] == audio["sha256"]
    content = whatsapp_cloud.client.download(audio["url"]).content
    assert hashlib.sha256(content).hexdigest() == audio["sha256"]


def test_location(whatsapp_cloud: WhatsAppCloudServer, whatsapp_webhooks: WebhookReceiver) -> None:
    whatsapp_cloud.client.inject("location", user=ZOE, latitude=52.52, longitude=13.405, name="Home",
                                 address="Unter den Linden 1")
    whatsapp_cloud.client.wait_for_webhooks()
    message = only_message(whatsapp_webhooks)
    assert message["type"] == "location"
    assert message["location"] == {"latitude": 52.52, "longitude": 13.405, "name": "Home", "address": "Unter den Linden 1"}


def test_user_with_no_phone_number_has_only_bsuids(whatsapp_cloud: WhatsAppCloudServer,
                                                    whatsapp_webhooks: WebhookReceiver) -> None:
    whatsapp_cloud.client.inject("text", user_id=USERNAME_ONLY_BSUID, text="hi")
    wamid = wamid_of(send(whatsapp_cloud, {"messaging_product": "whatsapp", "recipient": USERNAME_ONLY_BSUID,
                                           "type": "text", "text": {"body": "hello"}}))
    whatsapp_cloud.client.wait_for_webhooks()
    message = whatsapp_webhooks.messages()[0]
    assert "from" not in message and message["from_user_id"] == USERNAME_ONLY_BSUID
    contact = whatsapp_webhooks.values()[0]["contacts"][0]
    assert "wa_id" not in contact and contact["user_id"] == USERNAME_ONLY_BSUID
    assert contact["profile"]["username"] == "nomad.42"
    statuses = statuses_of(whatsapp_webhooks, wamid)
    assert statuses and all("recipient_id" not in s and s["recipient_user_id"] == USERNAME_ONLY_BSUID for s in statuses)


def test_value_errors_without_messages(whatsapp_cloud: WhatsAppCloudServer, whatsapp_webhooks: WebhookReceiver) -> None:
    whatsapp_cloud.client.emit_value_error(0, "The access token has expired", title="AuthException")
    whatsapp_cloud.client.wait_for_webhooks()
    (value,) = whatsapp_webhooks.values()
    assert "messages" not in value and "statuses" not in value
    (error,) = value["errors"]
    assert error["code"] == 0 and error["title"] == "AuthException"
    assert error["error_data"]["details"] == "The access token has expired"


# ---------------------------------------------------------------- statuses and pricing
def test_statuses_after_a_send_with_pricing_only_on_sent_and_delivered(
        whatsapp_cloud: WhatsAppCloudServer, whatsapp_webhooks: WebhookReceiver) -> None:
    injected = whatsapp_cloud.client.inject_text(ZOE, "hi")
    wamid = wamid_of(send(whatsapp_cloud, text(ZOE)))
    whatsapp_cloud.client.wait_for_webhooks()
    statuses = statuses_of(whatsapp_webhooks, wamid)
    assert [s["status"] for s in statuses] == ["sent", "delivered", "read"]  # Zoë reads
    for status in statuses:
        assert status["recipient_id"] == ZOE and status["recipient_user_id"] == injected["user_id"]
        assert "conversation" not in status
    free = {"billable": False, "pricing_model": "PMP", "type": "free_customer_service", "category": "service"}
    assert statuses[0]["pricing"] == free and statuses[1]["pricing"] == free
    assert "pricing" not in statuses[2]


def test_a_user_who_does_not_read_gets_no_read_status(whatsapp_cloud: WhatsAppCloudServer,
                                                       whatsapp_webhooks: WebhookReceiver) -> None:
    wamid = wamid_of(send(whatsapp_cloud, template(LAYLA, "hello_world")))
    whatsapp_cloud.client.wait_for_webhooks()
    assert [s["status"] for s in statuses_of(whatsapp_webhooks, wamid)] == ["sent", "delivered"]


def test_pricing_follows_the_template_category_and_the_window(whatsapp_cloud: WhatsAppCloudServer,
                                                              whatsapp_webhooks: WebhookReceiver) -> None:
    marketing = {"type": "header", "parameters": [{"type": "image", "image": {"link": "https://example.com/a.jpg"}}]}
    sale = wamid_of(send(whatsapp_cloud, template(LAYLA, "spring_sale", components=[marketing] + body_params("L"))))
    utility_outside = wamid_of(send(whatsapp_cloud, template(LAYLA, "order_update", components=body_params("L", "1"))))
    whatsapp_cloud.client.inject_text(LAYLA, "hi")
    utility_inside = wamid_of(send(whatsapp_cloud, template(LAYLA, "order_update", components=body_params("L", "2"))))
    code = wamid_of(send(whatsapp_cloud, template(LAYLA, "login_code", components=body_params("123456") + [
        {"type": "button", "sub_type": "url", "index": "0", "parameters": [{"type": "text", "text": "123456"}]}])))
    whatsapp_cloud.client.wait_for_webhooks()

    def pricing(wamid: str) -> dict[str, Any]:
        return dict(statuses_of(whatsapp_webhooks, wamid)[0]["pricing"])

    assert pricing(sale) == {"billable": True, "pricing_model": "PMP", "type": "regular", "category": "marketing"}
    assert pricing(utility_outside)["type"] == "regular" and pricing(utility_outside)["billable"] is True
    assert pricing(utility_inside) == {"billable": False, "pricing_model": "PMP", "type": "free_customer_service",
                                       "category": "utility"}
    assert pricing(code)["category"] == "authentication" and pricing(code)["billable"] is True


def test_played_for_a_voice_note_and_an_unknown_status(whatsapp_cloud: WhatsAppCloudServer,
                                                       whatsapp_webhooks: WebhookReceiver) -> None:
    whatsapp_cloud.client.inject_text(ZOE, "hi")
    uploaded = whatsapp_cloud.client.upload(SEED_NUMBER_ID, b"OggS voice", "audio/ogg").json()["id"]
    wamid = wamid_of(send(whatsapp_cloud, {"messaging_product": "whatsapp", "to": ZOE, "type": "audio",
                                           "audio": {"id": uploaded}}))
    whatsapp_cloud.client.wait_for_webhooks()
    assert [s["status"] for s in statuses_of(whatsapp_webhooks, wamid)] == ["sent", "delivered", "read", "played"]
    whatsapp_cloud.client.emit_status(wamid, "warning_new_kind")
    whatsapp_cloud.client.emit_status(wamid, "failed", code=131000)
    whatsapp_cloud.client.wait_for_webhooks()
    later = statuses_of(whatsapp_webhooks, wamid)[4:]
    assert [s["status"] for s in later] == ["warning_new_kind", "failed"]
    assert later[1]["errors"][0]["code"] == 131000


# ---------------------------------------------------------------- delivery behaviour
def test_retries_after_500_until_the_receiver_answers_200(whatsapp_cloud: WhatsAppCloudServer,
                                                          whatsapp_webhooks: WebhookReceiver) -> None:
    whatsapp_webhooks.fail_next(2, status=500)
    injected = whatsapp_cloud.client.inject_text(ZOE, "hi")
    (delivery,) = whatsapp_cloud.client.wait_for_webhooks()
    assert [a["status_code"] for a in delivery["attempts"]] == [500, 500, 200]
    assert delivery["state"] == "delivered"
    assert whatsapp_webhooks.answers == [500, 500, 200]
    assert [m["id"] for m in whatsapp_webhooks.messages()] == [injected["wamid"]]


def test_gives_up_after_the_retry_schedule(whatsapp_cloud: WhatsAppCloudServer, whatsapp_webhooks: WebhookReceiver) -> None:
    whatsapp_cloud.client.settings(retry_schedule=[0.01, 0.02])
    whatsapp_webhooks.fail_next(5, status=503)
    whatsapp_cloud.client.inject_text(ZOE, "hi")
    (delivery,) = whatsapp_cloud.client.wait_for_webhooks()
    assert [a["status_code"] for a in delivery["attempts"]] == [503, 503, 503]
    assert delivery["state"] == "gave_up"


def test_retries_after_a_timeout(whatsapp_cloud: WhatsAppCloudServer, whatsapp_webhooks: WebhookReceiver) -> None:
    whatsapp_cloud.client.settings(timeout_seconds=0.2)
    whatsapp_webhooks.stall_next(1, seconds=0.6)
    injected = whatsapp_cloud.client.inject_text(ZOE, "hi")
    (delivery,) = whatsapp_cloud.client.wait_for_webhooks()
    first, second = delivery["attempts"]
    assert first["status_code"] is None and first["error"].startswith("timeout")
    assert second["status_code"] == 200
    whatsapp_webhooks.wait_for(lambda r: len(r.received) == 2)  # the stalled one arrived too: a duplicate
    assert [m["id"] for m in whatsapp_webhooks.messages()] == [injected["wamid"]] * 2


def test_verbatim_duplicates_are_the_same_bytes(whatsapp_cloud: WhatsAppCloudServer,
                                                 whatsapp_webhooks: WebhookReceiver) -> None:
    whatsapp_cloud.client.settings(duplicates=1.0, duplicate_style="verbatim")
    whatsapp_cloud.client.inject_text(ZOE, "hi")
    deliveries = whatsapp_cloud.client.wait_for_webhooks()
    assert [d["kind"] for d in deliveries] == ["original", "duplicate-verbatim"]
    first, second = whatsapp_webhooks.received
    assert first.body == second.body
    assert first.headers["x-hub-signature-256"] == second.headers["x-hub-signature-256"]


def test_rebatched_duplicates_carry_the_same_events_in_other_posts(
        whatsapp_cloud: WhatsAppCloudServer, whatsapp_webhooks: WebhookReceiver) -> None:
    whatsapp_cloud.client.settings(batch_max=10, duplicates=1.0, duplicate_style="rebatched")
    whatsapp_cloud.client.inject_text(ZOE, "hi")
    whatsapp_cloud.client.wait_for_webhooks()
    whatsapp_webhooks.received.clear()
    whatsapp_cloud.client.settings(hold=True)
    wamid = wamid_of(send(whatsapp_cloud, text(ZOE)))
    wait_until_held(whatsapp_cloud, 3)
    whatsapp_cloud.client.settings(hold=False)
    whatsapp_cloud.client.wait_for_webhooks()
    batch, *singles = whatsapp_webhooks.received
    assert [s["status"] for s in statuses_of_posts([batch])] == ["sent", "delivered", "read"]
    assert sorted(s["status"] for s in statuses_of_posts(singles)) == ["delivered", "read", "sent"]
    assert all(len(statuses_of_posts([p])) == 1 for p in singles)
    assert all(s["id"] == wamid for s in statuses_of_posts(whatsapp_webhooks.received))


def wait_until_held(server: WhatsAppCloudServer, count: int) -> None:
    """Wait (without a clock) until ``count`` events are held back: the statuses of a send are
    scheduled a few milliseconds after its answer."""
    server.client.wait_for_webhooks()
    assert server.account.webhooks.held() == count


def statuses_of_posts(posts: list[ReceivedWebhook]) -> list[dict[str, Any]]:
    return [s for post in posts for value in post.values() for s in value.get("statuses", [])]


def test_batches_carry_several_events_in_one_post(whatsapp_cloud: WhatsAppCloudServer,
                                                   whatsapp_webhooks: WebhookReceiver) -> None:
    whatsapp_cloud.client.settings(batch_max=10, hold=True)
    for i in range(3):
        whatsapp_cloud.client.inject_text(ZOE, f"message {i}")
    whatsapp_cloud.client.inject_text(LAYLA, "and another user")
    wait_until_held(whatsapp_cloud, 4)
    whatsapp_cloud.client.settings(hold=False)
    whatsapp_cloud.client.wait_for_webhooks()
    (post,) = whatsapp_webhooks.received
    (value,) = post.values()
    assert [m["text"]["body"] for m in value["messages"]] == ["message 0", "message 1", "message 2", "and another user"]
    assert [c.get("wa_id") for c in value["contacts"]] == [ZOE, LAYLA]
    assert post.signature_valid(whatsapp_cloud.app_secret)


def test_batches_mix_messages_and_statuses(whatsapp_cloud: WhatsAppCloudServer, whatsapp_webhooks: WebhookReceiver) -> None:
    whatsapp_cloud.client.settings(batch_max=10, hold=True)
    send(whatsapp_cloud, template(LAYLA, "hello_world"))
    whatsapp_cloud.client.inject_text(ZOE, "hi")
    wait_until_held(whatsapp_cloud, 3)
    whatsapp_cloud.client.settings(hold=False)
    whatsapp_cloud.client.wait_for_webhooks()
    (post,) = whatsapp_webhooks.received
    kinds = [k for value in post.values() for k in ("messages", "statuses") if k in value]
    assert set(kinds) == {"messages", "statuses"}


def test_shuffled_statuses_leave_out_of_order(whatsapp_cloud: WhatsAppCloudServer,
                                              whatsapp_webhooks: WebhookReceiver) -> None:
    whatsapp_cloud.client.settings(shuffle_statuses=True, seed=7)
    whatsapp_cloud.client.inject_text(ZOE, "hi")
    wamid = wamid_of(send(whatsapp_cloud, text(ZOE)))
    whatsapp_cloud.client.wait_for_webhooks()
    order = [s["status"] for s in statuses_of(whatsapp_webhooks, wamid)]
    assert sorted(order) == ["delivered", "read", "sent"] and order != ["sent", "delivered", "read"]


def test_early_status_arrives_before_the_send_is_answered(whatsapp_cloud: WhatsAppCloudServer,
                                                          whatsapp_webhooks: WebhookReceiver) -> None:
    whatsapp_cloud.client.settings(early_status=True)
    response = send(whatsapp_cloud, template(LAYLA, "hello_world"))
    seen_at_answer = [s["status"] for s in whatsapp_webhooks.statuses()]
    wamid = wamid_of(response)
    assert seen_at_answer == ["sent"]
    assert statuses_of(whatsapp_webhooks, wamid)[0]["status"] == "sent"
    whatsapp_cloud.client.wait_for_webhooks()
    assert [s["status"] for s in statuses_of(whatsapp_webhooks, wamid)] == ["sent", "delivered"]
    assert whatsapp_cloud.client.deliveries()[0]["kind"] == "early"


def test_reset_returns_to_the_seed(whatsapp_cloud: WhatsAppCloudServer, whatsapp_webhooks: WebhookReceiver) -> None:
    whatsapp_cloud.client.settings(batch_max=5, window_error_mode="webhook")
    whatsapp_cloud.client.inject_text(ZOE, "hi")
    whatsapp_cloud.client.set_tier(SEED_NUMBER_ID, 1)
    whatsapp_cloud.client.wait_for_webhooks()
    whatsapp_cloud.client.reset()
    assert whatsapp_cloud.client.sent() == [] and whatsapp_cloud.client.deliveries() == []
    settings = whatsapp_cloud.client.settings()
    assert settings["batch_max"] == 1 and settings["window_error_mode"] == "sync"
    assert send(whatsapp_cloud, text(ZOE)).status_code == 400  # the window is closed again


def test_biz_opaque_callback_data_comes_back_on_the_statuses(whatsapp_cloud: WhatsAppCloudServer,
                                                             whatsapp_webhooks: WebhookReceiver) -> None:
    body = {**template(LAYLA, "hello_world"), "biz_opaque_callback_data": "journey-42/step-3"}
    wamid = wamid_of(send(whatsapp_cloud, body))
    whatsapp_cloud.client.wait_for_webhooks()
    statuses = statuses_of(whatsapp_webhooks, wamid)
    assert statuses and all(s["biz_opaque_callback_data"] == "journey-42/step-3" for s in statuses)


def test_a_receiver_that_replies_inside_its_handler_with_early_status(
        whatsapp_cloud: WhatsAppCloudServer, whatsapp_webhooks: WebhookReceiver) -> None:
    """A bridge that answers a user's message while handling its webhook: the early ``sent`` of
    the answer must not wait behind the webhook being handled."""
    whatsapp_cloud.client.settings(early_status=True, timeout_seconds=3.0)
    answers: list[int] = []

    def reply(webhook: ReceivedWebhook) -> None:
        if any(value.get("messages") for value in webhook.values()):
            answers.append(send(whatsapp_cloud, text(ZOE, "got it")).status_code)

    whatsapp_webhooks.on_receive = reply
    whatsapp_cloud.client.inject_text(ZOE, "hi")
    deliveries = whatsapp_cloud.client.wait_for_webhooks()
    assert answers == [200]
    assert all(a["status_code"] == 200 for d in deliveries for a in d["attempts"]), deliveries


AD_REFERRAL = {"source_url": "https://fb.me/ad", "source_id": "120200000000", "source_type": "ad",
               "headline": "Spring sale", "body": "Tap to chat", "media_type": "image", "ctwa_clid": "ARAkLkA"}


def test_a_reply_to_an_ad_opens_a_72_hour_free_entry_point(whatsapp_cloud: WhatsAppCloudServer,
                                                           whatsapp_webhooks: WebhookReceiver) -> None:
    injected = whatsapp_cloud.client.inject_text(LAYLA, "I saw your ad", referral=AD_REFERRAL)
    assert injected["message"]["referral"] == AD_REFERRAL
    inside = wamid_of(send(whatsapp_cloud, text(LAYLA, "welcome")))
    whatsapp_cloud.client.advance_clock(48 * 3600)
    assert send(whatsapp_cloud, text(LAYLA, "free-form after 24 h")).status_code == 400  # the 24 h rule still holds
    later = wamid_of(send(whatsapp_cloud, template(LAYLA, "order_update", components=body_params("L", "1"))))
    whatsapp_cloud.client.advance_clock(25 * 3600)
    after = wamid_of(send(whatsapp_cloud, template(LAYLA, "order_update", components=body_params("L", "2"))))
    whatsapp_cloud.client.wait_for_webhooks()
    free = {"billable": False, "pricing_model": "PMP", "type": "free_entry_point", "category": "referral_conversion"}
    for wamid in (inside, later):
        sent, delivered = statuses_of(whatsapp_webhooks, wamid)
        assert sent["pricing"] == free and delivered["pricing"] == free
        assert sent["conversation"]["origin"] == {"type": "referral_conversion"}
    (sent_after, _) = statuses_of(whatsapp_webhooks, after)
    assert sent_after["pricing"]["type"] == "regular" and "conversation" not in sent_after
