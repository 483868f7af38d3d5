"""The webhook parser is tolerant: every documented shape parses, and hostile bodies (wrong types
anywhere) become problems, never exceptions."""

from __future__ import annotations

import copy
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

import pytest

from voiceplatform.flow.inputs import InputKind
from whatsapp_bridge.identity import contact_address
from whatsapp_bridge.webhook_payloads import needs_transcription, parse, timestamp, to_input, with_transcript

PAYLOADS = Path(__file__).parent / "payloads"


def load(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((PAYLOADS / name).read_text("utf-8"))
    return loaded


def test_inbound_text_with_contact_and_bsuid() -> None:
    batch = parse(load("text_unicode.json"))
    assert batch.problems == [] and batch.statuses == [] and batch.errors == []
    [event] = batch.inbound
    assert (event.message_id, event.phone_number_id, event.display_phone_number) == ("wamid.IN1", "1234", "15550001111")
    assert (event.wa_id, event.user_id, event.profile_name) == ("15551234567", "US.13491208655302741918", "Zoë نور 🌙")
    assert event.kind == "text" and event.text == "مرحبا! my mail is zoë@example.com 👋🏽"
    assert event.timestamp == datetime.fromtimestamp(1750000000, tz=timezone.utc)
    assert event.context_id is None and event.waba_id == "102290129340398"
    assert to_input(event).kind is InputKind.TEXT and to_input(event).value == event.text
    assert contact_address(event) == "+15551234567"  # the phone when Meta gives it; the BSUID kept beside


def test_replies_across_two_entries_are_routed_on_their_phone_number_id() -> None:
    batch = parse(load("replies_two_entries.json"))
    assert batch.problems == []
    button, row, template = batch.inbound
    assert (button.kind, button.reply_id, button.reply_title, button.context_id) == ("button_reply", "yes", "Yes",
                                                                                     "wamid.OUT1")
    assert (row.kind, row.reply_id, row.wa_id, row.user_id, row.profile_name) == (
        "list_reply", "r1", "966501234567", "SA.20000000000000000001", "Omar")  # the matching contact, not the first
    assert (template.kind, template.reply_id, template.phone_number_id, template.waba_id) == (
        "template_button", "STOP", "5678", "WABA_2")
    assert template.user_id is None and contact_address(template) == "+4915112345678"
    assert to_input(button).value == "yes" and to_input(row).value == "r1" and to_input(template).value == "STOP"
    assert to_input(row).data["reply"] == {"id": "r1", "title": "Express"}


def test_audio_location_image_and_millisecond_timestamps() -> None:
    batch = parse(load("audio_location_ms.json"))
    assert batch.problems == []
    audio, place, image = batch.inbound
    assert audio.timestamp == datetime.fromtimestamp(1750000020, tz=timezone.utc)
    assert audio.kind == "audio" and audio.media is not None and audio.media.voice and audio.media.id == "908172635"
    marker = to_input(audio)
    assert needs_transcription(marker)
    assert marker.data["voice_note"] == {"media_id": "908172635", "mime_type": "audio/ogg; codecs=opus",
                                         "voice": True}
    heard = with_transcript(marker, "pay my bill")
    assert heard.kind is InputKind.TEXT and heard.value == "pay my bill" and not needs_transcription(heard)
    assert place.location is not None and place.location.name == "Kingdom Centre"
    assert to_input(place).value == "24.7136,46.6753" and to_input(place).data["location"]["address"] == "Riyadh"
    assert image.kind == "image" and image.text == "my meter 📷"
    assert to_input(image).value == "my meter 📷" and to_input(image).data["media"]["media_id"] == "55501"


def test_a_user_known_only_by_bsuid() -> None:
    batch = parse(load("bsuid_only.json"))
    [event] = batch.inbound
    assert event.wa_id is None and event.user_id == "US.13491208655302741918" and event.profile_name is None
    assert contact_address(event) == "US.13491208655302741918"


def test_shuffled_statuses_pricing_errors_played_unknown() -> None:
    batch = parse(load("statuses_shuffled.json"))
    by = {(status.message_id, status.raw_status): status for status in batch.statuses}
    assert len(batch.statuses) == 7
    read = by["wamid.OUT1", "read"]
    assert read.recipient_user_id == "US.13491208655302741918" and read.pricing is None
    delivered = by["wamid.OUT1", "delivered"]
    assert delivered.pricing is not None and (delivered.pricing.billable, delivered.pricing.category,
                                              delivered.pricing.type) == (True, "marketing", "regular")
    failed = by["wamid.OUT2", "failed"]
    assert failed.errors[0].code == 131047 and "24 hours" in (failed.errors[0].details or "")
    assert by["wamid.OUT3", "played"].status == "played"
    assert by["wamid.OUT4", "warning"].status == "unknown"
    assert by["wamid.OUT5", "deleted"].status == "deleted"
    assert any("warning" in problem for problem in batch.problems) and len(batch.problems) == 1


def test_value_errors_without_messages() -> None:
    batch = parse(load("errors_only.json"))
    assert batch.inbound == [] and batch.statuses == [] and batch.problems == []
    [error] = batch.errors
    assert error.error.code == 0 and error.phone_number_id == "1234" and error.error.details == "Authentication Error"


def test_duplicates_kept_once_and_unknown_types_kept_as_unknown() -> None:
    batch = parse(load("duplicate_and_unknown.json"))
    assert [event.message_id for event in batch.inbound] == ["wamid.DUP", "wamid.REACT", "wamid.UNS"]
    assert [event.kind for event in batch.inbound] == ["text", "unknown", "unknown"]
    assert to_input(batch.inbound[1]).data == {"unsupported": "reaction"}
    assert batch.errors[0].error.code == 131051 and batch.errors[0].message_id == "wamid.UNS"
    assert len(batch.problems) == 3  # the repeat, the reaction, the unsupported message


def test_timestamps() -> None:
    assert timestamp("1750000000") == timestamp(1750000000) == timestamp("1750000000000")
    for junk in (None, "", "abc", -5, 0, True, "1" * 30, 10**20, float("nan"), [1]):
        assert timestamp(junk) is None


# ---- hostile bodies ----

JUNK: list[Any] = [None, 0, -1, 1.5, True, "", "x", [], {}, [None], {"a": None}, "\ud800", 10**30]


def _paths(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield path
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, (*path, index))


def _replaced(body: Any, path: tuple[Any, ...], junk: Any) -> Any:
    if not path:
        return junk
    copied = copy.deepcopy(body)
    holder = copied
    for key in path[:-1]:
        holder = holder[key]
    holder[path[-1]] = junk
    return copied


@pytest.mark.parametrize("name", sorted(path.name for path in PAYLOADS.glob("*.json")))
def test_wrong_types_everywhere_are_problems_not_exceptions(name: str) -> None:
    body = load(name)
    for path in _paths(body):
        for junk in JUNK:
            batch = parse(_replaced(body, path, junk))
            for event in batch.inbound:
                to_input(event)  # never raises either
                assert event.wa_id is not None or event.user_id is not None
                contact_address(event)
            assert all(isinstance(problem, str) for problem in batch.problems)


def test_lone_surrogates_are_replaced() -> None:
    body = load("text_unicode.json")
    body["entry"][0]["changes"][0]["value"]["messages"][0]["text"]["body"] = "bad \ud800 text"
    [event] = parse(body).inbound
    assert event.text == "bad \ufffd text"
    (event.text or "").encode("utf-8")


def test_not_a_whatsapp_body() -> None:
    assert parse({"object": "page", "entry": []}).problems
    assert parse([1, 2]).problems
    assert parse({"object": "whatsapp_business_account", "entry": [{"changes": [{"field": "account_update",
                                                                                   "value": {}}]}]}).problems


def test_problems_are_bounded() -> None:
    body = {"object": "whatsapp_business_account", "entry": [None] * 1000}
    assert len(parse(body).problems) == 101
