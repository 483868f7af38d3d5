"""Voice notes, on SQLite and PostgreSQL: speech made by the project's own TTS (pyttsx3 on
espeak-ng), encoded as Ogg/Opus as WhatsApp records it, injected through the contract server as a
voice note from Zoë, whose session waits on a yes/no question: the bridge downloads it, keeps it,
hears it and her session resumes on the choice she said; the recording and its transcript are
stored (the file under the media directory, the note in the session's input event), and her
messages are marked read. What goes wrong (too large, a download that fails, audio that does not
decode, nothing heard) gives the session an empty text saying why, never a crash."""

from __future__ import annotations

import base64
import hashlib
import itertools
import shutil
import socket
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any, Sequence

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from tests.api.conftest import Tenants, app, client, tenants  # noqa: F401  (fixtures)
from tests.whatsapp_bridge.runtime.world import APP_SECRET, World, wait_for
from voiceplatform.channels.contract import InboundMessage
from voiceplatform.models.sessions import SessionEvent
from voiceplatform.speech.tts import TextToSpeech
from voiceplatform.testing.whatsapp_cloud import SEED_NUMBER_ID, ZOE, WhatsAppCloudServer
from voiceplatform.testing.whatsapp_cloud.media import VOICE_NOTE_BYTES

from whatsapp_bridge.bridge import WhatsAppBridge
from whatsapp_bridge.config import BusinessNumber, WhatsAppSettings
from whatsapp_bridge.errors import GraphUnreachable, MediaTooLargeError, graph_error
from whatsapp_bridge.graph_client import MediaInfo
from whatsapp_bridge.hearing import Heard, HearingError, hear
from whatsapp_bridge.throughput import LocalThroughput
from whatsapp_bridge.voice_notes import VoiceNotes, choices_of, decode
from whatsapp_bridge.webhook_payloads import InboundEvent, Media, needs_transcription, to_input

SEED = BusinessNumber(SEED_NUMBER_ID, "+12027770000", 80)
TOKEN = "voice-note-token"
_ours = itertools.count(1)


def seed_number() -> BusinessNumber:
    """The contract server's seed number under a number of ours not registered yet (the app's
    database is the module's)."""
    return BusinessNumber(SEED_NUMBER_ID, f"+1202777{next(_ours):04d}", 80)


