"""Contact import from CSV and Excel on SQLite and PostgreSQL: streamed, every bad row reported,
existing contacts updated (never duplicated), the brief's size limit enforced."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import Engine, func, select

from voiceplatform.contacts.importer import import_contacts
from voiceplatform.contacts.rows import ContactFileError
from voiceplatform.db import session_factory
from voiceplatform.exceptions import UploadTooLargeError
from voiceplatform.limits import ResourceLimits
from voiceplatform.models import Account, Contact, ContactListMember

CSV = """Phone,First_Name,Amount,Timezone,Channels
(202) 555-0143,Ann,$120,,voice;sms
+44 20 7946 0958,Bob,£80,Europe/London,
12,Bad,$1,,
(202) 555-0143,Ann again,$5,,
+1 202 555 0199,Cid,$9,Mars/Olympus,
+1 202 555 0188,Dee,$9,,fax
+1 202 555 0177,Eve
"""


@pytest.fixture
def account(engine: Engine) -> int:
    with session_factory(engine).begin() as session:
        row = Account(name="importer")
        session.add(row)
        session.flush()
        return row.id


def run(engine: Engine, account: int, text: str, name: str = "contacts.csv", **options):  # type: ignore[no-untyped-def]
    return import_contacts(session_factory(engine), account, io.BytesIO(text.encode()), name, **options)


def test_good_rows_are_imported_and_every_bad_row_is_reported(engine: Engine, account: int) -> None:
    report = run(engine, account, CSV, list_name="march")
    assert (report.rows, report.created, report.updated, report.error_count) == (7, 2, 0, 5)
    assert [(e.row, e.message.split(":")[0]) for e in report.errors] == [
        (4, "'12' is not a valid number for US"),
        (5, "this number appears earlier in the file"),
        (6, "unknown time zone 'Mars/Olympus'"),
        (7, "channels must be among ['sms', 'voice', 'whatsapp']"),
        (8, "has 2 cells; the header has 5"),
    ]
    with session_factory(engine)() as session:
        ann = session.scalars(select(Contact).where(Contact.account_id == account, Contact.phone == "+12025550143")).one()
        assert ann.attributes == {"first_name": "Ann", "amount": "$120"}
        assert ann.timezone == "America/New_York" and ann.channels == ["voice", "sms"]
        bob = session.scalars(select(Contact).where(Contact.account_id == account, Contact.phone == "+442079460958")).one()
        assert bob.timezone == "Europe/London" and bob.channels == ["sms", "voice", "whatsapp"]
        members = session.scalar(select(func.count()).select_from(ContactListMember).where(ContactListMember.list_id == report.list_id))
        assert members == 2


def test_reimport_updates_instead_of_duplicating(engine: Engine, account: int) -> None:
    run(engine, account, "phone,first_name\n2025550143,Ann\n")
    report = run(engine, account, "phone,first_name,tier\n+12025550143,Annie,gold\n2025550144,Bea,\n")
    assert (report.created, report.updated) == (1, 1)
    with session_factory(engine)() as session:
        contacts = session.scalars(select(Contact).where(Contact.account_id == account).order_by(Contact.phone)).all()
        assert [(c.phone, c.attributes["first_name"]) for c in contacts] == [("+12025550143", "Annie"), ("+12025550144", "Bea")]


def test_excel_files_import_the_same_way(engine: Engine, account: int, tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    sheet.append(["Mobile", "first_name", "visits"])
    sheet.append(["+12025550101", "Xena", 3])
    sheet.append(["not a phone", "Yuri", None])
    path = tmp_path / "contacts.xlsx"
    book.save(path)
    with path.open("rb") as stream:
        report = import_contacts(session_factory(engine), account, stream, path.name)
    assert (report.created, report.error_count) == (1, 1) and report.errors[0].row == 3
    with session_factory(engine)() as session:
        xena = session.scalars(select(Contact).where(Contact.phone == "+12025550101", Contact.account_id == account)).one()
        assert xena.attributes == {"first_name": "Xena", "visits": "3"}


def test_semicolon_csv_with_bom_and_quoted_newlines(engine: Engine, account: int) -> None:
    text = '\ufeffnumber;first_name;note\n2025550160;Zed;"two\nlines"\n2025550161;Ida;x\n'
    report = run(engine, account, text)
    assert (report.created, report.error_count) == (2, 0)


@pytest.mark.parametrize("text, message", [
    ("first_name\nAnn\n", "no phone column"),
    ("", "the file is empty"),
])
def test_unreadable_files_are_errors(engine: Engine, account: int, text: str, message: str) -> None:
    with pytest.raises(ContactFileError, match=message):
        run(engine, account, text)


def test_non_utf8_and_oversized_files_are_refused(engine: Engine, account: int) -> None:
    with pytest.raises(ContactFileError, match="not UTF-8"):
        import_contacts(session_factory(engine), account, io.BytesIO("phone,name\n2025550143,Jos\xe9\n".encode("latin-1")), "x.csv")
    with pytest.raises(UploadTooLargeError, match="larger than 100 bytes"):
        run(engine, account, "phone\n" + "2025550143\n" * 50, limits=ResourceLimits(max_upload_bytes=100))


def test_cli_import_prints_the_report(tmp_path: Path) -> None:
    csv_file = tmp_path / "people.csv"
    csv_file.write_text(CSV)
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}", "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-m", "voiceplatform", "contacts", "import", str(csv_file), "--list", "march"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "7 rows: 2 created, 0 updated, 5 not imported"
    assert f"{csv_file}: row 4: '12' is not a valid number for US (12)" in lines
