"""Rendering an engine Send for WhatsApp: free-form inside the window, the template outside it,
an error when there is none; long texts split into several messages."""

from __future__ import annotations

import pytest

from voiceplatform.flow.outputs import Button, Send
from voiceplatform.flow.render.whatsapp import MORE_ID
from whatsapp_bridge.errors import OutsideWindowError, WhatsAppPayloadError
from whatsapp_bridge.messages import (ButtonMessage, ListMessage, MediaHeader, MediaMessage, MediaRef,
                                      TemplateMessage, TextMessage)
from whatsapp_bridge.rendering import media_ref, render, split_text, template_message

TEMPLATE = {"name": "appointment_reminder", "language": "en", "params": ["Ann", "10:30"],
            "quick_replies": ["1", "2"]}
PHONE = "15551234567"


def test_text_inside_the_window() -> None:
    [message] = render(Send("whatsapp", "مرحبا Ann 👋"), window_open=True)
    assert message == TextMessage("مرحبا Ann 👋")


def test_buttons_and_a_list() -> None:
    [buttons] = render(Send("whatsapp", "Confirm?", buttons=(Button("1", "Yes"), Button("2", "No"))),
                       window_open=True)
    assert isinstance(buttons, ButtonMessage) and [b.id for b in buttons.buttons] == ["1", "2"]
    rows = tuple(Button(str(n), f"Slot {n}") for n in range(9)) + (Button(MORE_ID, "More"),)
    [listed] = render(Send("whatsapp", "Pick a slot", list_button="Slots", list_rows=rows), window_open=True)
    assert isinstance(listed, ListMessage) and listed.button == "Slots"
    body = listed.to_json(PHONE)["interactive"]
    assert body["action"]["sections"][0]["rows"][-1] == {"id": "__more", "title": "More"}


def test_titles_too_long_are_fitted_ids_kept() -> None:
    [buttons] = render(Send("whatsapp", "Q", buttons=(Button("k", "A very long button title here"),)),
                       window_open=True)
    assert isinstance(buttons, ButtonMessage)
    assert buttons.buttons[0].id == "k" and len(buttons.buttons[0].title) == 20


def test_media_with_caption_and_as_a_button_header() -> None:
    [photo] = render(Send("whatsapp", "Your receipt", media="https://cdn.example.com/r.png"), window_open=True)
    assert photo == MediaMessage("image", MediaRef(link="https://cdn.example.com/r.png"), caption="Your receipt")
    [asked] = render(Send("whatsapp", "Is this yours?", buttons=(Button("y", "Yes"),),
                          media="document:4490"), window_open=True)
    assert isinstance(asked, ButtonMessage) and asked.header == MediaHeader("document", MediaRef(id="4490"))
    note, text = render(Send("whatsapp", "Listen", media="https://cdn.example.com/a.ogg"), window_open=True)
    assert isinstance(note, MediaMessage) and note.kind == "audio" and note.caption is None
    assert text == TextMessage("Listen")


def test_local_media_needs_a_resolver() -> None:
    send = Send("whatsapp", "Hi", media="prompts/en/welcome.wav")
    with pytest.raises(WhatsAppPayloadError) as caught:
        render(send, window_open=True)
    assert caught.value.field == "media"
    audio, text = render(send, window_open=True, resolve_media=lambda path: ("audio", MediaRef(id="991")))
    assert audio == MediaMessage("audio", MediaRef(id="991"))  # audio has no caption: the text follows
    assert text == TextMessage("Hi")


def test_media_ref_forms() -> None:
    assert media_ref("https://x.example/v.mp4?sig=1") == ("video", MediaRef(link="https://x.example/v.mp4?sig=1"))
    assert media_ref("https://x.example/file") == ("document", MediaRef(link="https://x.example/file"))
    assert media_ref("image:123") == ("image", MediaRef(id="123"))
    for bad in ("http://x.example/a.png", "123", "gif:1", "image:"):
        with pytest.raises(WhatsAppPayloadError):
            media_ref(bad)


# ---- the window ----

