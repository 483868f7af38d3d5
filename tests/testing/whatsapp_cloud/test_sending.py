"""Accepted sends: Meta's success body, the record of what was sent, media and template endpoints."""

from __future__ import annotations

import hashlib

from tests.testing.whatsapp_cloud.helpers import a_list, body_params, buttons, interactive, rows, send, template, text
from voiceplatform.testing.whatsapp_cloud import (
    SEED_NUMBER_ID, SEED_WABA_ID, USERNAME_ONLY_BSUID, ZOE, WhatsAppCloudServer,
)
from voiceplatform.testing.whatsapp_cloud.registry import PhoneNumber, Registry, Template


def test_text_success_body_is_metas(quiet_cloud: WhatsAppCloudServer) -> None:
    user = quiet_cloud.client.inject_text(ZOE, "hi")
    response = send(quiet_cloud, text("+1 555 123 4567", "hello"))
    assert response.status_code == 200
    body = response.json()
    assert list(body) == ["messaging_product", "contacts", "messages"]
    assert body["contacts"] == [{"input": "+1 555 123 4567", "wa_id": ZOE, "user_id": user["user_id"]}]
    (message,) = body["messages"]
    assert list(message) == ["id"]  # message_status is for templates only
    assert message["id"].startswith("wamid.") and len(message["id"]) <= 128


def test_template_success_carries_message_status(quiet_cloud: WhatsAppCloudServer) -> None:
    response = send(quiet_cloud, template("15557654321", "order_update", components=body_params("Ann", "A-1")))
    assert response.status_code == 200, response.text
    assert response.json()["messages"][0]["message_status"] == "accepted"


def test_every_accepted_request_is_recorded_in_order(quiet_cloud: WhatsAppCloudServer) -> None:
    inbound = quiet_cloud.client.inject_text(ZOE, "hi")
    bodies = [text(ZOE, "one"), interactive(ZOE, buttons("Yes", "No")),
              interactive(ZOE, a_list([{"title": "Ship", "rows": rows(2)}])),
              {"messaging_product": "whatsapp", "to": ZOE, "type": "image",
               "image": {"link": "https://example.com/a.png", "caption": "look"}},
              {"messaging_product": "whatsapp", "to": ZOE, "type": "document",
               "document": {"link": "https://example.com/a.pdf", "filename": "invoice.pdf", "caption": "c"}},
              {"messaging_product": "whatsapp", "to": ZOE, "type": "audio", "audio": {"id": "1234567"}},
              {"messaging_product": "whatsapp", "to": ZOE, "type": "video", "video": {"id": "7654321"}}]
    wamids = [send(quiet_cloud, b).json()["messages"][0]["id"] for b in bodies]
    read = send(quiet_cloud, {"messaging_product": "whatsapp", "status": "read", "message_id": inbound["wamid"]})
    assert read.status_code == 200 and read.json() == {"success": True}
    sent = quiet_cloud.client.sent()
    assert [s["kind"] for s in sent] == ["text", "interactive", "interactive", "image", "document", "audio", "video",
                                         "mark_read"]
    assert [s["wamid"] for s in sent[:-1]] == wamids
    assert [s["body"] for s in sent[:-1]] == bodies
    assert sent[-1]["wamid"] == inbound["wamid"]
    assert [s["seq"] for s in sent] == sorted(s["seq"] for s in sent)


def test_mark_read_of_an_unknown_message_is_refused(quiet_cloud: WhatsAppCloudServer) -> None:
    response = send(quiet_cloud, {"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.nope"})
    assert response.status_code == 400 and response.json()["error"]["code"] == 100


def test_recipient_by_bsuid_for_a_user_with_no_phone_number(quiet_cloud: WhatsAppCloudServer) -> None:
    quiet_cloud.client.inject("text", user_id=USERNAME_ONLY_BSUID, text="hi")
    response = send(quiet_cloud, {"messaging_product": "whatsapp", "recipient": USERNAME_ONLY_BSUID,
                                  "type": "text", "text": {"body": "hello"}})
    assert response.status_code == 200, response.text
    assert response.json()["contacts"] == [{"input": USERNAME_ONLY_BSUID, "user_id": USERNAME_ONLY_BSUID}]


