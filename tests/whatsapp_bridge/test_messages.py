"""The message builders: each limit of the Cloud API is refused at construction, naming the field,
and ``to_json`` gives the request body for a phone number (``to``) or a BSUID (``recipient``)."""

from __future__ import annotations

import json
from typing import Any, Callable

import pytest

from voiceplatform.exceptions import InputRejectedError
from whatsapp_bridge.errors import WhatsAppPayloadError
from whatsapp_bridge.messages import (ButtonMessage, ListMessage, ListRow, ListSection, MarkRead, MediaHeader,
                                      MediaMessage, MediaRef, ReplyButton, TemplateMessage, TextMessage)

BSUID = "US.13491208655302741918"


def rejected(build: Callable[[], object], field: str) -> WhatsAppPayloadError:
    with pytest.raises(WhatsAppPayloadError) as caught:
        build()
    assert caught.value.field == field, caught.value
    assert isinstance(caught.value, InputRejectedError)
    return caught.value


def rows(count: int, prefix: str = "r") -> tuple[ListRow, ...]:
    return tuple(ListRow(f"{prefix}{n}", f"Row {n}") for n in range(count))


# ---- text ----

def test_text_to_a_phone_number_and_to_a_bsuid() -> None:
    message = TextMessage("Marhaba مرحبا 👋 a@b.c")
    assert message.to_json("+15551234567") == {
        "messaging_product": "whatsapp", "recipient_type": "individual", "to": "15551234567", "type": "text",
        "text": {"body": "Marhaba مرحبا 👋 a@b.c", "preview_url": False}}
    body = message.to_json(BSUID)
    assert body["recipient"] == BSUID and "to" not in body
    json.dumps(body, ensure_ascii=True)  # serialisable


def test_text_limits() -> None:
    assert TextMessage("x" * 4096).body
    assert "4096" in str(rejected(lambda: TextMessage("x" * 4097), "text.body"))
    rejected(lambda: TextMessage("   "), "text.body")
    rejected(lambda: TextMessage(42), "text.body")  # type: ignore[arg-type]
    rejected(lambda: TextMessage("bad \ud800 surrogate"), "text.body")
    rejected(lambda: TextMessage("ok", preview_url="yes"), "text.preview_url")  # type: ignore[arg-type]


@pytest.mark.parametrize("address", ["hello", "+0123456", "1234", "+1234567890123456", "us.123", ""])
def test_a_recipient_that_is_neither_a_number_nor_a_bsuid_is_refused(address: str) -> None:
    rejected(lambda: TextMessage("hi").to_json(address), "recipient")


# ---- buttons ----

def test_button_message_json() -> None:
    message = ButtonMessage("Pay now?", (ReplyButton("yes", "Yes"), ReplyButton("no", "No")), header="Invoice",
                            footer="Reply any time")
    assert message.to_json("15551234567")["interactive"] == {
        "type": "button", "header": {"type": "text", "text": "Invoice"}, "body": {"text": "Pay now?"},
        "footer": {"text": "Reply any time"},
        "action": {"buttons": [{"type": "reply", "reply": {"id": "yes", "title": "Yes"}},
                               {"type": "reply", "reply": {"id": "no", "title": "No"}}]}}


def test_button_message_media_header() -> None:
    header = MediaHeader("image", MediaRef(link="https://example.com/a.png"))
    body = ButtonMessage("Look", (ReplyButton("a", "A"),), header=header).to_json("15551234567")
    assert body["interactive"]["header"] == {"type": "image", "image": {"link": "https://example.com/a.png"}}