def test_template_only_is_always_the_template() -> None:
    for window_open in (True, False):
        [message] = render(Send("whatsapp", template=TEMPLATE), window_open=window_open)
        assert message == TemplateMessage("appointment_reminder", "en", ("Ann", "10:30"), None, ("1", "2"))
        assert message.to_json(PHONE)["template"]["components"][1]["parameters"] == [
            {"type": "payload", "payload": "1"}]


def test_text_and_template_choose_by_the_window() -> None:
    send = Send("whatsapp", "Your appointment is at 10:30. Reply 1 to confirm.", buttons=(Button("1", "Confirm"),),
                template=TEMPLATE)
    [inside] = render(send, window_open=True)
    [outside] = render(send, window_open=False)
    assert isinstance(inside, ButtonMessage) and isinstance(outside, TemplateMessage)


def test_free_form_outside_the_window_is_refused_unless_a_fallback_is_given() -> None:
    send = Send("whatsapp", "Hello again")
    with pytest.raises(OutsideWindowError) as caught:
        render(send, window_open=False)
    assert "24-hour" in str(caught.value) and caught.value.code == "outside_window"
    [fallback] = render(send, window_open=False, template_for_fallback={"name": "reengage", "language": "ar"})
    assert fallback == TemplateMessage("reengage", "ar")
    given = TemplateMessage("reengage", "en")
    assert render(send, window_open=False, template_for_fallback=given) == [given]


def test_bad_template_dicts_name_the_field() -> None:
    for spec, field in (({"name": "Bad Name"}, "template.name"), ({"name": "x", "params": "Ann"}, "template.params"),
                        ({"name": "x", "quick_replies": [1]}, "template.quick_replies"),
                        ({"name": "x", "header": {"type": "audio", "id": "1"}}, "template.header.type"),
                        ({"name": "x", "language": 7}, "template.language")):
        with pytest.raises(WhatsAppPayloadError) as caught:
            template_message(spec)
        assert caught.value.field == field
    header = template_message({"name": "x", "header": {"type": "image", "link": "https://a.example/h.png"},
                               "buttons": ["STOP"]})
    assert header.header_media is not None and header.quick_replies == ("STOP",)


def test_nothing_to_send() -> None:
    with pytest.raises(WhatsAppPayloadError):
        render(Send("whatsapp", "   "), window_open=True)


# ---- long texts ----

def test_long_text_is_split_at_paragraphs_and_words() -> None:
    text = ("First paragraph. " * 150).strip() + "\n\n" + ("كلمة " * 900).strip()
    parts = render(Send("whatsapp", text), window_open=True)
    assert len(parts) >= 2 and all(isinstance(part, TextMessage) for part in parts)
    bodies = [part.body for part in parts if isinstance(part, TextMessage)]
    assert all(0 < len(body) <= 4096 for body in bodies)
    assert bodies[0] == ("First paragraph. " * 150).strip()
    assert " ".join(bodies).split() == text.split()  # nothing lost but the whitespace split on


def test_split_never_breaks_an_emoji_sequence() -> None:
    family = "👨\u200d👩\u200d👧"  # one emoji of five code points
    text = family * 2000
    parts = split_text(text, 4096)
    assert "".join(parts) == text
    assert all(len(part) <= 4096 and part.startswith("👨") and part.endswith("👧") for part in parts)
    assert split_text("  ", 10) == [] and split_text("a b", 10) == ["a b"]


def test_long_interactive_body_sends_its_beginning_as_text_first() -> None:
    body = ("word " * 300).strip()  # 1499 characters
    *lead, buttons = render(Send("whatsapp", body, buttons=(Button("1", "Yes"),)), window_open=True)
    assert lead and all(isinstance(part, TextMessage) for part in lead)
    assert isinstance(buttons, ButtonMessage) and len(buttons.body) <= 1024
    long_caption = "c " * 700
    photo, rest = render(Send("whatsapp", long_caption, media="https://cdn.example.com/p.jpg"), window_open=True)
    assert isinstance(photo, MediaMessage) and photo.caption is None and isinstance(rest, TextMessage)