def test_unknown_bsuid_is_refused(quiet_cloud: WhatsAppCloudServer) -> None:
    response = send(quiet_cloud, {"messaging_product": "whatsapp", "recipient": "US.99999999999",
                                  "type": "template", "template": {"name": "hello_world", "language": {"code": "en_US"}}})
    assert response.status_code == 400 and response.json()["error"]["code"] == 131009


def test_inbound_voice_note_media_is_served_with_the_token(quiet_cloud: WhatsAppCloudServer) -> None:
    injected = quiet_cloud.client.inject("audio", user=ZOE)
    info = quiet_cloud.client.media(injected["media_id"])
    assert info.status_code == 200
    described = info.json()
    assert {"url", "mime_type", "sha256", "id"} <= set(described)
    assert described["id"] == injected["media_id"] and described["mime_type"] == "audio/ogg; codecs=opus"
    assert injected["message"]["audio"]["voice"] is True
    assert injected["message"]["audio"]["id"] == described["id"]
    data = quiet_cloud.client.download(described["url"])
    assert data.status_code == 200
    assert hashlib.sha256(data.content).hexdigest() == described["sha256"]
    assert quiet_cloud.client.download(described["url"], token="").status_code == 401
    assert quiet_cloud.client.media("123456789").status_code == 400


def test_uploaded_media_can_be_read_back(quiet_cloud: WhatsAppCloudServer) -> None:
    uploaded = quiet_cloud.client.upload(SEED_NUMBER_ID, b"%PDF-1.4 hello", "application/pdf")
    assert uploaded.status_code == 200
    described = quiet_cloud.client.media(uploaded.json()["id"]).json()
    assert quiet_cloud.client.download(described["url"]).content == b"%PDF-1.4 hello"


def test_message_templates_lists_the_registry_in_metas_shape(quiet_cloud: WhatsAppCloudServer) -> None:
    response = quiet_cloud.client.templates(SEED_WABA_ID, limit="100")
    assert response.status_code == 200
    data = response.json()["data"]
    order_update = [t for t in data if t["name"] == "order_update"]
    assert {t["language"] for t in order_update} == {"en_US", "es"}
    for row in data:
        assert {"name", "language", "status", "category", "components", "id"} <= set(row)
    assert {t["status"] for t in data} >= {"APPROVED", "PAUSED", "DISABLED", "PENDING", "REJECTED"}
    first = quiet_cloud.client.templates(SEED_WABA_ID, limit="3").json()
    assert len(first["data"]) == 3 and "next" in first["paging"]
    following = quiet_cloud.client.templates(SEED_WABA_ID, limit="3", after=first["paging"]["cursors"]["after"]).json()
    assert following["data"][0] == data[3]
    approved = quiet_cloud.client.templates(SEED_WABA_ID, status="APPROVED", limit="100").json()["data"]
    assert approved and all(t["status"] == "APPROVED" for t in approved)
    assert quiet_cloud.client.templates("42").status_code == 400


def test_a_registry_of_ones_own_survives_reset() -> None:
    registry = Registry()
    registry.add_number(PhoneNumber("777", "15550007777", "888", tier=5))
    registry.add_template(Template("only_one", "de", "UTILITY", "APPROVED", [{"type": "BODY", "text": "Hallo"}]))
    with WhatsAppCloudServer(registry=registry) as server:
        server.client.settings(auto_statuses=False)
        assert send(server, template(ZOE, "only_one", "de"), number="777").status_code == 200
        server.client.reset()
        assert send(server, template(ZOE, "only_one", "de"), number="777").status_code == 200
        assert send(server, template(ZOE, "hello_world"), number="777").json()["error"]["code"] == 132001
        assert [t["name"] for t in server.client.templates("888").json()["data"]] == ["only_one"]
