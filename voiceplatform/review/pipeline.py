"""The review pipeline: after a call, transcribe each recording and compute its waveform peaks.

A recording row is created ``pending`` when its call is saved. ``process_due`` (run periodically
by every worker's supervisor and by the embedded server) and ``process_recording`` (the rq job
``voiceplatform.review.jobs.process_recording_job``) take it from there:

- **success**: ``transcript`` (the words, for search), ``transcript_segments``, ``peaks``,
  ``transcription_engine``, ``transcribed_at``; status ``done``; ``transcription_error`` cleared.
- **failure** (any exception from the analysis: unreadable or missing file, engine error, a child
  process that crashed or timed out): ``transcription_attempts`` + 1 and ``transcription_error``
  = ``"attempt N/MAX at <ISO time>: <Type>: <message>"``. The status stays ``pending`` and the
  next attempt is due ``retry_delay(N)`` after that time (30 s, 60 s, 120 s, 240 s); after
  ``MAX_ATTEMPTS`` it is ``failed``. The time of the last attempt lives in the error text because
  the schema has no column for it (a ``transcription_next_at`` column would let the database
  filter on it; at the handful of recordings in retry at any moment, filtering in Python is
  cheap).
- a recording whose audio was deleted by retention before it was transcribed becomes ``failed``
  at once (nothing to retry).

Only the ``recordings`` row is written, with UPDATE statements: the pipeline never reads, locks
or writes the ``calls`` row, so it can neither block nor damage the call record.

**One worker per recording.** On PostgreSQL the recording's row is locked (``FOR UPDATE SKIP
LOCKED``) for the whole attempt, and the result is written in that same transaction: another
worker skips the row, and a worker that dies mid-attempt leaves it ``pending`` for the next pass
(such an attempt is not counted). On SQLite (one embedded process) the row is read, analysed
outside any transaction (a long write transaction would block the dialler), and written only if
nobody changed it meanwhile (same status and attempt count); within a process, a set of
recordings in flight keeps two greenlets or threads off the same one.

The analysis runs in a child process when gevent has patched this process (see
``voiceplatform.review.analysis``), in this process otherwise.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from voiceplatform.db import rows_changed
from voiceplatform.models import Recording
from voiceplatform.models.base import utcnow
from voiceplatform.review.analysis import Analyser, analyse, analyse_isolated

MAX_ATTEMPTS = 5  # attempts before a recording is ``failed``
RETRY_BASE = 30.0  # seconds from the first failed attempt to the second; doubles after each failure
RETRY_SCAN = 500  # recordings in retry examined per pass of process_due
MAX_ERROR = 1000  # characters of an error message kept

PENDING, DONE, FAILED = "pending", "done", "failed"
STATUSES = (PENDING, DONE, FAILED)
MISSING = "missing"  # process_recording of an id with no recording (its call was deleted)

AUDIO_DELETED = "the audio was deleted (retention) before it was transcribed"
_ERROR = re.compile(r"^attempt \d+/\d+ at (\S+): ")


def retry_delay(attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failed attempt: 30 s, 60 s, 120 s, 240 s."""
    return timedelta(seconds=RETRY_BASE * 2 ** max(attempts - 1, 0))


def error_text(attempt: int, at: datetime, message: str) -> str:
    return f"attempt {attempt}/{MAX_ATTEMPTS} at {at.isoformat()}: {message}"[:MAX_ERROR]


def last_attempt_at(error: str | None) -> datetime | None:
    """The time of the failed attempt that ``error`` (as written by ``error_text``) records."""
    found = _ERROR.match(error or "")
    if found is None:
        return None
    try:
        return datetime.fromisoformat(found.group(1))
    except ValueError:
        return None


def is_due(attempts: int, error: str | None, now: datetime) -> bool:
    """Whether a pending recording with this attempt count and error should be tried now."""
    if attempts == 0:
        return True
    last = last_attempt_at(error)
    return last is None or last + retry_delay(attempts) <= now


def default_analyser() -> Analyser:
    from gevent import monkey

    return analyse_isolated if monkey.is_module_patched("threading") else analyse


_in_flight: set[int] = set()
_in_flight_lock = threading.Lock()


@contextmanager
def _in_process_claim(recording_id: int) -> Iterator[bool]:
    with _in_flight_lock:
        taken = recording_id not in _in_flight
        _in_flight.add(recording_id)
    try:
        yield taken
    finally:
        if taken:
            with _in_flight_lock:
                _in_flight.discard(recording_id)


@dataclass(frozen=True)
class _Row:
    id: int
    path: str
    duration: Decimal | float
    status: str
    attempts: int
    audio_deleted_at: datetime | None


@dataclass(frozen=True)
class _Outcome:
    status: str
    processed: bool  # an attempt was made (successful or not) and its result written


_COLUMNS = (Recording.id, Recording.path, Recording.duration, Recording.transcription_status,
            Recording.transcription_attempts, Recording.audio_deleted_at)


