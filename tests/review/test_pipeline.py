"""The review pipeline on SQLite and PostgreSQL: a real recording transcribed (in a child process,
as in a gevent worker), a corrupt one retried on schedule until it fails for good with its error
visible, the call row never touched or waited for, and no recording processed by two workers."""

from __future__ import annotations

import shutil
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import gevent
import pytest
from sqlalchemy import Engine, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from tests.review.conftest import T0, add_recording, new_account
from voiceplatform.db import session_factory
from voiceplatform.models import Call, Recording
from voiceplatform.review import jobs, pipeline
from voiceplatform.review.analysis import Analysis, AnalysisError, analyse_isolated
from voiceplatform.review.pipeline import (
    AUDIO_DELETED, DONE, FAILED, MAX_ATTEMPTS, MISSING, PENDING, default_analyser, is_due, last_attempt_at,
    process_due, process_recording, retry_delay,
)


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    """Sessions on a database with no pending recording left by another test (process_due takes
    every due recording in the database)."""
    factory = session_factory(engine)
    with factory.begin() as session:
        session.execute(update(Recording).where(Recording.transcription_status == PENDING)
                        .values(transcription_status=DONE))
    return factory


def load(sessions: sessionmaker[Session], recording_id: int) -> Recording:
    with sessions() as session:
        row = session.get(Recording, recording_id)
        assert row is not None
        return row


def call_columns(sessions: sessionmaker[Session], recording_id: int) -> dict[str, object]:
    with sessions() as session:
        call = session.scalars(select(Call).join(Recording).where(Recording.id == recording_id)).one()
        return {column.key: getattr(call, column.key) for column in Call.__table__.columns}


def fake(text: str = "hello world") -> tuple[list[str], object]:
    """An analyser that records the paths it was given."""
    seen: list[str] = []

    def analyser(path: str, duration: float) -> Analysis:
        seen.append(path)
        segment = {"start": 0.1, "end": 0.9, "text": text, "words": [{"w": w, "start": 0.1, "end": 0.9} for w in text.split()]}
        return Analysis("fake", [segment], text, [0.0, 0.5, 1.0], duration, 0.01)  # type: ignore[list-item]

    return seen, analyser


def test_the_analysis_runs_in_a_child_process_under_gevent() -> None:
    assert default_analyser() is analyse_isolated  # the tests, like the workers, run monkey-patched


def test_a_real_recording_is_transcribed_with_segments_and_peaks(sessions: sessionmaker[Session], speech_wav: Path,
                                                                  tmp_path: Path) -> None:
    audio = shutil.copy(speech_wav, tmp_path / "call.wav")
    recording_id = add_recording(sessions, new_account(sessions), path=audio)
    before = call_columns(sessions, recording_id)
    assert process_due(sessions) == 1
    row = load(sessions, recording_id)
    assert (row.transcription_status, row.transcription_engine, row.transcription_attempts) == (DONE, "pocketsphinx", 1)
    assert row.transcription_error is None and row.transcribed_at is not None
    assert row.transcript and row.transcript == " ".join(s["text"] for s in row.transcript_segments or [])
    assert row.peaks is not None and len(row.peaks) == 800 and max(row.peaks) > 0
    assert call_columns(sessions, recording_id) == before
    assert process_due(sessions) == 0  # done is done


def test_a_corrupt_recording_is_retried_on_schedule_then_failed(sessions: sessionmaker[Session], tmp_path: Path) -> None:
    corrupt = tmp_path / "corrupt.wav"
    corrupt.write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(60))
    recording_id = add_recording(sessions, new_account(sessions), path=corrupt)
    before = call_columns(sessions, recording_id)
    now = T0
    for attempt in range(1, MAX_ATTEMPTS + 1):
        assert process_due(sessions, now=now) == 1
        row = load(sessions, recording_id)
        assert row.transcription_attempts == attempt
        assert row.transcription_error is not None and row.transcription_error.startswith(f"attempt {attempt}/{MAX_ATTEMPTS} at ")
        assert "AnalysisError" in row.transcription_error and "cannot read the audio" in row.transcription_error
        assert last_attempt_at(row.transcription_error) == now
        if attempt < MAX_ATTEMPTS:
            assert row.transcription_status == PENDING
            assert process_due(sessions, now=now + retry_delay(attempt) - timedelta(seconds=1)) == 0  # not yet
            now += retry_delay(attempt)
        assert call_columns(sessions, recording_id) == before
    assert load(sessions, recording_id).transcription_status == FAILED
    assert process_due(sessions, now=now + timedelta(days=1)) == 0
    assert process_recording(sessions, recording_id) == FAILED  # left alone
    assert load(sessions, recording_id).transcription_attempts == MAX_ATTEMPTS


def test_a_missing_file_fails_like_a_corrupt_one(sessions: sessionmaker[Session], tmp_path: Path) -> None:
    recording_id = add_recording(sessions, new_account(sessions), path=tmp_path / "never-written.wav")
    assert process_recording(sessions, recording_id, now=T0) == PENDING
    row = load(sessions, recording_id)
    assert row.transcription_attempts == 1 and "cannot read the audio" in (row.transcription_error or "")


def test_retry_schedule() -> None:
    assert [retry_delay(n).total_seconds() for n in range(1, MAX_ATTEMPTS)] == [30, 60, 120, 240]
    error = f"attempt 2/{MAX_ATTEMPTS} at {T0.isoformat()}: AnalysisError: boom"
    assert last_attempt_at(error) == T0
    assert not is_due(2, error, T0 + timedelta(seconds=59)) and is_due(2, error, T0 + timedelta(seconds=60))
    assert is_due(0, None, T0) and is_due(1, "written by someone else", T0)


