"""Import contacts in batches, streaming the file, and report every row that was not imported.

Columns (case-insensitive): the phone in ``phone`` / ``number`` / ``mobile`` / ``msisdn`` (or the
one named); optional ``timezone``, ``language``, ``channels`` (``voice;sms``), ``opt_out``; every
other column becomes an attribute, usable in flows as ``@column``. A contact already in the account
(same E.164 number) is updated, never duplicated; a number twice in the file is reported.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, BinaryIO, Callable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
import phonenumbers.timezone
from sqlalchemy import insert
from sqlalchemy.orm import Session
from sqlalchemy.orm import sessionmaker  # noqa: E402

from voiceplatform.contacts.rows import ContactFileError, rows_of
from voiceplatform.models import Contact, ContactList, ContactListMember
from voiceplatform.models.base import utcnow
from voiceplatform.phone import InvalidPhoneNumber, to_e164

PHONE_COLUMNS = ("phone", "number", "mobile", "msisdn", "phone_number", "telephone")
SPECIAL = {"timezone", "tz", "language", "channels", "opt_out"}
CHANNELS = {"voice", "sms", "whatsapp"}
BATCH = 2000
MAX_REPORTED_ERRORS = 10_000


@dataclass
class RowError:
    row: int
    message: str
    value: str = ""


@dataclass
class ImportReport:
    rows: int = 0
    created: int = 0
    updated: int = 0
    errors: list[RowError] = field(default_factory=list)
    error_count: int = 0
    list_id: int | None = None

    def add_error(self, row: int, message: str, value: str = "") -> None:
        self.error_count += 1
        if len(self.errors) < MAX_REPORTED_ERRORS:
            self.errors.append(RowError(row, message, value))

    def to_dict(self) -> dict[str, Any]:
        return {"rows": self.rows, "created": self.created, "updated": self.updated,
                "error_count": self.error_count, "list_id": self.list_id,
                "errors": [{"row": e.row, "message": e.message, "value": e.value} for e in self.errors],
                "errors_truncated": self.error_count > len(self.errors)}


def import_contacts(
    sessions: sessionmaker[Session],
    account_id: int,
    stream: BinaryIO,
    name: str,
    *,
    list_name: str | None = None,
    phone_column: str | None = None,
    default_region: str = "US",
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Import ``stream`` (a CSV or .xlsx named ``name``). Raises ContactFileError only when the
    file as a whole is unreadable; row problems are in the report."""
    report = ImportReport()
    counter = [0]
    rows = rows_of(stream, name, counter)
    header_row = next(rows, None)
    if header_row is None:
        raise ContactFileError("the file is empty")
    header = [cell.strip().lower() for cell in header_row[1]]
    phone_index = _phone_index(header, phone_column)
    with sessions.begin() as session:
        if list_name:
            contact_list = ContactList(account_id=account_id, name=list_name)
            session.add(contact_list)
            session.flush()
            report.list_id = contact_list.id
    seen: set[str] = set()
    batch: dict[str, dict[str, Any]] = {}
    for number, cells in rows:
        if not any(cell.strip() for cell in cells):
            continue  # blank lines are not rows
        report.rows += 1
        parsed = _parse_row(number, cells, header, phone_index, default_region, report)
        if parsed is None:
            continue
        if parsed["phone"] in seen:
            report.add_error(number, "this number appears earlier in the file", parsed["phone"])
            continue
        seen.add(parsed["phone"])
        batch[parsed["phone"]] = parsed
        if len(batch) >= BATCH:
            _save(sessions, account_id, batch, report)
            batch = {}
            if progress is not None:
                progress(counter[0])
    if batch:
        _save(sessions, account_id, batch, report)
    if progress is not None:
        progress(counter[0])
    return report


def _phone_index(header: list[str], phone_column: str | None) -> int:
    wanted = (phone_column.lower(),) if phone_column else PHONE_COLUMNS
    for candidate in wanted:
        if candidate in header:
            return header.index(candidate)
    raise ContactFileError(f"no phone column: expected one of {', '.join(wanted)} in the header {header}")


def _parse_row(number: int, cells: list[str], header: list[str], phone_index: int, region: str,
               report: ImportReport) -> dict[str, Any] | None:
    if len(cells) != len(header):
        report.add_error(number, f"has {len(cells)} cells; the header has {len(header)}")
        return None
    raw_phone = cells[phone_index].strip()
    try:
        phone = to_e164(raw_phone, region)
    except InvalidPhoneNumber as exc:
        report.add_error(number, str(exc), raw_phone)
        return None
    values = dict(zip(header, (cell.strip() for cell in cells)))
    timezone = values.get("timezone") or values.get("tz") or _zone_of(phone)
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        report.add_error(number, f"unknown time zone {timezone!r}", timezone)
        return None
    channels = [c.strip().lower() for c in values.get("channels", "").replace(",", ";").split(";") if c.strip()]
    if any(c not in CHANNELS for c in channels):
        report.add_error(number, f"channels must be among {sorted(CHANNELS)}", values.get("channels", ""))
        return None
    opt_out = values.get("opt_out", "").lower() in ("1", "true", "yes", "y")
    attributes = {key: value for key, value in values.items() if key not in SPECIAL and header.index(key) != phone_index and key}
    return {"phone": phone, "timezone": timezone, "language": values.get("language") or None,
            "channels": channels or sorted(CHANNELS), "attributes": attributes, "opt_out": opt_out}


def _zone_of(phone: str) -> str:
    zones = phonenumbers.timezone.time_zones_for_number(phonenumbers.parse(phone))
    return zones[0] if zones and zones[0] != "Etc/Unknown" else "UTC"


def _save(sessions: sessionmaker[Session], account_id: int, batch: dict[str, dict[str, Any]], report: ImportReport) -> None:
    """One upsert per batch: new numbers are inserted, known ones updated, in one statement that
    returns every id (no per-batch look-ups, which degrade as a table grows from empty)."""
    now = utcnow()
    with sessions.begin() as session:
        table = Contact.__table__
        upsert = _insert_for(session)(table)
        upsert = upsert.on_conflict_do_update(
            index_elements=[table.c.account_id, table.c.phone],
            set_={name: upsert.excluded[name] for name in ("timezone", "language", "channels", "attributes", "opted_out_at")},
        ).returning(table.c.id, table.c.created_at, sort_by_parameter_order=True)
        # executemany with RETURNING: SQLAlchemy batches it into few multi-row statements itself
        returned = session.connection().execute(upsert, [_columns(account_id, row, now) for row in batch.values()]).all()
        created = sum(1 for _id, created_at in returned if created_at == now)
        report.created += created
        report.updated += len(returned) - created
        if report.list_id is not None:
            session.execute(insert(ContactListMember), [{"list_id": report.list_id, "contact_id": i} for i, _ in returned])


def _insert_for(session: Session) -> Any:
    """The dialect's INSERT, which knows ON CONFLICT (PostgreSQL and SQLite >= 3.24)."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    return dialect_insert


def _columns(account_id: int, row: dict[str, Any], now: Any) -> dict[str, Any]:
    return {"account_id": account_id, "phone": row["phone"], "timezone": row["timezone"], "language": row["language"],
            "channels": row["channels"], "attributes": row["attributes"],
            "opted_out_at": now if row["opt_out"] else None, "created_at": now}
