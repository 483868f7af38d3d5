"""Retention with a moving clock, on SQLite and PostgreSQL: audio past an account's retention is
deleted, the row, transcript and QA review stay, one audit event per recording, a second run
changes nothing, an account without retention keeps everything, and nothing outside the media
folder is ever deleted."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.review.conftest import T0, add_recording, new_account, review
from voiceplatform.models import AuditEvent, QaReview, Recording
from voiceplatform.review.pipeline import AUDIO_DELETED
from voiceplatform.review.retention import RETENTION_DELETE, apply_retention, file_inside, recordings_root

DAY = timedelta(days=1)


def wav(media: Path, account_id: int, name: str) -> Path:
    path = media / "recordings" / str(account_id) / "2026" / "03" / "01" / f"{name}.wav"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"RIFF....WAVE")
    return path


def load(sessions: sessionmaker[Session], recording_id: int) -> Recording:
    with sessions() as session:
        row = session.get(Recording, recording_id)
        assert row is not None
        return row


def audits(sessions: sessionmaker[Session], recording_id: int) -> list[AuditEvent]:
    with sessions() as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.recording_id == recording_id)))


def test_audio_past_retention_is_deleted_and_everything_else_kept(sessions: sessionmaker[Session], tmp_path: Path) -> None:
    media = tmp_path / "media"
    account = new_account(sessions, "ninety", retention_days=90)
    forever = new_account(sessions, "forever", retention_days=None)
    old_path, young_path, kept_path = wav(media, account, "old"), wav(media, account, "young"), wav(media, forever, "kept")
    old = add_recording(sessions, account, path=old_path, created_at=T0, transcript="thank you for calling", status="done",
                        transcript_segments=[{"start": 0.0, "end": 1.0, "text": "thank you for calling", "words": []}],
                        peaks=[0.1, 0.2])
    young = add_recording(sessions, account, path=young_path, created_at=T0 + 2 * DAY)  # never transcribed: pending
    kept = add_recording(sessions, forever, path=kept_path, created_at=T0 - 1000 * DAY)
    review(sessions, old, scores={"greeting": 4}, tags=["polite"])

    # day 89 of the oldest: nothing is due
    assert apply_retention(sessions, now=T0 + 89 * DAY, media_dir=media) == 0
    assert old_path.exists() and load(sessions, old).audio_deleted_at is None

    # day 91: the oldest loses its audio; the one two days younger is at day 89 and stays
    now = T0 + 91 * DAY
    assert apply_retention(sessions, now=now, media_dir=media) == 1
    assert not old_path.exists() and young_path.exists() and kept_path.exists()
    row = load(sessions, old)
    assert row.audio_deleted_at == now
    assert (row.transcript, row.peaks, row.transcription_status) == ("thank you for calling", [0.1, 0.2], "done")
    assert row.transcript_segments and row.path == str(old_path)
    with sessions() as session:
        qa = session.scalars(select(QaReview).where(QaReview.recording_id == old)).one()
        assert (qa.scores, qa.tags) == ({"greeting": 4}, ["polite"])
    [event] = audits(sessions, old)
    assert (event.action, event.account_id, event.user_id, event.at) == (RETENTION_DELETE, account, None, now)
    assert event.details == {"path": str(old_path), "created_at": T0.isoformat(), "retention_days": 90, "file_missing": False}

    # the same run again changes nothing
    assert apply_retention(sessions, now=now, media_dir=media) == 0
    assert len(audits(sessions, old)) == 1 and load(sessions, old).audio_deleted_at == now

    # two days later the younger one goes too; the account without retention keeps everything
    assert apply_retention(sessions, now=now + 2 * DAY, media_dir=media) == 1
    assert not young_path.exists() and load(sessions, young).audio_deleted_at == now + 2 * DAY
    assert (load(sessions, young).transcription_status, load(sessions, young).transcription_error) == ("failed", AUDIO_DELETED)
    assert apply_retention(sessions, now=T0 + 10_000 * DAY, media_dir=media) == 0
    assert kept_path.exists() and load(sessions, kept).audio_deleted_at is None and audits(sessions, kept) == []


def test_a_file_already_gone_is_recorded_as_such(sessions: sessionmaker[Session], tmp_path: Path) -> None:
    media = tmp_path / "media"
    account = new_account(sessions, retention_days=30)
    path = wav(media, account, "gone")
    path.unlink()
    recording = add_recording(sessions, account, path=path, created_at=T0)
    assert apply_retention(sessions, now=T0 + 31 * DAY, media_dir=media) == 1
    assert audits(sessions, recording)[0].details["file_missing"] is True


def test_nothing_outside_the_recordings_folder_is_deleted(sessions: sessionmaker[Session], tmp_path: Path) -> None:
    media = tmp_path / "media"
    account = new_account(sessions, retention_days=1)
    outside = tmp_path / "precious.wav"
    outside.write_bytes(b"keep me")
    prompt = media / "tts-cache" / "ab" / "prompt.wav"
    prompt.parent.mkdir(parents=True)
    prompt.write_bytes(b"keep me too")
    link = wav(media, account, "link")
    link.unlink()
    os.symlink(outside, link)  # inside by name, outside once resolved
    folder = media / "recordings" / str(account)
    traversal = f"{media}/recordings/{account}/../../../precious.wav"
    ids = [add_recording(sessions, account, path=p, created_at=T0)
           for p in (str(outside), str(prompt), str(link), traversal, str(folder), "relative/recordings/x.wav", "")]
    assert apply_retention(sessions, now=T0 + 5 * DAY, media_dir=media) == 0
    assert outside.read_bytes() == b"keep me" and prompt.exists() and link.is_symlink() and folder.is_dir()
    assert all(load(sessions, i).audio_deleted_at is None and audits(sessions, i) == [] for i in ids)


def test_paths_are_checked_after_resolving(tmp_path: Path) -> None:
    root = recordings_root(tmp_path / "media")
    assert root == (tmp_path / "media").resolve() / "recordings"
    assert file_inside(root, str(root / "1" / "a.wav")) == root / "1" / "a.wav"
    assert file_inside(root, str(root / "1" / ".." / ".." / "a.wav")) is None
    assert file_inside(root, "1/a.wav") is None and file_inside(root, str(root)) is None


def test_the_media_folder_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("VOICEPLATFORM_MEDIA_DIR", str(tmp_path / "elsewhere"))
    assert recordings_root() == (tmp_path / "elsewhere").resolve() / "recordings"
