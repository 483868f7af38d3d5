"""Every refusal Meta gives a bad request, in Meta's error shape (tests.testing.whatsapp_cloud.helpers.error_of
checks the shape), never a 500."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.testing.whatsapp_cloud.helpers import (
    a_list, body_params, buttons, error_of, interactive, rows, send, template, text,
)
from voiceplatform.testing.whatsapp_cloud import SEED_NUMBER_ID, SEED_WABA_ID, ZOE, WhatsAppCloudServer


@pytest.fixture
def cloud(quiet_cloud: WhatsAppCloudServer) -> WhatsAppCloudServer:
    quiet_cloud.client.inject_text(ZOE, "hi")  # the window is open: only the rule under test refuses
    return quiet_cloud


def refused(cloud: WhatsAppCloudServer, body: Any, code: int, status: int = 400) -> dict[str, Any]:
    response = send(cloud, body)
    assert response.status_code == status, response.text
    error = error_of(response)
    assert error["code"] == code, error
    return error


# ---------------------------------------------------------------- 190: the token
def test_missing_token_is_401_code_190(cloud: WhatsAppCloudServer) -> None:
    response = cloud.client.send(SEED_NUMBER_ID, text(ZOE), token="")
    assert response.status_code == 401
    assert error_of(response)["code"] == 190


def test_wrong_token_is_401_code_190(cloud: WhatsAppCloudServer) -> None:
    response = cloud.client.send(SEED_NUMBER_ID, text(ZOE), token="not-the-token")
    assert response.status_code == 401
    assert error_of(response)["code"] == 190
    assert cloud.client.sent() == []


def test_media_and_templates_need_the_token_too(cloud: WhatsAppCloudServer) -> None:
    for response in (cloud.client.media("123", token="bad"), cloud.client.templates(SEED_WABA_ID, token="")):
        assert response.status_code == 401
        assert error_of(response)["code"] == 190


# ---------------------------------------------------------------- 100: invalid parameter
def test_messaging_product_must_be_whatsapp(cloud: WhatsAppCloudServer) -> None:
    refused(cloud, {**text(ZOE), "messaging_product": "instagram"}, 100)


def test_missing_messaging_product_is_131008(cloud: WhatsAppCloudServer) -> None:
    body = text(ZOE)
    del body["messaging_product"]
    refused(cloud, body, 131008)


def test_unknown_phone_number_id_is_100(cloud: WhatsAppCloudServer) -> None:
    response = send(cloud, text(ZOE), number="999999")
    assert response.status_code == 400 and error_of(response)["code"] == 100


def test_text_longer_than_4096_is_refused_and_4096_is_not(cloud: WhatsAppCloudServer) -> None:
    refused(cloud, text(ZOE, "x" * 4097), 100)
    assert send(cloud, text(ZOE, "\u00e9" * 4096)).status_code == 200


def test_unknown_type_is_100(cloud: WhatsAppCloudServer) -> None:
    refused(cloud, {"messaging_product": "whatsapp", "to": ZOE, "type": "hologram", "hologram": {}}, 100)


@pytest.mark.parametrize("raw", [b"", b"not json", b"[1,2", b"\xff\xfe", b'"a string"', b"[]", b"42", b"null",
                                 b"[" * 100_000])
def test_malformed_bodies_get_meta_400_never_500(cloud: WhatsAppCloudServer, raw: bytes) -> None:
    response = cloud.client.send_raw(SEED_NUMBER_ID, raw)
    assert response.status_code == 400, response.text
    assert error_of(response)["code"] == 100


@pytest.mark.parametrize("body", [
    {"messaging_product": "whatsapp", "to": ZOE, "type": "text", "text": "hello"},
    {"messaging_product": "whatsapp", "to": ZOE, "type": "text", "text": {"body": 42}},
    {"messaging_product": "whatsapp", "to": ZOE, "type": "text", "text": {"body": ["a"]}},
    {"messaging_product": "whatsapp", "to": ["x"], "type": "text", "text": {"body": "a"}},
    {"messaging_product": "whatsapp", "to": ZOE, "type": 7},
    {"messaging_product": "whatsapp", "to": ZOE, "type": "interactive", "interactive": {"type": "button", "body": "x"}},
    {"messaging_product": "whatsapp", "to": ZOE, "type": "interactive",
     "interactive": {"type": "button", "body": {"text": "x"}, "action": {"buttons": "three"}}},
    {"messaging_product": "whatsapp", "to": ZOE, "type": "template", "template": {"name": "hello_world", "language": "en"}},
    {"messaging_product": "whatsapp", "to": ZOE, "type": "template",
     "template": {"name": "hello_world", "language": {"code": "en_US"}, "components": {"a": 1}}},
    {"messaging_product": "whatsapp", "to": ZOE, "type": "image", "image": "http://x"},
    {"messaging_product": "whatsapp", "status": "read", "message_id": {"id": 1}},
])
def test_wrong_types_get_meta_400(cloud: WhatsAppCloudServer, body: dict[str, Any]) -> None:
    response = send(cloud, body)
    assert response.status_code == 400, response.text
    assert error_of(response)["code"] in (100, 131008, 131009)


def test_oversized_body_is_refused_in_meta_shape(cloud: WhatsAppCloudServer) -> None:
    raw = json.dumps(text(ZOE, "x" * (2 * 1024 * 1024))).encode()
    response = cloud.client.send_raw(SEED_NUMBER_ID, raw)
    assert response.status_code in (400, 413)
    assert error_of(response)["code"] == 100


def test_unknown_path_is_meta_shaped(cloud: WhatsAppCloudServer) -> None:
    response = cloud.client._http.post("/v23.0/1/2/3/4", json={})
    assert response.status_code in (400, 404, 405)
    assert "error" in response.json()


# ---------------------------------------------------------------- 131008: required parameter missing
def test_missing_recipient_is_131008(cloud: WhatsAppCloudServer) -> None:
    body = text(ZOE)
    del body["to"]
    refused(cloud, body, 131008)


def test_missing_text_body_is_131008(cloud: WhatsAppCloudServer) -> None:
    refused(cloud, {"messaging_product": "whatsapp", "to": ZOE, "type": "text", "text": {}}, 131008)


def test_media_without_id_or_link_is_131008(cloud: WhatsAppCloudServer) -> None:
    refused(cloud, {"messaging_product": "whatsapp", "to": ZOE, "type": "image", "image": {"caption": "c"}}, 131008)


# ---------------------------------------------------------------- 131009: parameter value invalid
def test_recipient_that_is_not_a_phone_number_is_131009(cloud: WhatsAppCloudServer) -> None:
    refused(cloud, text("call me maybe"), 131009)


def test_four_buttons_are_refused_three_are_not(cloud: WhatsAppCloudServer) -> None:
    refused(cloud, interactive(ZOE, buttons("a", "b", "c", "d")), 131009)
    assert send(cloud, interactive(ZOE, buttons("a", "b", "c"))).status_code == 200


def test_duplicate_button_ids_are_refused(cloud: WhatsAppCloudServer) -> None:
    refused(cloud, interactive(ZOE, buttons("Yes", "No", ids=["same", "same"])), 131009)


def test_duplicate_button_titles_are_refused(cloud: WhatsAppCloudServer) -> None:
    refused(cloud, interactive(ZOE, buttons("Yes", "Yes")), 131009)


def test_button_title_over_20_characters_is_refused(cloud: WhatsAppCloudServer) -> None:
    refused(cloud, interactive(ZOE, buttons("x" * 21)), 131009)
    assert send(cloud, interactive(ZOE, buttons("\U0001f600" * 20))).status_code == 200


def test_button_body_over_1024_is_refused(cloud: WhatsAppCloudServer) -> None:
    refused(cloud, interactive(ZOE, buttons("a", body="x" * 1025)), 131009)


def test_list_body_may_be_4096_but_not_more(cloud: WhatsAppCloudServer) -> None:
    assert send(cloud, interactive(ZOE, a_list([{"rows": rows(1)}], body="x" * 4096))).status_code == 200
    refused(cloud, interactive(ZOE, a_list([{"rows": rows(1)}], body="x" * 4097)), 131009)


def test_list_button_over_20_is_refused(cloud: WhatsAppCloudServer) -> None:
    refused(cloud, interactive(ZOE, a_list([{"rows": rows(1)}], button="x" * 21)), 131009)


def test_list_rows_are_counted_across_sections(cloud: WhatsAppCloudServer) -> None:
    ten = [{"title": "A", "rows": rows(5, "a")}, {"title": "B", "rows": rows(5, "b")}]
    assert send(cloud, interactive(ZOE, a_list(ten))).status_code == 200
    eleven = [{"title": "A", "rows": rows(6, "a")}, {"title": "B", "rows": rows(5, "b")}]
    refused(cloud, interactive(ZOE, a_list(eleven)), 131009)


def test_list_row_title_over_24_is_refused(cloud: WhatsAppCloudServer) -> None:
    refused(cloud, interactive(ZOE, a_list([{"rows": [{"id": "r", "title": "x" * 25}]}])), 131009)


def test_list_row_description_over_72_is_refused(cloud: WhatsAppCloudServer) -> None:
    row = {"id": "r", "title": "t", "description": "x" * 73}
    refused(cloud, interactive(ZOE, a_list([{"rows": [row]}])), 131009)


def test_list_row_id_over_200_is_refused(cloud: WhatsAppCloudServer) -> None:
    refused(cloud, interactive(ZOE, a_list([{"rows": [{"id": "x" * 201, "title": "t"}]}])), 131009)


def test_list_section_title_over_24_is_refused(cloud: WhatsAppCloudServer) -> None:
    sections = [{"title": "x" * 25, "rows": rows(1, "a")}, {"title": "B", "rows": rows(1, "b")}]
    refused(cloud, interactive(ZOE, a_list(sections)), 131009)


def test_list_header_must_be_text(cloud: WhatsAppCloudServer) -> None:
    content = a_list([{"rows": rows(1)}])
    content["header"] = {"type": "image", "image": {"link": "https://example.com/a.png"}}
    refused(cloud, interactive(ZOE, content), 131009)


def test_caption_over_1024_is_refused(cloud: WhatsAppCloudServer) -> None:
    body = {"messaging_product": "whatsapp", "to": ZOE, "type": "image",
            "image": {"link": "https://example.com/a.png", "caption": "x" * 1025}}
    refused(cloud, body, 100)


def test_media_link_must_be_http(cloud: WhatsAppCloudServer) -> None:
    body = {"messaging_product": "whatsapp", "to": ZOE, "type": "video", "video": {"link": "file:///etc/passwd"}}
    refused(cloud, body, 131009)


# ---------------------------------------------------------------- templates against the registry
def test_template_parameter_count_mismatch_is_132000(cloud: WhatsAppCloudServer) -> None:
    refused(cloud, template(ZOE, "order_update", components=body_params("Ann")), 132000)
    refused(cloud, template(ZOE, "order_update", components=body_params("Ann", "A1", "extra")), 132000)
    refused(cloud, template(ZOE, "order_update"), 132000)


def test_unknown_template_is_132001(cloud: WhatsAppCloudServer) -> None:
    refused(cloud, template(ZOE, "no_such_template"), 132001)


def test_template_language_must_match_exactly(cloud: WhatsAppCloudServer) -> None:
    refused(cloud, template(ZOE, "order_update", "en", body_params("Ann", "A1")), 132001)
    assert send(cloud, template(ZOE, "order_update", "es", body_params("Ana", "A1"))).status_code == 200


def test_pending_template_cannot_be_sent(cloud: WhatsAppCloudServer) -> None:
    error = refused(cloud, template(ZOE, "pending_welcome", components=body_params("Ann")), 132001)
    assert "PENDING" in error["error_data"]["details"]


def test_paused_template_is_132015(cloud: WhatsAppCloudServer) -> None:
    refused(cloud, template(ZOE, "paused_promo", components=body_params("Ann")), 132015)


def test_disabled_template_is_132016(cloud: WhatsAppCloudServer) -> None:
    refused(cloud, template(ZOE, "disabled_promo", components=body_params("Ann")), 132016)


def test_template_with_header_and_url_button_params(cloud: WhatsAppCloudServer) -> None:
    components = [{"type": "header", "parameters": [{"type": "text", "text": "Ann"}]},
                  {"type": "body", "parameters": [{"type": "text", "text": "Monday"}, {"type": "text", "text": "10:00"}]},
                  {"type": "button", "sub_type": "url", "index": "0", "parameters": [{"type": "text", "text": "abc"}]}]
    assert send(cloud, template(ZOE, "appointment_reminder", components=components)).status_code == 200
    refused(cloud, template(ZOE, "appointment_reminder", components=components[:2]), 132000)


def test_template_image_header_and_quick_reply_payloads(cloud: WhatsAppCloudServer) -> None:
    components = [{"type": "header", "parameters": [{"type": "image", "image": {"link": "https://example.com/s.jpg"}}]},
                  {"type": "body", "parameters": [{"type": "text", "text": "Ann"}]},
                  {"type": "button", "sub_type": "quick_reply", "index": "1",
                   "parameters": [{"type": "payload", "payload": "STOP"}]}]
    response = send(cloud, template(ZOE, "spring_sale", components=components))
    assert response.status_code == 200, response.text


def test_registered_template_is_checked_like_a_seeded_one(cloud: WhatsAppCloudServer) -> None:
    cloud.client.add_template("survey_invite", "fr", "MARKETING", "APPROVED",
                              [{"type": "BODY", "text": "Bonjour {{1}}, {{2}} ?"}])
    assert send(cloud, template(ZOE, "survey_invite", "fr", body_params("Zo\u00eb", "oui"))).status_code == 200
    refused(cloud, template(ZOE, "survey_invite", "fr", body_params("Zo\u00eb")), 132000)