def test_button_limits() -> None:
    one = (ReplyButton("a", "A"),)
    rejected(lambda: ButtonMessage("x" * 1025, one), "body.text")
    rejected(lambda: ButtonMessage("q", ()), "buttons")
    rejected(lambda: ButtonMessage("q", tuple(ReplyButton(str(n), str(n)) for n in range(4))), "buttons")
    rejected(lambda: ButtonMessage("q", (ReplyButton("a", "x" * 21),)), "buttons[0].title")
    rejected(lambda: ButtonMessage("q", (ReplyButton("a" * 257, "A"),)), "buttons[0].id")
    rejected(lambda: ButtonMessage("q", (ReplyButton("a", "A"), ReplyButton("a", "B"))), "buttons[1].id")
    rejected(lambda: ButtonMessage("q", (ReplyButton("a", "A"), ReplyButton("b", "A"))), "buttons[1].title")
    rejected(lambda: ButtonMessage("q", one, header="h" * 61), "header.text")
    rejected(lambda: ButtonMessage("q", one, footer="f" * 61), "footer.text")
    rejected(lambda: ButtonMessage("q", ["a"]), "buttons")  # type: ignore[arg-type]
    rejected(lambda: ButtonMessage("q", ("a",)), "buttons[0]")  # type: ignore[arg-type]
    assert ButtonMessage("x" * 1024, (ReplyButton("a" * 256, "x" * 20),), footer="f" * 60)


# ---- lists ----

def test_list_message_json() -> None:
    message = ListMessage("Choose", "Which delivery?", (ListSection((ListRow("r1", "Express", "1 day"),
                                                                     ListRow("r2", "Standard")), "Speed"),),
                          header="Delivery", footer="Thanks")
    assert message.to_json("15551234567")["interactive"] == {
        "type": "list", "header": {"type": "text", "text": "Delivery"}, "body": {"text": "Which delivery?"},
        "footer": {"text": "Thanks"},
        "action": {"button": "Choose", "sections": [{"title": "Speed", "rows": [
            {"id": "r1", "title": "Express", "description": "1 day"}, {"id": "r2", "title": "Standard"}]}]}}


def test_list_limits() -> None:
    ListMessage("b" * 20, "x" * 4096, (ListSection(rows(5), "A"), ListSection(rows(5, "s"), "B")))
    rejected(lambda: ListMessage("b" * 21, "q", (ListSection(rows(1)),)), "action.button")
    rejected(lambda: ListMessage("b", "x" * 4097, (ListSection(rows(1)),)), "body.text")
    rejected(lambda: ListMessage("b", "q", (ListSection(rows(11)),)), "sections")
    rejected(lambda: ListMessage("b", "q", (ListSection(rows(6), "A"), ListSection(rows(5, "s"), "B"))), "sections")
    rejected(lambda: ListMessage("b", "q", (ListSection(rows(2), "A"), ListSection(rows(2), "B"))), "sections")
    rejected(lambda: ListMessage("b", "q", ()), "sections")
    rejected(lambda: ListMessage("b", "q", (ListSection(()),)), "sections[0]")
    rejected(lambda: ListMessage("b", "q", (ListSection(rows(1), "A"), ListSection(rows(1, "s")))),
             "sections[1].title")
    rejected(lambda: ListMessage("b", "q", (ListSection(rows(1), "t" * 25),)), "sections[0].title")
    rejected(lambda: ListMessage("b", "q", (ListSection((ListRow("i" * 201, "t"),)),)), "sections[0].rows[0].id")
    rejected(lambda: ListMessage("b", "q", (ListSection((ListRow("i", "t" * 25),)),)),
             "sections[0].rows[0].title")
    rejected(lambda: ListMessage("b", "q", (ListSection((ListRow("i", "t", "d" * 73),)),)),
             "sections[0].rows[0].description")
    rejected(lambda: ListMessage("b", "q", (ListSection(rows(1)),), header="h" * 61), "header.text")
    header = MediaHeader("image", MediaRef(id="1"))
    rejected(lambda: ListMessage("b", "q", (ListSection(rows(1)),), header=header), "header")  # type: ignore[arg-type]


# ---- media ----

