"""Retention: the audio of a recording older than its account's ``recording_retention_days`` is
deleted; the row, its transcript, segments, peaks and QA review stay.

``apply_retention`` (run periodically; also the rq job
``voiceplatform.review.jobs.apply_retention_job``), for each account with a retention period
(``None`` keeps recordings forever), for each recording created more than that many days before
``now`` whose audio is still there:

1. deletes the file, only if its resolved path (symlinks followed) is a file inside the
   recordings folder of the media directory (``VOICEPLATFORM_MEDIA_DIR``/recordings, default
   ``media/recordings``); anything else is refused, logged and left for a person to look at (the
   row keeps its audio);
2. sets ``audio_deleted_at`` (only if still unset, so two runs at once do it once) and writes one
   audit event, action ``retention.delete`` (``RETENTION_DELETE``), with no user, and details
   ``{"path", "created_at", "retention_days", "file_missing"}`` (``file_missing`` is true when
   the file was already gone); a recording still waiting for its transcript becomes ``failed``
   (there is nothing left to transcribe).

A second run finds nothing to do. A file that cannot be deleted (permissions, I/O) is logged and
tried again on the next run.
"""

from __future__ import annotations

import logging
import os
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from voiceplatform.db import rows_changed
from voiceplatform.models import Account, AuditEvent, Recording
from voiceplatform.models.base import utcnow
from voiceplatform.review.pipeline import AUDIO_DELETED, FAILED, PENDING
from voiceplatform.settings import paths

RETENTION_DELETE = "retention.delete"  # the audit action of one recording's audio deleted
BATCH = 500  # recordings deleted per transaction

log = logging.getLogger(__name__)


def default_media_dir() -> Path:
    """``VOICEPLATFORM_MEDIA_DIR``, else the instance's ``media/`` (as the web UI serves it),
    whatever the working directory (voiceplatform.settings)."""
    return paths().media_dir


def recordings_root(media_dir: str | Path | None = None) -> Path:
    return (Path(media_dir) if media_dir is not None else default_media_dir()).resolve() / "recordings"


def file_inside(root: Path, path: str) -> Path | None:
    """The resolved ``path`` if it is an absolute path that resolves inside ``root`` (and is not a
    directory), else ``None``."""
    if not path or not os.path.isabs(path):
        return None
    resolved = Path(path).resolve()
    if not resolved.is_relative_to(root) or resolved == root or resolved.is_dir():
        return None
    return resolved


def apply_retention(sessions: sessionmaker[Session], now: datetime | None = None, *,
                    media_dir: str | Path | None = None) -> int:
    """Delete the audio past every account's retention (see the module's docstring); return how
    many recordings lost their audio in this run."""
    now = now or utcnow()
    root = recordings_root(media_dir)
    with sessions() as session:
        accounts = session.execute(select(Account.id, Account.recording_retention_days)
                                   .where(Account.recording_retention_days.is_not(None))
                                   .order_by(Account.id)).all()
    deleted = 0
    for account_id, days in accounts:
        if days is None:  # the query leaves these out; this tells the type checker
            continue
        if days < 0:
            log.warning("account %s has a negative retention (%s days): skipped", account_id, days)
            continue
        deleted += _apply_to_account(sessions, account_id, days, now, root)
    return deleted


def _apply_to_account(sessions: sessionmaker[Session], account_id: int, days: int, now: datetime, root: Path) -> int:
    cutoff = now - timedelta(days=days)
    deleted, after = 0, 0
    while True:
        with sessions() as session:
            rows = session.execute(
                select(Recording.id, Recording.path, Recording.created_at)
                .where(Recording.account_id == account_id, Recording.audio_deleted_at.is_(None),
                       Recording.created_at < cutoff, Recording.id > after)
                .order_by(Recording.id).limit(BATCH)
            ).all()
        if not rows:
            return deleted
        after = rows[-1].id
        gone = [(row, missing) for row in rows if (missing := _delete_file(root, row.id, row.path)) is not None]
        with sessions.begin() as session:
            for row, missing in gone:
                marked = rows_changed(session,
                    update(Recording).where(Recording.id == row.id, Recording.audio_deleted_at.is_(None))
                    .values(audio_deleted_at=now).execution_options(synchronize_session=False)
                )
                if marked:
                    session.execute(  # nothing left to transcribe
                        update(Recording).where(Recording.id == row.id, Recording.transcription_status == PENDING)
                        .values(transcription_status=FAILED, transcription_error=AUDIO_DELETED)
                        .execution_options(synchronize_session=False))
                    session.add(AuditEvent(at=now, account_id=account_id, user_id=None, action=RETENTION_DELETE,
                                           recording_id=row.id, details={
                                               "path": row.path, "created_at": row.created_at.isoformat(),
                                               "retention_days": days, "file_missing": missing}))
                    deleted += 1


def _delete_file(root: Path, recording_id: int, path: str) -> bool | None:
    """Delete the recording's file: ``False`` when deleted, ``True`` when it was already missing,
    ``None`` when refused or failed (the recording keeps its audio for now)."""
    target = file_inside(root, path)
    if target is None:
        log.warning("retention: recording %s has a path outside %s, not deleted: %r", recording_id, root, path)
        return None
    try:
        target.unlink()
    except FileNotFoundError:
        return True
    except OSError as exc:
        log.warning("retention: cannot delete %s (recording %s): %s", target, recording_id, exc)
        return None
    return False
