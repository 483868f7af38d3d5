"""Voice notes: an inbound audio message turned into the text its session resumes with, the
recording kept.

The parser gives an audio message as a marker (webhook_payloads.to_input: an empty TEXT input with
``data["voice_note"]``). Before the inbox routes it, :meth:`VoiceNotes.resolve`:

1. **keeps the audio**: ``GraphClient.media_info`` then ``download(url, max_bytes)`` (at most
   ``voice_note_max_bytes``; a size declared over it is refused before the download), written
   once, atomically, to ``<voice notes dir>/<phone number id>/<YYYY-MM-DD>/<wamid>.<ext>`` (a
   retry of the event finds the file and downloads nothing); its sha256 is checked against the
   webhook's;
2. **decodes it** to 16 kHz mono 16-bit PCM (:func:`decode`: ``opusdec`` for Ogg/Opus, what
   WhatsApp records; ``ffmpeg`` for other audio when it is installed), at most
   ``voice_note_max_seconds`` of it;
3. **hears it** in a child process with a time limit (whatsapp_bridge.hearing): constrained to
   the choices of the question the contact's session waits on (the buttons, list rows and quick
   replies of its last WhatsApp message), as a call's gather hears speech; free text otherwise,
   with the review pipeline's transcription;
4. gives the message with ``with_transcript(marker, text)``: the session resumes with the text.
   ``data["voice_note"]`` (kept in the session's input event) gains ``path`` (relative to the
   media directory), ``bytes``, ``sha256``, ``seconds``, ``engine``, ``confidence`` and, when it
   went wrong, ``error``.

**What goes wrong never loses the message nor crashes the inbox.** A download that failed on the
way (no answer, a 5xx, throttled) is raised while the event has passes left (the inbox tries the
event again later: every step is idempotent); on its last pass, and for everything that another
try would not mend (too large, refused, not audio that decodes, an engine failure, a timeout,
nothing heard), the session gets an **empty text** (a gather's no-input path, a wait's empty
reply) and ``data["voice_note"]["error"]`` says why (logged too).
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import subprocess
import tempfile
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from voiceplatform.channels.contract import InboundMessage
from voiceplatform.exceptions import InputRejectedError, VoicePlatformError
from voiceplatform.flow.inputs import Input
from voiceplatform.models import FlowSession, Number
from voiceplatform.models.base import utcnow
from voiceplatform.models.sessions import SessionStatus
from voiceplatform.models.whatsapp import WhatsAppMessage

from whatsapp_bridge.config import WhatsAppSettings
from whatsapp_bridge.errors import Retry, WhatsAppSendError
from whatsapp_bridge.graph_client import MediaInfo
from whatsapp_bridge.hearing import Heard, HearingError, hear
from whatsapp_bridge.webhook_payloads import VOICE_NOTE, with_transcript

with warnings.catch_warnings():  # pydub warns when ffmpeg is absent; WAV work does not need it
    warnings.simplefilter("ignore", RuntimeWarning)
    from pydub import AudioSegment

log = logging.getLogger(__name__)

RATE = 16000
DECODE_TIMEOUT = 30.0
MORE = "__more"  # a list's "More" row: not a choice
_UNSAFE = re.compile(r"[^A-Za-z0-9_.=-]")
EXTENSIONS = {"audio/ogg": "ogg", "audio/opus": "opus", "audio/mpeg": "mp3", "audio/mp4": "m4a", "audio/aac": "aac",
              "audio/amr": "amr"}

Hear = Callable[[Path, Sequence[str], str, float], Heard]


@runtime_checkable
class MediaSource(Protocol):
    """What the bridge's Graph client gives voice notes (whatsapp_bridge.graph_client.GraphClient)."""

    def media_info(self, media_id: str) -> MediaInfo: ...

    def download(self, url: str, max_bytes: int) -> bytes: ...


class VoiceNoteError(VoicePlatformError):
    """A voice note that cannot be heard (the reason goes to the session as its ``error``)."""


def _hear(wav: Path, phrases: Sequence[str], language: str, timeout: float) -> Heard:
    return hear(wav, phrases, language=language, timeout=timeout)


