"""Import contacts from a CSV or .xlsx, all or nothing, once, with every rejected row reported.

Columns (case-insensitive): the phone in ``phone`` / ``number`` / ``mobile`` / ``msisdn`` (or the
one named); optional ``timezone``, ``language``, ``channels`` (``voice;sms``), ``opt_out``; every
other column becomes an attribute, usable in flows as ``@column``. A contact already in the account
(same E.164 number) is updated, never duplicated; a number twice in the file is reported.

**All or nothing.** The file is measured first (more than ``max_upload_bytes`` is refused before
anything is written), then read and applied in *one* database transaction: the list, every
contact, every membership and the record of the import commit together or not at all. A file
refused late (a bad byte at row 90,000, too many rows, too many rejected rows), a crash or a
``kill -9`` leave nothing behind. One transaction was chosen over a staging table: the database's
own atomicity covers every way an import can stop, with nothing to clean up or resume, and
150,000 contacts stay inside the benchmark's 20 s (bench/campaign.py). Its cost: on SQLite the
import holds the database's write lock until it commits (other writers wait, up to the
30 s busy timeout); on PostgreSQL it locks only the contact rows it writes.

**Once.** An import is keyed, and the key is written in the same transaction: by the request's
``Idempotency-Key`` when there is one (the same table and rules as every other POST: the same key
with another request is refused), and always by its fingerprint, the SHA-256 of the file's
SHA-256 and the import's options (list name, append, phone column, region). The same import sent
again (a retry after a timeout, a kill, a double click) is answered with the first one's report,
marked ``replayed``, and applies nothing. Two at the same moment: the second waits for the first
to commit, then is answered the same way.

**Lists.** A list name is unique in its account (a unique index). Naming a list that exists
from other content is refused (ContactListExistsError, 409) unless ``append`` is asked: then the
file's contacts are added to that list.

**Rejected rows.** A row is rejected, never silently dropped: each rejected row is in the report
with its row number, its column when one cell is to blame, and the reason (a bad number, time zone
or channel, a NUL character, a cell over ``max_cell_chars``, a value under a column with no
header, a number already seen in the file, the wrong number of cells). More than
``max_import_rejected_rows`` of them refuse the file as a whole, so no report is ever cut short.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import IO, Any, Callable

import phonenumbers
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from voiceplatform import limits as resource_limits
from voiceplatform.contacts.header import Header, read_header
from voiceplatform.contacts.pause_point import maybe_pause
from voiceplatform.contacts.rows import is_spreadsheet, rows_of
from voiceplatform.contacts.upload import measure
from voiceplatform.exceptions import (ContactFileError, ContactListExistsError, ImportKeyReusedError,
                                      InputRejectedError, InvalidLanguageError, InvalidTimezoneError,
                                      TooManyRejectedRowsError)
from voiceplatform.limits import ResourceLimits
from voiceplatform.models import Contact, ContactImport, ContactList, ContactListMember, IdempotencyKey
from voiceplatform.models.base import utcnow
from voiceplatform.models.lengths import column_lengths
from voiceplatform.phone import InvalidPhoneNumber, parse_phone
from voiceplatform.safety.locale import iana_zone, language_tag

SPECIAL = {"timezone", "tz", "language", "channels", "opt_out"}
CHANNELS = {"voice", "sms", "whatsapp"}
BATCH = 2000
_LIST_NAME_CHARS = column_lengths(ContactList.__table__)["name"]  # type: ignore[arg-type]


@dataclass
class RowError:
    row: int
    message: str
    value: str = ""
    column: int | None = None  # 1-based, when one cell is to blame

    def to_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "message": self.message, "value": self.value}


@dataclass
class ImportReport:
    rows: int = 0
    created: int = 0
    updated: int = 0
    errors: list[RowError] = field(default_factory=list)
    error_count: int = 0
    list_id: int | None = None
    import_id: int | None = None
    replayed: bool = False  # True: this import was already applied; this is its report, nothing was done now

    def add_error(self, row: int, message: str, value: str = "", column: int | None = None) -> None:
        self.error_count += 1
        # quoted, not echoed whole; NUL shown as \x00 (PostgreSQL's JSONB, where reports are kept, refuses NUL)
        self.errors.append(RowError(row, message, value[:200].replace("\x00", "\\x00"), column))

    def to_dict(self) -> dict[str, Any]:
        return {"rows": self.rows, "created": self.created, "updated": self.updated,
                "error_count": self.error_count, "list_id": self.list_id, "import_id": self.import_id,
                "replayed": self.replayed, "errors": [error.to_dict() for error in self.errors],
                "errors_truncated": False}

    @classmethod
    def replay_of(cls, stored: dict[str, Any]) -> "ImportReport":
        return cls(rows=stored["rows"], created=stored["created"], updated=stored["updated"],
                   errors=[RowError(e["row"], e["message"], e.get("value", ""), e.get("column")) for e in stored["errors"]],
                   error_count=stored["error_count"], list_id=stored["list_id"], import_id=stored["import_id"],
                   replayed=True)


@dataclass(frozen=True, slots=True)
class ImportOptions:
    list_name: str | None = None
    append: bool = False
    phone_column: str | None = None
    default_region: str = "US"

    def fingerprint(self, file_sha256: str, spreadsheet: bool) -> str:
        """What makes two imports the same import: the same bytes, read the same way, into the
        same list."""
        parts = {"file": file_sha256, "spreadsheet": spreadsheet, "list": self.list_name, "append": self.append,
                 "phone_column": self.phone_column, "region": self.default_region}
        return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def import_contacts(
    sessions: sessionmaker[Session],
    account_id: int,
    stream: IO[bytes],
    name: str,
    *,
    list_name: str | None = None,
    append: bool = False,
    phone_column: str | None = None,
    default_region: str = "US",
    idempotency_key: str | None = None,
    progress: Callable[[int], None] | None = None,
    limits: ResourceLimits | None = None,
) -> ImportReport:
    """Import ``stream`` (a CSV or .xlsx named ``name``) in one transaction, or answer with the
    report of the same import done before. Raises a ContactImportError (nothing applied) when the
    file as a whole is refused; rejected rows are in the report."""
    limits = limits or resource_limits.current()
    options = _checked(ImportOptions(list_name or None, append, phone_column or None, (default_region or "US").upper()))
    upload = measure(stream, limits.max_upload_bytes)
    fingerprint = options.fingerprint(upload.sha256, is_spreadsheet(name))
    done = _replay(sessions, account_id, fingerprint, idempotency_key)
    if done is not None:
        return done
    try:
        return _apply(sessions, account_id, upload.file, upload.sha256, name, fingerprint, options, idempotency_key,
                      limits, progress)
    except IntegrityError as exc:  # the same import, or the same list name, committed meanwhile
        done = _replay(sessions, account_id, fingerprint, idempotency_key)
        if done is not None:
            return done
        if options.list_name is not None:
            raise ContactListExistsError(_list_exists_message(options.list_name)) from exc
        raise


def _checked(options: ImportOptions) -> ImportOptions:
    """The options are values from outside too: a list name is stored (no NUL, no control
    characters, at most its column's length), a region must be one phonenumbers knows."""
    name = options.list_name
    if name is not None:
        if any(ord(char) < 32 for char in name) or not name.strip():
            raise InputRejectedError("the list name must be text without control characters", "list")
        if len(name) > _LIST_NAME_CHARS:
            raise InputRejectedError(f"the list name must be at most {_LIST_NAME_CHARS} characters (got {len(name)})", "list")
    if options.default_region not in phonenumbers.SUPPORTED_REGIONS:
        raise InputRejectedError("region must be a two-letter country code such as US or GB", "region")
    if options.phone_column is not None and (len(options.phone_column) > 200 or "\x00" in options.phone_column):
        raise InputRejectedError("phone_column must be a column's name", "phone_column")
    return options


def _replay(sessions: sessionmaker[Session], account_id: int, fingerprint: str, key: str | None) -> ImportReport | None:
    with sessions() as session:
        if key:
            seen = session.scalars(select(IdempotencyKey).where(IdempotencyKey.account_id == account_id,
                                                                IdempotencyKey.key == key)).first()
            if seen is not None:
                if seen.request_hash != fingerprint:
                    raise ImportKeyReusedError(f"Idempotency-Key {key!r} was used for a different request")
                return ImportReport.replay_of(seen.response)
        stored = session.scalars(select(ContactImport).where(ContactImport.account_id == account_id,
                                                             ContactImport.fingerprint == fingerprint)).first()
        return None if stored is None else ImportReport.replay_of(stored.report)


def _apply(sessions: sessionmaker[Session], account_id: int, file: IO[bytes], file_sha256: str, name: str,
           fingerprint: str, options: ImportOptions, key: str | None, limits: ResourceLimits,
           progress: Callable[[int], None] | None) -> ImportReport:
    counter = [0]
    rows = rows_of(file, name, limits, counter)
    first = next(rows, None)
    if first is None:
        raise ContactFileError("the file is empty")
    header = read_header(first[1], options.phone_column, limits)
    now = utcnow()
    with sessions.begin() as session:
        # The record of the import is the transaction's first write: a concurrent copy of this
        # import waits on its unique key here, then finds it committed and is replayed.
        record = ContactImport(account_id=account_id, fingerprint=fingerprint, file_sha256=file_sha256, report={})
        session.add(record)
        key_row = None
        if key:
            key_row = IdempotencyKey(account_id=account_id, key=key, request_hash=fingerprint, status=201, response={})
            session.add(key_row)
        session.flush()
        report = ImportReport(list_id=_list_for(session, account_id, options), import_id=record.id)
        seen: set[str] = set()
        batch: list[dict[str, Any]] = []
        for number, cells in rows:
            if not any(cell.strip() for cell in cells):
                continue  # blank lines are not rows
            report.rows += 1
            parsed = _parse_row(number, cells, header, options.default_region, limits, report)
            if report.error_count > limits.max_import_rejected_rows:
                raise TooManyRejectedRowsError(
                    f"more than {limits.max_import_rejected_rows:,} rows were rejected (the first at row "
                    f"{report.errors[0].row}); nothing was imported", [e.to_dict() for e in report.errors[:1000]])
            if parsed is None:
                continue
            if parsed["phone"] in seen:
                report.add_error(number, "this number appears earlier in the file", parsed["phone"])
                continue
            seen.add(parsed["phone"])
            batch.append(_columns(account_id, parsed, now))
            if len(batch) >= BATCH:
                _save(session, batch, report, now)
                batch = []
                if progress is not None:
                    progress(counter[0])
                maybe_pause(report.created + report.updated)
        if batch:
            _save(session, batch, report, now)
        record.list_id = report.list_id
        record.report = report.to_dict()
        if key_row is not None:
            key_row.response = report.to_dict()
    if progress is not None:
        progress(counter[0])
    return report


def _list_for(session: Session, account_id: int, options: ImportOptions) -> int | None:
    if options.list_name is None:
        return None
    existing = session.scalars(select(ContactList).where(ContactList.account_id == account_id,
                                                         ContactList.name == options.list_name)).first()
    if existing is not None:
        if not options.append:
            raise ContactListExistsError(_list_exists_message(options.list_name, existing.id))
        return existing.id
    created = ContactList(account_id=account_id, name=options.list_name)
    session.add(created)
    session.flush()
    return created.id


def _list_exists_message(list_name: str, list_id: int | None = None) -> str:
    which = f" (list {list_id})" if list_id is not None else ""
    return (f"the account already has a contact list named {list_name!r}{which}, made from other content; "
            f"ask to append to it (append=true, or --append), or choose another name")


def _parse_row(number: int, cells: list[str], header: Header, region: str, limits: ResourceLimits,
               report: ImportReport) -> dict[str, Any] | None:
    names = header.names
    if len(cells) != len(names):
        report.add_error(number, f"has {len(cells)} cells; the header has {len(names)}")
        return None
    for column, (name, cell) in enumerate(zip(names, cells), start=1):
        problem = _cell_problem(name, cell, limits)
        if problem:
            report.add_error(number, f"column {column}: {problem}", cell, column)
            return None
    raw_phone = cells[header.phone_index].strip()
    try:
        parsed_phone = parse_phone(raw_phone, region)
    except InvalidPhoneNumber as exc:
        report.add_error(number, str(exc), raw_phone, header.phone_index + 1)
        return None
    phone = parsed_phone.e164
    values = dict(zip(names, (cell.strip() for cell in cells)))
    timezone = values.get("timezone") or values.get("tz") or parsed_phone.zone
    language = values.get("language") or None
    try:  # the same checks as the Contact model's validators (this bulk insert bypasses the ORM)
        iana_zone(timezone)
    except InvalidTimezoneError:
        report.add_error(number, f"unknown time zone {timezone[:80]!r}", timezone,
                         _column_of(names, "timezone", "tz"))
        return None
    try:
        if language is not None:
            language_tag(language)
    except InvalidLanguageError as exc:
        report.add_error(number, str(exc), language or "", _column_of(names, "language"))
        return None
    channels = [c.strip().lower() for c in values.get("channels", "").replace(",", ";").split(";") if c.strip()]
    if any(c not in CHANNELS for c in channels):
        report.add_error(number, f"channels must be among {sorted(CHANNELS)}", values.get("channels", ""),
                         _column_of(names, "channels"))
        return None
    opt_out = values.get("opt_out", "").lower() in ("1", "true", "yes", "y")
    phone_name = names[header.phone_index]
    attributes = {key: value for key, value in values.items() if key and key not in SPECIAL and key != phone_name}
    return {"phone": phone, "timezone": timezone, "language": language,
            "channels": channels or sorted(CHANNELS), "attributes": attributes, "opt_out": opt_out}


def _cell_problem(name: str, cell: str, limits: ResourceLimits) -> str | None:
    if "\x00" in cell:
        return "contains a NUL character"
    if len(cell) > limits.max_cell_chars:
        return f"the cell is {len(cell):,} characters long; at most {limits.max_cell_chars:,} are accepted"
    if not name and cell.strip():
        return "a value under a column with no header"
    return None


def _column_of(names: tuple[str, ...], *candidates: str) -> int | None:
    for candidate in candidates:
        if candidate in names:
            return names.index(candidate) + 1
    return None


def _save(session: Session, batch: list[dict[str, Any]], report: ImportReport, now: Any) -> None:
    """One upsert per batch, inside the import's transaction: new numbers are inserted, known ones
    updated, in one statement that returns every id (no per-batch look-ups, which degrade as a
    table grows from empty)."""
    table = Contact.__table__
    dialect_insert = _insert_for(session)
    upsert = dialect_insert(table)
    upsert = upsert.on_conflict_do_update(
        index_elements=[table.c.account_id, table.c.phone],
        set_={name: upsert.excluded[name] for name in ("timezone", "language", "channels", "attributes", "opted_out_at")},
    ).returning(table.c.id, table.c.created_at)  # any order: ids are counted and listed, not matched to rows
    # executemany with RETURNING: SQLAlchemy batches it into few multi-row statements itself, as long
    # as the rows need not come back in parameter order (that needs a sentinel column, which an
    # upsert on SQLite does not have: it falls back to one statement per row, ~3x the CPU)
    returned = session.connection().execute(upsert, batch).all()
    created = sum(1 for _id, created_at in returned if created_at == now)
    report.created += created
    report.updated += len(returned) - created
    if report.list_id is not None:
        members = dialect_insert(ContactListMember.__table__).on_conflict_do_nothing()
        session.connection().execute(members, [{"list_id": report.list_id, "contact_id": i} for i, _ in returned])


def _insert_for(session: Session) -> Any:
    """The dialect's INSERT, which knows ON CONFLICT (PostgreSQL and SQLite >= 3.24)."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as postgresql_insert

        return postgresql_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert


def _columns(account_id: int, row: dict[str, Any], now: Any) -> dict[str, Any]:
    return {"account_id": account_id, "phone": row["phone"], "timezone": row["timezone"], "language": row["language"],
            "channels": row["channels"], "attributes": row["attributes"],
            "opted_out_at": now if row["opt_out"] else None, "created_at": now}
