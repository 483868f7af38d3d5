"""Test data for the web UI: three tenants (acme, a master account with the sub-account acme-eu;
globex), a signed-in person per role in each, and calls with recordings whose audio is a real WAV
file in a media folder of the test's own."""

from __future__ import annotations

import math
import struct
import uuid
import wave
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from voiceplatform.models import Account, Call, Recording, Role
from voiceplatform.speech.audio import sha256_of
from voiceplatform.web.people import create_user

PASSWORD = "correct horse battery"
TENANTS = ("acme", "acme-eu", "globex")


def email(tenant: str, role: str) -> str:
    return f"{role}@{tenant}.test"


def write_wav(path: Path, seconds: float, rate: int = 8000, tone: float = 440.0) -> Path:
    """A 16-bit mono WAV of a tone that rises and falls, so its waveform has a shape."""
    path.parent.mkdir(parents=True, exist_ok=True)
    frames = int(seconds * rate)
    with wave.open(str(path), "wb") as audio:
        audio.setnchannels(1)
        audio.setsampwidth(2)
        audio.setframerate(rate)
        audio.writeframes(b"".join(
            struct.pack("<h", int(12000 * math.sin(math.pi * i / frames) * math.sin(2 * math.pi * tone * i / rate)))
            for i in range(frames)))
    return path


@dataclass
class Seeded:
    media_dir: Path
    accounts: dict[str, int] = field(default_factory=dict)
    recordings: dict[str, int] = field(default_factory=dict)
    calls: dict[str, str] = field(default_factory=dict)


def add_recording(session: Session, media_dir: Path, account: Account, *, flow: str, to: str, outcome: str = "answered",
                  seconds: float = 2.0, transcript: str = "", created: datetime | None = None, path: str | None = None,
                  call_transcript: list[str] | None = None, **extra: Any) -> Recording:
    created = created or datetime.now(timezone.utc)
    call_id = uuid.uuid4().hex
    call = Call(id=call_id, account_id=account.id, flow_name=flow, to=to, switch="asterisk", outcome=outcome,
                cause="16 Normal Clearing", amd="HUMAN", billable_seconds=seconds + 10, created_at=created,
                answered_at=created, ended_at=created + timedelta(seconds=seconds + 10),
                path=["intro", "rating", "route", "comment_low", "thanks", "done"],
                transcript=call_transcript or ["bot (say): Hello Ann", "contact: pressed 1", "contact (said, 91%): terrible",
                                               "contact (recorded 2s): it was slow", "system: hang up (completed)"])
    session.add(call)
    if path is None:
        wav = write_wav(media_dir / "recordings" / account.name / f"{created:%Y/%m/%d}" / f"{call_id}.wav", seconds)
        stored, digest = str(wav), sha256_of(wav)
    else:
        stored, digest = path, ""
    words = transcript.split()
    segments = [{"start": round(i * seconds / max(1, len(words)), 2), "end": round((i + 1) * seconds / max(1, len(words)), 2),
                 "text": word} for i, word in enumerate(words)]
    recording = Recording(call_id=call_id, account_id=account.id, path=stored, duration=seconds, sha256=digest,
                          node="comment_low", transcript=transcript or None, transcript_segments=segments,
                          peaks=[round(abs(math.sin(i / 7)), 3) for i in range(100)],
                          transcription_status="done" if transcript else "pending", created_at=created, **extra)
    session.add(recording)
    session.flush()
    return recording


def seed(sessions: sessionmaker[Session], media_dir: Path) -> Seeded:
    seeded = Seeded(media_dir)
    with sessions.begin() as session:
        acme = Account(name="acme")
        accounts = {"acme": acme, "acme-eu": Account(name="acme-eu", parent=acme), "globex": Account(name="globex")}
        session.add_all(accounts.values())
        session.flush()
        for name, account in accounts.items():
            seeded.accounts[name] = account.id
            for role in Role:
                create_user(session, email(name, role.value), role, account, PASSWORD, name=f"{role.value} of {name}")
        now = datetime.now(timezone.utc)
        rows = {
            "acme-survey": add_recording(session, media_dir, acme, flow="satisfaction_survey", to="+12025550101",
                                         seconds=3.0, transcript="the agent was rude and slow", created=now - timedelta(hours=1)),
            "acme-payment": add_recording(session, media_dir, acme, flow="payment_reminder", to="+12025550102",
                                          outcome="machine", seconds=1.5, transcript="please call me back",
                                          created=now - timedelta(days=2)),
            "acme-eu-survey": add_recording(session, media_dir, accounts["acme-eu"], flow="satisfaction_survey",
                                            to="+442071234567", seconds=2.0, transcript="very good service"),
            "globex-survey": add_recording(session, media_dir, accounts["globex"], flow="satisfaction_survey",
                                           to="+12025550199", seconds=2.0, transcript="globex secret words"),
            "acme-deleted": add_recording(session, media_dir, acme, flow="satisfaction_survey", to="+12025550103",
                                          transcript="kept after the audio went", audio_deleted_at=now - timedelta(days=1),
                                          created=now - timedelta(days=100)),
            "acme-outside": add_recording(session, media_dir, acme, flow="satisfaction_survey", to="+12025550104",
                                          path="/etc/passwd"),
            "acme-traversal": add_recording(session, media_dir, acme, flow="satisfaction_survey", to="+12025550105",
                                            path=str(media_dir / "recordings" / ".." / ".." / "secret.wav")),
        }
        write_wav(media_dir.parent / "secret.wav", 0.5)
        for name, row in rows.items():
            seeded.recordings[name] = row.id
            seeded.calls[name] = row.call_id
    return seeded