def mime_base(mime_type: str | None) -> str:
    return (mime_type or "").split(";")[0].strip().lower()


def decode(source: Path, target: Path, mime_type: str | None, max_seconds: float,
           timeout: float = DECODE_TIMEOUT) -> float:
    """``source`` (a voice note) as 16 kHz mono 16-bit PCM WAV in ``target``, cut at
    ``max_seconds``; gives its length in seconds. Raises :class:`VoiceNoteError` when no
    decoder takes it."""
    raw = target.with_suffix(".decoded.wav")
    base = mime_base(mime_type)
    if base in ("audio/ogg", "audio/opus") and shutil.which("opusdec"):
        command = ["opusdec", "--quiet", "--rate", str(RATE), str(source), str(raw)]
    elif shutil.which("ffmpeg"):
        command = ["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-i", str(source), "-t", f"{max_seconds:g}",
                   "-ac", "1", "-ar", str(RATE), "-sample_fmt", "s16", str(raw)]
    else:
        raise VoiceNoteError(f"no decoder for {base or 'audio of no type'} (install opus-tools or ffmpeg)")
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        raise VoiceNoteError(f"decoding took more than {timeout:g} s") from exc
    except OSError as exc:
        raise VoiceNoteError(f"cannot start {command[0]}: {exc}") from exc
    if done.returncode != 0 or not raw.exists():
        why = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
        raise VoiceNoteError(f"the audio does not decode ({command[0]}: {why[:200]})")
    try:
        segment = AudioSegment.from_wav(str(raw)).set_channels(1).set_sample_width(2).set_frame_rate(RATE)
    except Exception as exc:  # pydub and wave raise several types for a bad file
        raise VoiceNoteError(f"the decoded audio is unreadable: {type(exc).__name__}: {exc}") from exc
    finally:
        raw.unlink(missing_ok=True)
    segment = segment[:int(max_seconds * 1000)]
    segment.export(str(target), format="wav")
    return len(segment) / 1000.0


def choices_of(send: Mapping[str, Any]) -> list[str]:
    """The phrases a question's Send offers (a button's or row's title and id, a quick reply)."""
    phrases: list[str] = []
    for key in ("buttons", "list_rows"):
        for item in send.get(key) or ():
            if isinstance(item, Mapping) and item.get("id") != MORE:
                phrases.extend(str(item.get(part)) for part in ("title", "id") if item.get(part))
    template = send.get("template")
    if isinstance(template, Mapping):
        phrases.extend(str(reply) for reply in template.get("quick_replies") or template.get("buttons") or ())
    return list(dict.fromkeys(phrase for phrase in phrases if phrase.strip()))


def waiting_question(db: Session, message: InboundMessage) -> tuple[list[str], str]:
    """The choices of the question ``message``'s sender's session waits on (none when it waits
    on free text, or no session waits), and the session's language."""
    accounts = select(Number.account_id).where(Number.number == message.our_address)
    session = db.execute(
        select(FlowSession.id, FlowSession.state)
        .where(FlowSession.account_id.in_(accounts.scalar_subquery()), FlowSession.channel == message.channel,
               FlowSession.address == message.address, FlowSession.status == SessionStatus.WAITING.value)
        .order_by(FlowSession.updated_at.desc()).limit(1)).one_or_none()
    if session is None:
        return [], "en"
    state = session.state if isinstance(session.state, Mapping) else {}
    language = str(state.get("language") or "en")
    send = db.scalar(select(WhatsAppMessage.send).where(WhatsAppMessage.session_id == session.id)
                     .order_by(WhatsAppMessage.id.desc()).limit(1))
    return (choices_of(send) if isinstance(send, Mapping) else []), language


@dataclass(frozen=True, slots=True)
class Kept:
    path: Path
    size: int
    sha256: str


