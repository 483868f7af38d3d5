"""Reading contact files a row at a time: CSV (any common delimiter, UTF-8 with or without BOM)
and Excel (.xlsx, read-only streaming). Nothing is loaded whole."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import BinaryIO, Iterator

from voiceplatform.exceptions import VoicePlatformError

MAX_BYTES = 17 * 1024 * 1024  # the brief: files up to 17 MB
MAX_ROWS = 1_000_000  # the brief: up to 1 million rows


class ContactFileError(VoicePlatformError):
    """The file as a whole cannot be read (not a row problem: those go in the report)."""


class _Counted(io.RawIOBase):
    """Counts bytes read (for progress) and refuses files over the size limit."""

    def __init__(self, stream: BinaryIO, limit: int) -> None:
        self.stream, self.limit, self.read_bytes = stream, limit, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray) -> int:  # type: ignore[override]
        chunk = self.stream.read(len(buffer))
        self.read_bytes += len(chunk)
        if self.read_bytes > self.limit:
            raise ContactFileError(f"the file is larger than {self.limit // (1024 * 1024)} MB")
        buffer[: len(chunk)] = chunk
        return len(chunk)


def rows_of(stream: BinaryIO, name: str, counter: list[int] | None = None) -> Iterator[tuple[int, list[str]]]:
    """(row number, cells) for each record, the header first (row 1), as a spreadsheet counts."""
    counted = _Counted(stream, MAX_BYTES)
    if Path(name).suffix.lower() in (".xlsx", ".xlsm"):
        yield from _excel_rows(counted, counter)
        return
    buffered = io.BufferedReader(counted, 65536)
    sample = buffered.peek(65536)[:65536].decode("utf-8-sig", errors="ignore")
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    text = io.TextIOWrapper(buffered, encoding="utf-8-sig", errors="strict", newline="")
    try:
        for number, cells in enumerate(csv.reader(text, dialect), start=1):
            if counter is not None:
                counter[0] = counted.read_bytes
            if number > MAX_ROWS + 1:
                raise ContactFileError(f"the file has more than {MAX_ROWS:,} rows")
            yield number, cells
    except UnicodeDecodeError as exc:
        raise ContactFileError(f"the file is not UTF-8 text: {exc.reason} at byte {exc.start}") from exc
    except csv.Error as exc:
        raise ContactFileError(f"the CSV cannot be read: {exc}") from exc


def _excel_rows(stream: io.RawIOBase, counter: list[int] | None) -> Iterator[tuple[int, list[str]]]:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    data = io.BytesIO(stream.read())  # bounded by MAX_BYTES; openpyxl needs a seekable file
    try:
        workbook = load_workbook(data, read_only=True, data_only=True)
    except (InvalidFileException, KeyError, OSError, ValueError) as exc:
        raise ContactFileError(f"the Excel file cannot be read: {exc}") from exc
    sheet = workbook.worksheets[0]
    for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
        if number > MAX_ROWS + 1:
            raise ContactFileError(f"the file has more than {MAX_ROWS:,} rows")
        if counter is not None:
            counter[0] = len(data.getvalue()) * number // max(sheet.max_row or number, 1)
        yield number, ["" if value is None else str(value) for value in values]
    workbook.close()

