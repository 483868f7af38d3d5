"""The brief's personalised SMS (4.2.2, 4.7): a recipients file and a template, one message per
row, or that row's error; no row is ever dropped.

The file is a CSV (any common delimiter, UTF-8 with or without a BOM) or an .xlsx, read by the
contact importer's readers (voiceplatform.contacts.rows), with a header row. The recipient's
number is in the column ``phone_column`` names, else the first column named like a phone
(``phone``, ``number``, ``mobile``, ``msisdn``...), else the first column (the brief: "the
recipient number in the first column"). Column names are compared without case.

The template is the flow language's text template (voiceplatform.flow.templates): ``@column``
is the row's value of that column (``@@`` a literal ``@``; an ``@`` inside a word such as
``jo@example.com`` is left alone), ``{{ contact.column }}`` the same with filters. It may read
only the file's columns: a name the header lacks is refused for the whole request (422
``unknown_column``), before any row is read. A row is refused, with its row number (the header
is row 1), when it is blank, has a cell with a NUL or longer than ``max_cell_chars``, or lacks a
value for a column the template reads (``missing_value``); its number and text are then checked
like any message (voiceplatform.messages.submission).

At most ``max_personalised_recipients`` rows (3,000): a longer file is refused as a whole (413
``too_many_recipients``) as soon as its next row is read, and nothing is sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import IO

from voiceplatform import limits
from voiceplatform.contacts.header import PHONE_COLUMNS, read_header
from voiceplatform.contacts.rows import rows_of
from voiceplatform.exceptions import ContactFileError, MessageRefusedError
from voiceplatform.flow.templates import GLOBAL_NAMES, TemplateFailure, limit_error, references, render, syntax_error
from voiceplatform.messages.submission import Outgoing, Refused

MAX_TEMPLATE_CHARS = 4_096


@dataclass(frozen=True)
class PersonalisedRows:
    """The messages the rows make, and the rows refused (both carry their row numbers)."""

    messages: list[Outgoing]
    refused: list[Refused]
    columns: tuple[str, ...]  # the header, lower case
    phone_column: str


def read_template(template: object) -> list[str]:
    """The columns ``template`` reads (as it spells them); MessageRefusedError (422
    ``template_error``) for a template that is not one, or reads anything but columns."""
    if not isinstance(template, str) or not template.strip():
        raise _template_refused("'template' must be a non-empty string")
    if len(template) > MAX_TEMPLATE_CHARS:
        raise _template_refused(f"the template is {len(template):,} characters; at most {MAX_TEMPLATE_CHARS:,}")
    problem = syntax_error(template) or limit_error(template)
    if problem:
        raise _template_refused(f"the template cannot be rendered: {problem}")
    columns: list[str] = []
    others: list[str] = []
    for root, attribute in references(template):
        if root == "contact" and attribute:
            columns.append(attribute)
        elif root not in GLOBAL_NAMES:
            others.append(f"{root}.{attribute}" if attribute else root)
    if others:
        raise _template_refused(f"the template reads {sorted(set(others))}: it may read only the file's columns "
                                "(@column, or {{ contact.column }})")
    return columns


def read_rows(stream: IO[bytes], filename: str, template: str, phone_column: str | None = None) -> PersonalisedRows:
    """The file's rows as messages or refused rows (see the module's docstring). Raises
    MessageRefusedError for the request as a whole: an unreadable file or header (422
    ``unreadable_file``), a template column the file lacks (422 ``unknown_column``), no row
    (422 ``no_recipients``), too many rows (413 ``too_many_recipients``)."""
    current = limits.current()
    wanted = read_template(template)
    most = current.max_personalised_recipients
    messages: list[Outgoing] = []
    refused: list[Refused] = []
    header: tuple[str, ...] = ()
    phone_index = 0
    used: dict[str, int] = {}  # the template's spelling of a column -> its index
    try:
        for number, cells in rows_of(stream, filename, current):
            if number == 1:
                header, phone_index, used = _header(cells, phone_column, wanted)
                continue
            if number > most + 1:
                raise MessageRefusedError("too_many_recipients", f"the file has more than {most:,} recipients: at most "
                                          f"{most:,} are sent in one request (split it; nothing was sent)",
                                          field="file", status=413)
            _row(number, cells, phone_index, header, used, template, current.max_cell_chars, messages, refused)
    except ContactFileError as exc:
        raise MessageRefusedError("unreadable_file", str(exc), field="file") from exc
    if not header:
        raise MessageRefusedError("unreadable_file", "the file is empty: it needs a header row, then one row per "
                                  "recipient", field="file")
    if not messages and not refused:
        raise MessageRefusedError("no_recipients", "the file has a header and no recipient", field="file")
    return PersonalisedRows(messages, refused, header, header[phone_index])


def _header(cells: list[str], phone_column: str | None, wanted: list[str]) -> tuple[tuple[str, ...], int, dict[str, int]]:
    names = tuple(cell.strip().lower() for cell in cells)
    if phone_column is None:
        phone_column = next((name for name in PHONE_COLUMNS if name in names), names[0] if names else None)
    read = read_header(cells, phone_column, limits.current())
    used = {column: read.names.index(column.lower()) for column in wanted if column.lower() in read.names}
    missing = sorted({column for column in wanted if column not in used})
    if missing:
        raise MessageRefusedError("unknown_column", f"the template reads {missing}, which the file's header "
                                  f"{[name for name in read.names if name]} lacks", field="template")
    return read.names, read.phone_index, used


def _row(number: int, cells: list[str], phone_index: int, header: tuple[str, ...], used: dict[str, int],
         template: str, max_cell_chars: int, messages: list[Outgoing], refused: list[Refused]) -> None:
    to = cells[phone_index].strip() if phone_index < len(cells) else ""

    def refuse(code: str, message: str, field: str) -> None:
        refused.append(Refused(number, to[:64], MessageRefusedError(code, message, field=field)))

    if not any(cell.strip() for cell in cells):
        return refuse("blank_row", "the row is blank", "file")
    for column, cell in enumerate(cells, start=1):
        if "\x00" in cell:
            return refuse("bad_cell", f"column {column} contains a NUL character", "file")
        if len(cell) > max_cell_chars:
            return refuse("bad_cell", f"column {column} is {len(cell):,} characters long; at most {max_cell_chars:,}",
                          "file")
    values: dict[str, str] = {}
    for spelled, index in used.items():
        value = cells[index].strip() if index < len(cells) else ""
        if not value:
            return refuse("missing_value", f"the template reads @{spelled}, and its column {header[index]!r} has no "
                          "value in this row", "file")
        values[spelled] = value
    try:
        text, _ = render(template, {"contact": values})
    except TemplateFailure as exc:
        return refuse("template_error", str(exc)[:300], "template")
    messages.append(Outgoing(to, text, number))


def _template_refused(message: str) -> MessageRefusedError:
    return MessageRefusedError("template_error", message, field="template")