def test_media_by_id_and_by_link() -> None:
    assert MediaMessage("image", MediaRef(id="4490"), caption="Receipt ✓").to_json("15551234567")["image"] == {
        "id": "4490", "caption": "Receipt ✓"}
    body = MediaMessage("document", MediaRef(link="https://example.com/x.pdf"), filename="x.pdf").to_json(BSUID)
    assert body["type"] == "document" and body["document"] == {"link": "https://example.com/x.pdf", "filename": "x.pdf"}
    assert MediaMessage("audio", MediaRef(id="77")).to_json("15551234567")["audio"] == {"id": "77"}


def test_media_limits() -> None:
    rejected(lambda: MediaRef(), "media")
    rejected(lambda: MediaRef(id="1", link="https://a.b/c"), "media")
    rejected(lambda: MediaRef(link="http://example.com/a.png"), "media.link")
    rejected(lambda: MediaRef(link="file:///etc/passwd"), "media.link")
    rejected(lambda: MediaRef(id="has space"), "media.id")
    rejected(lambda: MediaMessage("gif", MediaRef(id="1")), "media.type")  # type: ignore[arg-type]
    rejected(lambda: MediaMessage("image", MediaRef(id="1"), caption="c" * 1025), "image.caption")
    rejected(lambda: MediaMessage("audio", MediaRef(id="1"), caption="c"), "audio.caption")
    rejected(lambda: MediaMessage("image", MediaRef(id="1"), filename="a.png"), "image.filename")
    rejected(lambda: MediaMessage("image", "https://a.b/c"), "media")  # type: ignore[arg-type]


# ---- templates ----

def test_template_json() -> None:
    message = TemplateMessage("order_update", "en_US", ("Ann", "٤٢"),
                              MediaHeader("image", MediaRef(link="https://example.com/h.png")), ("STOP", "MORE"))
    assert message.to_json("15551234567")["template"] == {
        "name": "order_update", "language": {"policy": "deterministic", "code": "en_US"},
        "components": [
            {"type": "header", "parameters": [{"type": "image", "image": {"link": "https://example.com/h.png"}}]},
            {"type": "body", "parameters": [{"type": "text", "text": "Ann"}, {"type": "text", "text": "٤٢"}]},
            {"type": "button", "sub_type": "quick_reply", "index": "0",
             "parameters": [{"type": "payload", "payload": "STOP"}]},
            {"type": "button", "sub_type": "quick_reply", "index": "1",
             "parameters": [{"type": "payload", "payload": "MORE"}]}]}
    bare = TemplateMessage("hello_world", "en").to_json("15551234567")["template"]
    assert bare == {"name": "hello_world", "language": {"policy": "deterministic", "code": "en"}}
    assert TemplateMessage("x", "pt-BR").language == "pt_BR"
    assert not TemplateMessage.free_form and TextMessage.free_form


def test_template_limits() -> None:
    rejected(lambda: TemplateMessage("Order Update", "en"), "template.name")
    rejected(lambda: TemplateMessage("", "en"), "template.name")
    rejected(lambda: TemplateMessage("x", "english"), "template.language")
    rejected(lambda: TemplateMessage("x", None), "template.language")  # type: ignore[arg-type]
    rejected(lambda: TemplateMessage("x", "en", ("",)), "template.params[0]")
    rejected(lambda: TemplateMessage("x", "en", ("a", 3)), "template.params[1]")  # type: ignore[arg-type]
    rejected(lambda: TemplateMessage("x", "en", ["a"]), "template.params")  # type: ignore[arg-type]
    rejected(lambda: TemplateMessage("x", "en", quick_replies=("p" * 257,)), "template.buttons[0]")
    rejected(lambda: TemplateMessage("x", "en", quick_replies=tuple("abcdefghijk")), "template.buttons")


def test_mark_read() -> None:
    assert MarkRead("wamid.IN1").to_json() == {"messaging_product": "whatsapp", "status": "read",
                                               "message_id": "wamid.IN1"}
    rejected(lambda: MarkRead(""), "message_id")


def test_builders_are_immutable() -> None:
    message: Any = TextMessage("hi")
    with pytest.raises(AttributeError):
        message.body = "changed"
