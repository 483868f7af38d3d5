"""Issue 10's test: a kill -9 during an import, then a retry, leaves exactly one list with every
good row, on SQLite and PostgreSQL. The real CLI runs in a subprocess; it is killed while its
transaction holds 4,000 written rows, at a pause point it announces by creating a file (no
timing is guessed: voiceplatform.contacts.pause_point)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import func, select

from voiceplatform.contacts.pause_point import VARIABLE
from voiceplatform.db import make_engine, session_factory
from voiceplatform.models import Account, Contact, ContactList, ContactListMember

ROWS = 10_000
BAD_ROWS = set(range(2, ROWS + 2, 1000))  # row numbers (the header is row 1) holding a bad number


def contacts_file(path: Path) -> Path:
    lines = ["phone,first_name"]
    for row in range(2, ROWS + 2):
        phone = "12" if row in BAD_ROWS else f"+120255{row:05d}"
        lines.append(f"{phone},Name{row}")
    path.write_text("\n".join(lines) + "\n")
    return path


def cli(database_url: str, csv_file: Path, **env: str) -> subprocess.Popen[str]:
    environ = {"DATABASE_URL": database_url, "PATH": "/usr/bin:/bin", **env}
    return subprocess.Popen([sys.executable, "-m", "voiceplatform", "contacts", "import", str(csv_file),
                             "--account", "killed", "--list", "killed mid-import"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environ)


def state(database_url: str) -> tuple[int, list[int], int]:
    """(contacts of the account, its lists named as the import's, members of those lists)."""
    engine = make_engine(database_url)
    try:
        with session_factory(engine)() as session:
            account = session.scalars(select(Account.id).where(Account.name == "killed")).first()
            contacts = session.scalar(select(func.count()).select_from(Contact).where(Contact.account_id == account)) or 0
            lists = list(session.scalars(select(ContactList.id).where(ContactList.account_id == account,
                                                                      ContactList.name == "killed mid-import")))
            members = session.scalar(select(func.count()).select_from(ContactListMember)
                                     .where(ContactListMember.list_id.in_(lists))) or 0
            return contacts, lists, members
    finally:
        engine.dispose()


def test_kill_9_mid_import_then_retry_leaves_one_list_with_every_good_row(database_url: str, tmp_path: Path) -> None:
    csv_file = contacts_file(tmp_path / "people.csv")
    paused = tmp_path / "paused"
    first = cli(database_url, csv_file, **{VARIABLE: f"4000:{paused}"})
    deadline = time.monotonic() + 120
    while not paused.exists():  # the importer creates it with 4,000 rows written, uncommitted
        assert first.poll() is None, first.communicate()
        assert time.monotonic() < deadline, "the import never reached its pause point"
        time.sleep(0.05)
    assert int(paused.read_text()) >= 4000
    os.kill(first.pid, signal.SIGKILL)
    first.communicate(timeout=60)
    assert first.returncode == -signal.SIGKILL
    assert state(database_url) == (0, [], 0)  # nothing of the killed import is left

    retry = cli(database_url, csv_file)
    out, err = retry.communicate(timeout=300)
    assert retry.returncode == 0, err
    good = ROWS - len(BAD_ROWS)
    assert out.splitlines()[0] == f"{ROWS} rows: {good} created, 0 updated, {len(BAD_ROWS)} not imported"
    contacts, lists, members = state(database_url)
    assert (contacts, len(lists), members) == (good, 1, good)

    again = cli(database_url, csv_file)  # and once more: the same list, the same report, nothing applied
    out, err = again.communicate(timeout=300)
    assert again.returncode == 0, err
    assert out.splitlines()[0].startswith("already imported (import ")
    assert out.splitlines()[1] == f"{ROWS} rows: {good} created, 0 updated, {len(BAD_ROWS)} not imported"
    assert state(database_url) == (good, lists, good)