@pytest.fixture(scope="module")
def speech(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], bytes]:
    """Ogg/Opus of ``text`` spoken by the platform's TTS."""
    missing = [tool for tool in ("opusenc", "opusdec", "espeak-ng") if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed (scripts/debian-packages.txt: opus-tools, espeak-ng)")
    folder = tmp_path_factory.mktemp("voice-note-speech")
    tts = TextToSpeech(folder / "tts")

    def make(text: str) -> bytes:
        wav = tts.render(text)
        ogg = folder / f"{hashlib.sha256(text.encode()).hexdigest()[:12]}.ogg"
        subprocess.run(["opusenc", "--quiet", str(wav), str(ogg)], check=True, timeout=30)
        return ogg.read_bytes()

    return make


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    yield sock
    sock.close()


def input_events(world: World, session_id: str) -> list[dict[str, Any]]:
    with world.sessions() as db:
        return [row.payload for row in db.scalars(select(SessionEvent).where(
            SessionEvent.session_id == session_id, SessionEvent.kind == "input").order_by(SessionEvent.seq))]


@pytest.mark.parametrize("said", ["yes", "no"])
def test_a_spoken_answer_resumes_the_session_on_its_choice(
        app: Flask, client: FlaskClient, tenants: Tenants, listener: socket.socket,  # noqa: F811
        speech: Callable[[str], bytes], tmp_path: Path, said: str) -> None:
    audio = speech(said)
    port = listener.getsockname()[1]
    with WhatsAppCloudServer(webhook_url=f"http://127.0.0.1:{port}/whatsapp/webhook", app_secret=APP_SECRET,
                             token=TOKEN) as cloud:
        world = World(app, client, tenants, numbers=0)
        ours = seed_number()
        world.with_settings(graph_url=cloud.graph_url, token=TOKEN, numbers=(ours,), media_dir=str(tmp_path))
        name, _ = world.publish()
        world.register(ours, flow=name)
        bridge = WhatsAppBridge(world.sessions, replace(world.settings, poll_every=0.02, inbox_poll_every=0.05),
                                messaging=world.messaging, listener=listener, throughput=LocalThroughput()).start()
        try:
            hello = cloud.client.inject_text(ZOE, "hi")
            wait_for(lambda: next((e for e in cloud.client.sent() if e["kind"] == "interactive"), None),
                     what="the yes/no question")
            note = cloud.client.inject("audio", user=ZOE, voice=True,
                                       data_base64=base64.b64encode(audio).decode("ascii"))
            thanks = wait_for(lambda: next((e for e in cloud.client.sent() if e["kind"] == "text"), None),
                              timeout=60, what="the answer's text")
            assert thanks["body"]["text"]["body"] == f"Thanks: {said}"
            marked = wait_for(lambda: {e["wamid"] for e in cloud.client.sent() if e["kind"] == "mark_read"}
                              >= {hello["wamid"], note["wamid"]} or None, what="both messages marked read")
            assert marked
            question = [m for m in world.messages(recipient=f"+{ZOE}", our_number=ours.number)
                        if m.message_type == "interactive"][-1]
            session = world.session(question.session_id or "")
            assert session.status == "completed" and session.address == f"+{ZOE}"
            heard = [event for event in input_events(world, session.id) if "voice_note" in event.get("data", {})]
            assert len(heard) == 1
            voice = heard[0]["data"]["voice_note"]
            assert heard[0]["value"] == said and heard[0]["data"]["transcript"] == said
            assert voice["media_id"] == note["media_id"] and voice["voice"] is True and "error" not in voice
            assert voice["constrained"] is True and voice["engine"] in ("pocketsphinx", "vosk")
            kept = tmp_path / voice["path"]
            assert kept.read_bytes() == audio and voice["bytes"] == len(audio)
            assert voice["sha256"] == hashlib.sha256(audio).hexdigest() and voice["seconds"] > 0.1
            assert kept.parent.parent == tmp_path / "whatsapp" / "voice_notes" / SEED_NUMBER_ID
            assert bridge.counters()["voice_notes"] == 1 and bridge.counters()["marked_read"] >= 2
        finally:
            bridge.stop(10)


def test_mark_read_can_be_turned_off(app: Flask, client: FlaskClient, tenants: Tenants,  # noqa: F811
                                     listener: socket.socket) -> None:
    port = listener.getsockname()[1]
    with WhatsAppCloudServer(webhook_url=f"http://127.0.0.1:{port}/whatsapp/webhook", app_secret=APP_SECRET,
                             token=TOKEN) as cloud:
        world = World(app, client, tenants, numbers=0)
        ours = seed_number()
        world.with_settings(graph_url=cloud.graph_url, token=TOKEN, numbers=(ours,), mark_read=False)
        name, _ = world.publish()
        world.register(ours, flow=name)
        bridge = WhatsAppBridge(world.sessions, replace(world.settings, poll_every=0.02, inbox_poll_every=0.05),
                                messaging=world.messaging, listener=listener, throughput=LocalThroughput()).start()
        try:
            cloud.client.inject_text(ZOE, "hi")
            wait_for(lambda: next((e for e in cloud.client.sent() if e["kind"] == "interactive"), None),
                     what="the question")
            assert bridge.inbox.counters["events"] >= 1
            assert [e for e in cloud.client.sent() if e["kind"] == "mark_read"] == []
        finally:
            bridge.stop(10)


# ---- what goes wrong ---------------------------------------------------------------------------------


class ScriptedMedia:
    """A Graph client's media calls, scripted."""

    def __init__(self, data: bytes = b"", *, size: int | None = None, fail: BaseException | None = None,
                 info_fails: BaseException | None = None) -> None:
        self.data, self.size, self.fail, self.info_fails = data, size, fail, info_fails
        self.downloads = 0

    def media_info(self, media_id: str) -> MediaInfo:
        if self.info_fails is not None:
            raise self.info_fails
        return MediaInfo(media_id, "https://lookaside.example/x", "audio/ogg", None, self.size)

    def download(self, url: str, max_bytes: int) -> bytes:
        self.downloads += 1
        if self.fail is not None:
            raise self.fail
        if len(self.data) > max_bytes:
            raise MediaTooLargeError(f"the media is more than {max_bytes} bytes", "media")
        return self.data


def heard(text: str) -> Callable[[Path, Sequence[str], str, float], Heard]:
    return lambda wav, phrases, language, timeout: Heard(text, "scripted", 1.0)


def voice_message(wamid: str, media_id: str = "7001") -> InboundMessage:
    event = InboundEvent(message_id=wamid, phone_number_id=SEED_NUMBER_ID, display_phone_number=None,
                         wa_id="15550009999", user_id=None, profile_name=None, timestamp=None, kind="audio",
                         type="audio", media=Media(media_id, "audio/ogg; codecs=opus", voice=True))
    marker = to_input(event)
    assert needs_transcription(marker)
    return InboundMessage("whatsapp", "+15550009999", SEED.number, marker, wamid,
                          {"phone_number_id": SEED_NUMBER_ID})


def notes(app: Flask, tenants: Tenants, tmp_path: Path, media: ScriptedMedia, hearing: Any,  # noqa: F811
          **settings: Any) -> VoiceNotes:
    chosen = WhatsAppSettings(token="t", numbers=(SEED,), media_dir=str(tmp_path), **settings)
    return VoiceNotes(app.extensions["vp_sessions"], media, chosen, hearing=hearing)


def unheard(message: InboundMessage) -> str:
    assert message.input.value == "" and not needs_transcription(message.input)
    error = message.input.data["voice_note"]["error"]
    assert isinstance(error, str) and error
    return error


def test_what_goes_wrong_gives_an_empty_text_saying_why(app: Flask, tenants: Tenants, tmp_path: Path,  # noqa: F811
                                                        speech: Callable[[str], bytes]) -> None:
    audio = speech("yes")
    too_big = notes(app, tenants, tmp_path, ScriptedMedia(audio, size=10_000_000), heard("yes"), voice_note_max_bytes=1000)
    assert "more than 1000" in unheard(too_big.resolve(voice_message("wamid.BIG"), last_try=False))
    streamed = ScriptedMedia(audio)  # no size declared: refused while reading
    assert "more than 100" in unheard(notes(app, tenants, tmp_path, streamed, heard("yes"), voice_note_max_bytes=100)
                                      .resolve(voice_message("wamid.BIG2"), last_try=False))
    junk = notes(app, tenants, tmp_path, ScriptedMedia(VOICE_NOTE_BYTES), heard("yes"))
    assert "decode" in unheard(junk.resolve(voice_message("wamid.JUNK"), last_try=False))
    silent = notes(app, tenants, tmp_path, ScriptedMedia(audio), heard(""))
    resolved = silent.resolve(voice_message("wamid.SILENT"), last_try=False)
    assert unheard(resolved) == "nothing was heard in the voice note"
    assert (tmp_path / resolved.input.data["voice_note"]["path"]).read_bytes() == audio  # kept all the same
    gone = notes(app, tenants, tmp_path, ScriptedMedia(audio, info_fails=graph_error(404, {"error": {
        "code": 100, "message": "Unsupported get request"}}, "")), heard("yes"))
    assert "could not be fetched" in unheard(gone.resolve(voice_message("wamid.GONE"), last_try=False))


def test_a_download_that_failed_on_the_way_is_tried_again_then_given_up(
        app: Flask, tenants: Tenants, tmp_path: Path, speech: Callable[[str], bytes]) -> None:  # noqa: F811
    audio = speech("yes")
    flaky = ScriptedMedia(audio, fail=GraphUnreachable("the media download failed: ReadTimeout"))
    voice = notes(app, tenants, tmp_path, flaky, heard("yes"))
    with pytest.raises(GraphUnreachable):
        voice.resolve(voice_message("wamid.FLAKY"), last_try=False)  # the inbox tries the event again
    assert "could not be fetched" in unheard(voice.resolve(voice_message("wamid.FLAKY"), last_try=True))
    flaky.fail = None
    resolved = voice.resolve(voice_message("wamid.FLAKY"), last_try=False)
    assert resolved.input.value == "yes" and resolved.input.data["transcript"] == "yes"
    assert resolved.input.data["voice_note"]["constrained"] is False  # no session waits: free text
    again = voice.resolve(voice_message("wamid.FLAKY"), last_try=False)  # a retry finds the file kept
    assert again.input.value == "yes" and flaky.downloads == 3


def test_the_choices_a_question_offers() -> None:
    assert choices_of({"buttons": [{"id": "yes", "title": "Yes"}, {"id": "no", "title": "No"}]}) == [
        "Yes", "yes", "No", "no"]
    assert choices_of({"list_rows": [{"id": "r1", "title": "Express"}, {"id": "__more", "title": "More"}],
                       "template": {"quick_replies": ["stop"]}}) == ["Express", "r1", "stop"]
    assert choices_of({"text": "What is your name?"}) == []


def test_hearing_in_a_child_process(tmp_path: Path, speech: Callable[[str], bytes]) -> None:
    ogg = tmp_path / "no.ogg"
    ogg.write_bytes(speech("no"))
    wav = tmp_path / "no.wav"
    assert decode(ogg, wav, "audio/ogg; codecs=opus", 120.0) > 0.1
    constrained = hear(wav, ["Yes", "yes", "No", "no"])
    assert constrained.text == "no" and constrained.engine in ("pocketsphinx", "vosk")
    free = hear(wav)  # the review pipeline's free-text transcription: whatever it makes of it
    assert isinstance(free.text, str) and free.engine in ("pocketsphinx", "vosk")
    (tmp_path / "junk.wav").write_bytes(b"not audio")
    with pytest.raises(HearingError):
        hear(tmp_path / "junk.wav", ["yes"])
