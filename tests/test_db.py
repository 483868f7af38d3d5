"""The embedded database file is private to its owner."""

from __future__ import annotations

import stat
from pathlib import Path

from sqlalchemy import text

from voiceplatform.db import make_engine


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_sqlite_file_and_its_wal_are_0600_in_a_0700_folder(tmp_path: Path) -> None:
    path = tmp_path / "fresh" / "voiceplatform.db"
    engine = make_engine(f"sqlite:///{path}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (x INTEGER)"))
        connection.execute(text("INSERT INTO t VALUES (1)"))
        assert _mode(path) == 0o600
        assert _mode(path.with_name(path.name + "-wal")) == 0o600
    engine.dispose()
    assert _mode(path.parent) == 0o700


def test_an_existing_world_readable_file_is_tightened(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    path.touch(mode=0o644)
    path.chmod(0o644)
    make_engine(f"sqlite:///{path}").dispose()
    assert _mode(path) == 0o600