class VoiceNotes:
    """Resolves voice-note markers (see the module's doc)."""

    def __init__(self, sessions: sessionmaker[Session], client: MediaSource, settings: WhatsAppSettings, *,
                 hearing: Hear = _hear, clock: Callable[[], datetime] = utcnow) -> None:
        self.sessions = sessions
        self.client = client
        self.settings = settings
        self.hearing = hearing
        self.clock = clock
        self.counters: dict[str, int] = {"voice_notes": 0, "voice_notes_unheard": 0}

    @property
    def media_dir(self) -> Path:
        return self.settings.media_root()

    def resolve(self, message: InboundMessage, *, last_try: bool) -> InboundMessage:
        """``message`` with its voice-note marker replaced by the transcript (or by an empty text
        saying why in ``data["voice_note"]["error"]``). Raises :class:`WhatsAppSendError` for a
        download that failed on the way while ``last_try`` is False (the event is tried again)."""
        marker = message.input
        note: dict[str, Any] = dict(marker.data.get(VOICE_NOTE) or {})
        self.counters["voice_notes"] += 1
        text = ""
        try:
            kept = self._keep(message, note)
            note.update(path=self._relative(kept.path), bytes=kept.size, sha256=kept.sha256)
            text = self._hear(message, kept, note)
            if not text:
                note["error"] = "nothing was heard in the voice note"
        except WhatsAppSendError as exc:
            if not last_try and exc.retry is not Retry.NEVER:
                raise
            note["error"] = f"the voice note could not be fetched: {exc}"[:300]
        except (VoiceNoteError, HearingError, InputRejectedError, OSError) as exc:
            note["error"] = str(exc)[:300]
        if note.get("error"):
            self.counters["voice_notes_unheard"] += 1
            log.warning("whatsapp voice note %s from %s: %s; the session gets an empty text", message.message_id,
                        message.address, note["error"])
        given = Input(marker.kind, marker.value, marker.confidence, {**marker.data, VOICE_NOTE: note})
        return replace(message, input=with_transcript(given, text))

    def _relative(self, path: Path) -> str:
        try:
            return str(path.relative_to(self.media_dir))
        except ValueError:
            return str(path)

    def _target(self, message: InboundMessage, mime_type: str | None) -> Path:
        raw = message.raw if isinstance(message.raw, Mapping) else {}
        number_id = _UNSAFE.sub("_", str(raw.get("phone_number_id") or "unknown"))[:64]
        day = self.clock().strftime("%Y-%m-%d")
        name = _UNSAFE.sub("_", message.message_id or "voice_note")[:160]
        extension = EXTENSIONS.get(mime_base(mime_type), "audio")
        return self.settings.voice_notes_dir() / number_id / day / f"{name}.{extension}"

    def _keep(self, message: InboundMessage, note: Mapping[str, Any]) -> Kept:
        media_id = note.get("media_id")
        if not isinstance(media_id, str) or not media_id:
            raise VoiceNoteError("the voice note names no media id")
        limit = self.settings.voice_note_max_bytes
        target = self._target(message, note.get("mime_type"))
        if target.exists():  # a retry of the event: downloaded already
            data = target.read_bytes()
            return Kept(target, len(data), hashlib.sha256(data).hexdigest())
        info = self.client.media_info(media_id)
        if info.file_size is not None and info.file_size > limit:
            raise VoiceNoteError(f"the voice note is {info.file_size} bytes, more than {limit}")
        data = self.client.download(info.url, limit)
        if not data:
            raise VoiceNoteError("the voice note's download is empty")
        digest = hashlib.sha256(data).hexdigest()
        expected = info.sha256 or note.get("sha256")
        if isinstance(expected, str) and expected and expected.lower() != digest:
            raise VoiceNoteError("the voice note's bytes do not match its sha256")
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=target.parent, prefix=".part-", delete=False) as part:
            part.write(data)
        os.replace(part.name, target)
        return Kept(target, len(data), digest)

    def _hear(self, message: InboundMessage, kept: Kept, note: dict[str, Any]) -> str:
        with self.sessions() as db:
            phrases, language = waiting_question(db, message)
        with tempfile.TemporaryDirectory(prefix="wa-voice-") as work:
            wav = Path(work) / "speech.wav"
            note["seconds"] = round(decode(kept.path, wav, note.get("mime_type"),
                                           self.settings.voice_note_max_seconds), 3)
            heard = self.hearing(wav, phrases, language, self.settings.transcribe_timeout)
        note.update(engine=heard.engine, confidence=heard.confidence, constrained=bool(phrases))
        return heard.text.strip()