def test_process_recording_of_done_missing_and_audio_deleted(sessions: sessionmaker[Session]) -> None:
    account = new_account(sessions)
    seen, analyser = fake()
    done = add_recording(sessions, account, status=DONE)
    assert process_recording(sessions, done, analyser=analyser) == DONE and seen == []
    assert process_recording(sessions, 987654321, analyser=analyser) == MISSING
    deleted = add_recording(sessions, account, audio_deleted_at=T0)
    assert process_due(sessions, analyser=analyser) == 0  # its audio is gone: not picked
    assert process_recording(sessions, deleted, analyser=analyser) == FAILED and seen == []
    assert load(sessions, deleted).transcription_error == AUDIO_DELETED


def test_process_due_takes_the_oldest_first_up_to_the_limit(sessions: sessionmaker[Session]) -> None:
    account = new_account(sessions)
    ids = [add_recording(sessions, account, path=f"/media/recordings/{i}.wav") for i in range(5)]
    seen, analyser = fake("thank you")
    assert process_due(sessions, limit=3, analyser=analyser) == 3
    assert seen == [f"/media/recordings/{i}.wav" for i in range(3)]
    assert process_due(sessions, limit=3, analyser=analyser) == 2
    row = load(sessions, ids[4])
    assert (row.transcript, row.transcription_engine, row.peaks) == ("thank you", "fake", [0.0, 0.5, 1.0])
    assert row.transcript_segments == [{"start": 0.1, "end": 0.9, "text": "thank you",
                                        "words": [{"w": "thank", "start": 0.1, "end": 0.9}, {"w": "you", "start": 0.1, "end": 0.9}]}]


def test_a_failure_never_waits_for_or_writes_the_call_row(sessions: sessionmaker[Session], engine: Engine) -> None:
    """The call row is held by another transaction (e.g. a settling dialler) the whole time."""
    recording_id = add_recording(sessions, new_account(sessions))
    call_id = load(sessions, recording_id).call_id
    before = call_columns(sessions, recording_id)

    def broken(path: str, duration: float) -> Analysis:
        raise AnalysisError("the engine fell over")

    with engine.connect() as holder:
        if engine.dialect.name == "postgresql":
            holder.execute(text("SELECT id FROM calls WHERE id = :id FOR UPDATE"), {"id": call_id})
        with gevent.Timeout(20):
            assert process_recording(sessions, recording_id, now=T0, analyser=broken) == PENDING
        holder.rollback()
    assert call_columns(sessions, recording_id) == before
    assert load(sessions, recording_id).transcription_error == f"attempt 1/{MAX_ATTEMPTS} at {T0.isoformat()}: AnalysisError: the engine fell over"


def test_two_workers_at_once_process_each_recording_once(sessions: sessionmaker[Session], engine: Engine,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    if engine.dialect.name == "postgresql":  # as two processes would: only the row locks keep them apart
        @contextmanager
        def always_free(recording_id: int) -> Iterator[bool]:
            yield True

        monkeypatch.setattr(pipeline, "_in_process_claim", always_free)
    account = new_account(sessions)
    ids = [add_recording(sessions, account, path=f"/media/recordings/{i}.wav") for i in range(30)]
    processed: Counter[str] = Counter()
    by_worker: Counter[str] = Counter()

    def worker(name: str) -> int:
        def analyser(path: str, duration: float) -> Analysis:
            processed[path] += 1
            by_worker[name] += 1
            gevent.sleep(0.005)  # the analysis takes a while: the other worker runs
            return Analysis("fake", [], "", [], duration, 0.005)

        total = 0
        while (count := process_due(sessions, limit=5, analyser=analyser)):
            total += count
        return total

    workers = [gevent.spawn(worker, "a"), gevent.spawn(worker, "b")]
    gevent.joinall(workers, timeout=120, raise_error=True)
    assert sum(w.value for w in workers) == 30
    assert set(processed.values()) == {1} and len(processed) == 30, processed
    assert by_worker["a"] > 0 and by_worker["b"] > 0, by_worker
    with sessions() as session:
        statuses = session.scalars(select(Recording.transcription_status).where(Recording.id.in_(ids))).all()
    assert set(statuses) == {DONE}


def test_postgresql_skips_a_recording_another_worker_holds(sessions: sessionmaker[Session], engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("row locks (FOR UPDATE SKIP LOCKED) are PostgreSQL's")
    account = new_account(sessions)
    held, free = add_recording(sessions, account), add_recording(sessions, account)
    seen, analyser = fake()
    with engine.connect() as holder:
        holder.execute(text("SELECT id FROM recordings WHERE id = :id FOR UPDATE"), {"id": held})
        with gevent.Timeout(20):
            assert process_due(sessions, analyser=analyser) == 1
            assert process_recording(sessions, held, analyser=analyser) == PENDING  # another worker has it
        holder.rollback()
    assert load(sessions, free).transcription_status == DONE and load(sessions, held).transcription_status == PENDING
    assert process_due(sessions, analyser=analyser) == 1


def test_the_rq_job_uses_database_url(sessions: sessionmaker[Session], engine: Engine, monkeypatch: pytest.MonkeyPatch,
                                      speech_wav: Path) -> None:
    recording_id = add_recording(sessions, new_account(sessions), path=speech_wav)
    monkeypatch.setenv("DATABASE_URL", engine.url.render_as_string(hide_password=False))
    jobs._sessions_for.cache_clear()
    try:
        assert jobs.process_recording_job(recording_id) == DONE
    finally:
        jobs._sessions_for.cache_clear()
    assert load(sessions, recording_id).transcription_engine == "pocketsphinx"
