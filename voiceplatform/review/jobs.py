"""rq jobs of the review pipeline. They open the database named by ``DATABASE_URL`` (one engine per
process, made on first use). The database is the source of truth: a job is only a prompt, and
``process_due``, polled by the supervisors, picks up any recording a lost job did not process.

- ``voiceplatform.review.jobs.process_recording_job(recording_id)``: transcribe one recording now;
- ``voiceplatform.review.jobs.process_due_job(limit)``: one pass of ``process_due``;
- ``voiceplatform.review.jobs.apply_retention_job()``: one pass of retention.
"""

from __future__ import annotations

import functools

from sqlalchemy.orm import Session, sessionmaker

from voiceplatform.db import database_url, make_engine, session_factory


@functools.lru_cache(maxsize=4)
def _sessions_for(url: str) -> sessionmaker[Session]:
    return session_factory(make_engine(url))


def job_sessions() -> sessionmaker[Session]:
    return _sessions_for(database_url())


def process_recording_job(recording_id: int) -> str:
    """Transcribe recording ``recording_id``; its status afterwards (see ``process_recording``)."""
    from voiceplatform.review.pipeline import process_recording

    return process_recording(job_sessions(), recording_id)


def process_due_job(limit: int = 10) -> int:
    from voiceplatform.review.pipeline import process_due

    return process_due(job_sessions(), limit=limit)


def apply_retention_job() -> int:
    from voiceplatform.review.retention import apply_retention

    return apply_retention(job_sessions())