def _read(session: Session, recording_id: int, lock: bool) -> _Row | None:
    query = select(*_COLUMNS).where(Recording.id == recording_id)
    if lock:
        query = query.with_for_update(skip_locked=True)
    row = session.execute(query).one_or_none()
    return None if row is None else _Row(*row)


def _attempt(row: _Row, clock: Callable[[], datetime], analyser: Analyser) -> dict[str, Any]:
    """The values to write after one attempt at ``row``."""
    attempt = row.attempts + 1
    if row.audio_deleted_at is not None:
        return {"transcription_status": FAILED, "transcription_error": AUDIO_DELETED}
    try:
        result = analyser(row.path, float(row.duration))
    except Exception as exc:  # any failure of the analysis is counted, shown and retried
        status = FAILED if attempt >= MAX_ATTEMPTS else PENDING
        message = f"{type(exc).__name__}: {exc}"
        return {"transcription_status": status, "transcription_attempts": attempt,
                "transcription_error": error_text(attempt, clock(), message)}
    return {"transcription_status": DONE, "transcription_attempts": attempt, "transcription_error": None,
            "transcript": result.text, "transcript_segments": result.segments, "peaks": result.peaks,
            "transcription_engine": result.engine, "transcribed_at": clock()}


def _write(session: Session, row: _Row, values: dict[str, Any]) -> bool:
    """Write ``values`` if the row is still as read (pending, same attempt count)."""
    written = rows_changed(session,
        update(Recording)
        .where(Recording.id == row.id, Recording.transcription_status == PENDING,
               Recording.transcription_attempts == row.attempts)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return bool(written)


def _process(sessions: sessionmaker[Session], recording_id: int, clock: Callable[[], datetime], analyser: Analyser,
             expected_attempts: int | None = None) -> _Outcome:
    def wanted(row: _Row) -> bool:
        return row.status == PENDING and (expected_attempts is None or row.attempts == expected_attempts)

    with _in_process_claim(recording_id) as taken:
        if not taken:
            return _Outcome(PENDING, False)
        with sessions() as session:
            if session.get_bind().dialect.name == "postgresql":
                with session.begin():
                    row = _read(session, recording_id, lock=True)
                    if row is None:  # locked by another worker, or gone
                        status = session.scalar(select(Recording.transcription_status).where(Recording.id == recording_id))
                        return _Outcome(status or MISSING, False)
                    if not wanted(row):
                        return _Outcome(row.status, False)
                    values = _attempt(row, clock, analyser)
                    return _Outcome(values["transcription_status"], _write(session, row, values))
            with session.begin():
                row = _read(session, recording_id, lock=False)
            if row is None:
                return _Outcome(MISSING, False)
            if not wanted(row):
                return _Outcome(row.status, False)
            values = _attempt(row, clock, analyser)
            with session.begin():
                if _write(session, row, values):
                    return _Outcome(values["transcription_status"], True)
                current = session.scalar(select(Recording.transcription_status).where(Recording.id == recording_id))
            return _Outcome(current or MISSING, False)


def _clock(now: datetime | None) -> Callable[[], datetime]:
    return (lambda: now) if now is not None else utcnow


def process_recording(sessions: sessionmaker[Session], recording_id: int, now: datetime | None = None, *,
                      analyser: Analyser | None = None) -> str:
    """Transcribe one pending recording now, whatever its retry schedule says, and return its
    status afterwards: ``done``, ``pending`` (failed, will be retried; or another worker has it),
    ``failed``, or ``missing``. A recording that is not pending is left alone (its status is
    returned). ``now`` fixes the clock and ``analyser`` replaces the analysis (tests)."""
    return _process(sessions, recording_id, _clock(now), analyser or default_analyser()).status


def process_due(sessions: sessionmaker[Session], now: datetime | None = None, limit: int = 10, *,
                analyser: Analyser | None = None) -> int:
    """Process up to ``limit`` pending recordings that are due (new ones, and failed attempts
    whose retry delay has passed) and whose audio still exists, oldest first; return how many
    were attempted. Recordings another worker is processing are skipped."""
    clock = _clock(now)
    current = clock()
    pending = (Recording.transcription_status == PENDING, Recording.audio_deleted_at.is_(None))
    with sessions() as session:
        fresh = session.execute(
            select(Recording.id, Recording.transcription_attempts, Recording.transcription_error)
            .where(*pending, Recording.transcription_attempts == 0).order_by(Recording.id).limit(limit * 3)
        ).all()
        retrying = session.execute(
            select(Recording.id, Recording.transcription_attempts, Recording.transcription_error)
            .where(*pending, Recording.transcription_attempts > 0).order_by(Recording.id).limit(RETRY_SCAN)
        ).all()
    due = sorted([*fresh, *(row for row in retrying if is_due(row[1], row[2], current))], key=lambda row: row[0])
    chosen = analyser or default_analyser()
    processed = 0
    for recording_id, attempts, _error in due:
        if processed >= limit:
            break
        if _process(sessions, recording_id, clock, chosen, expected_attempts=attempts).processed:
            processed += 1
    return processed
