"""Review fixtures: sessions on the shared ``engine`` (SQLite and PostgreSQL), accounts, calls with
recordings, campaigns, QA reviews, and speech synthesised with espeak-ng through
``voiceplatform.speech.tts``."""

from __future__ import annotations

import itertools
import subprocess
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from voiceplatform.db import session_factory
from voiceplatform.models import Account, Call, Campaign, FlowVersion, QaReview, Recording
from voiceplatform.speech.tts import TextToSpeech

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=timezone.utc)
SPEECH = "Good morning. My name is John. I am calling about my order number one two three."
SPEECH_WORDS = {"good", "morning", "my", "name", "john", "i", "am", "calling", "about", "order", "number", "one", "two", "three"}

_ids = itertools.count(1)


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return session_factory(engine)


@pytest.fixture(scope="session")
def speech_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An 8 kHz telephony WAV of ``SPEECH`` (espeak-ng's US English voice, through pyttsx3)."""
    return TextToSpeech(tmp_path_factory.mktemp("tts"), rate=150, voice="en-us").render(SPEECH)


def silence_wav(path: Path, seconds: float = 1.0) -> Path:
    subprocess.run(["sox", "-n", "-r", "8000", "-c", "1", "-b", "16", str(path), "trim", "0", str(seconds)], check=True)
    return path


def new_account(sessions: sessionmaker[Session], name: str = "acme", *, parent_id: int | None = None,
                retention_days: int | None = 90) -> int:
    with sessions.begin() as session:
        account = Account(name=name, parent_id=parent_id, recording_retention_days=retention_days)
        session.add(account)
        session.flush()
        account.recording_retention_days = retention_days  # None at INSERT gets the column's default (90)
        return account.id


def new_campaign(sessions: sessionmaker[Session], account_id: int, name: str = "March") -> int:
    with sessions.begin() as session:
        flow = FlowVersion(account_id=account_id, name=f"flow-{next(_ids)}", version=1, definition="x", checksum="x")
        session.add(flow)
        session.flush()
        campaign = Campaign(account_id=account_id, name=name, flow_version_id=flow.id)
        session.add(campaign)
        session.flush()
        return campaign.id


def add_recording(sessions: sessionmaker[Session], account_id: int, *, path: str | Path = "/media/recordings/x.wav",
                  created_at: datetime = T0, duration: float = 10.0, to: str = "+12025550143", flow: str = "survey",
                  campaign_id: int | None = None, outcome: str | None = "answered", transcript: str | None = None,
                  qa_status: str = "unreviewed", status: str = "pending", **recording: Any) -> int:
    """A call and its one recording; the recording's id."""
    with sessions.begin() as session:
        call = Call(id=f"call-{next(_ids)}", account_id=account_id, campaign_id=campaign_id, flow_name=flow, to=to,
                    switch="asterisk", outcome=outcome, cause="16 Normal Clearing", amd="HUMAN", created_at=created_at,
                    ended_at=created_at, billable_seconds=duration, path=["greeting", "comment"])
        session.add(call)
        row = Recording(call=call, account_id=account_id, path=str(path), duration=duration, sha256="ab" * 32,
                        node="comment", transcript=transcript, created_at=created_at, qa_status=qa_status,
                        transcription_status=status, **recording)
        session.add(row)
        session.flush()
        return row.id


def review(sessions: sessionmaker[Session], recording_id: int, *, scores: dict[str, int], tags: list[str],
           status: str = "reviewed") -> None:
    with sessions.begin() as session:
        recording = session.get(Recording, recording_id)
        assert recording is not None
        session.add(QaReview(recording_id=recording_id, account_id=recording.account_id, scores=scores, tags=tags,
                             notes="checked", status=status))
        recording.qa_status = status
