"""Reading contact files a row at a time: CSV (voiceplatform.contacts.csv_rows) or Excel .xlsx
(voiceplatform.contacts.xlsx_rows), chosen by the file's name. Nothing is loaded whole.

The limits that bound the file as a whole are enforced here, for both kinds: at most
``max_import_rows`` rows after the header (blank rows count: they cost as much to read), and a
header of at most ``max_import_columns`` columns. Breaking either refuses the file
(ContactFileError, with the row); limits on single cells are row problems (the importer's).
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import IO, TYPE_CHECKING, Iterator

from voiceplatform.contacts.csv_rows import csv_rows
from voiceplatform.contacts.xlsx_rows import xlsx_rows
from voiceplatform.exceptions import ContactFileError
from voiceplatform.limits import ResourceLimits

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

__all__ = ["ContactFileError", "is_spreadsheet", "rows_of"]

SPREADSHEET_SUFFIXES = (".xlsx", ".xlsm")


def is_spreadsheet(name: str) -> bool:
    return Path(name).suffix.lower() in SPREADSHEET_SUFFIXES


class _Counted(io.RawIOBase):
    """Counts the bytes read, for progress bars."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.stream, self.read_bytes = stream, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        view = memoryview(buffer)
        chunk = self.stream.read(len(view))
        self.read_bytes += len(chunk)
        view[: len(chunk)] = chunk
        return len(chunk)


def rows_of(stream: IO[bytes], name: str, limits: ResourceLimits,
            counter: list[int] | None = None) -> Iterator[tuple[int, list[str]]]:
    """(row number, cells) for each record, the header first (row 1), as a spreadsheet counts.
    ``counter[0]`` follows the bytes read (CSV) for progress. ``stream`` must be seekable for a
    spreadsheet (voiceplatform.contacts.upload.measure makes it so)."""
    counted = _Counted(stream)
    source = xlsx_rows(stream, limits) if is_spreadsheet(name) else csv_rows(io.BufferedReader(counted, 65_536))
    for number, cells in source:
        if number == 1 and len(cells) > limits.max_import_columns:
            raise ContactFileError(f"the header has {len(cells):,} columns; at most {limits.max_import_columns:,} "
                                   f"are accepted", row=1, column=limits.max_import_columns + 1)
        if number > limits.max_import_rows + 1:
            raise ContactFileError(f"the file has more than {limits.max_import_rows:,} rows after its header",
                                   row=number)
        if counter is not None:
            counter[0] = counted.read_bytes
        yield number, cells
