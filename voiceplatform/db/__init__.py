"""Database engines and schema migrations.

``DATABASE_URL`` (or the ``url`` argument) picks the database. The embedded default is SQLite in
the instance folder's ``.state/voiceplatform.db``, opened in WAL mode with foreign keys on and a busy timeout, so the API
and the in-process job runner can share it. PostgreSQL (``postgresql+psycopg://...``) is the
production database. The schema is always created by the Alembic migrations.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, cast

from alembic import command
from alembic.config import Config
from sqlalchemy import CursorResult, Engine, Executable, create_engine, event, make_url
from sqlalchemy.orm import Session, sessionmaker

from voiceplatform.db.batch_plans import plan_batches_each_time
from voiceplatform.settings import paths

MIGRATIONS = Path(__file__).resolve().parents[1] / "models" / "migrations"


def default_url() -> str:
    """SQLite in the instance folder's ``.state/voiceplatform.db`` (voiceplatform.settings)."""
    return f"sqlite:///{paths().database_file}"


def database_url(url: str | None = None) -> str:
    return url or os.environ.get("DATABASE_URL") or default_url()


def make_engine(url: str | None = None, **options: Any) -> Engine:
    url = database_url(url)
    if url.startswith("sqlite"):
        path = make_url(url).database
        if path and path != ":memory:" and not path.startswith("file:"):
            _private_sqlite_file(Path(path))
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **options)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    engine = create_engine(url, pool_pre_ping=True, **options)
    if engine.dialect.driver == "psycopg":
        plan_batches_each_time(engine)
    return engine


def _private_sqlite_file(path: Path) -> None:
    """Create the SQLite file readable by its owner only (0600, in a 0700 folder when the folder is
    new): it holds contacts, tokens' hashes and encrypted secrets. An existing file, and its WAL
    and shared-memory files (SQLite gives those the database file's mode), are tightened too."""
    if not path.parent.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except FileExistsError:
        pass
    for member in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        try:
            if member.stat().st_mode & 0o077:
                member.chmod(0o600)
        except FileNotFoundError:
            continue


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def alembic_config(url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", database_url(url).replace("%", "%%"))
    return config


def upgrade(url: str | None = None, revision: str = "head") -> None:
    """Bring the database's schema to ``revision`` (the newest by default)."""
    command.upgrade(alembic_config(url), revision)


def rows_changed(session: Session, statement: Executable) -> int:
    """Execute an UPDATE or DELETE and return how many rows it changed: the conditional writes that
    make claims and transitions safe between workers read this. (``Session.execute`` is typed as
    returning ``Result``; for a DML statement it is a ``CursorResult``, which has ``rowcount``.)"""
    result = cast("CursorResult[Any]", session.execute(statement))
    return int(result.rowcount or 0)
