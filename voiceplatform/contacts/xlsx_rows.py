"""Reading the first sheet of an .xlsx a row at a time, after the archive has been measured.

An .xlsx is a zip: before openpyxl opens it, :func:`voiceplatform.safety.archives.check_zip`
inflates every member once through a counting stream and refuses the file past
``max_xlsx_inflated_bytes``, ``max_xlsx_compression_ratio`` or ``max_xlsx_members`` (a 607 KB zip bomb once took the
server to 1.8 GB). openpyxl then reads in read-only mode, one row at a time, at most
``max_import_columns + 1`` cells wide (a sheet declaring 16,384 columns costs no more than one
that declares 201), and without the sheet's declared dimensions (which may claim a million empty
rows). A spreadsheet has no row length: a row's trailing empty cells are dropped, and a row
shorter than the header is filled with empty cells.
"""

from __future__ import annotations

import zipfile
from typing import IO, Any, Iterator

from voiceplatform.exceptions import ContactFileError
from voiceplatform.limits import ResourceLimits
from voiceplatform.safety.archives import check_zip

#: What openpyxl raises on a file that is a zip but not a workbook it can read.
_UNREADABLE: tuple[type[BaseException], ...] = (KeyError, OSError, ValueError, TypeError, IndexError, SyntaxError,
                                                AttributeError, zipfile.BadZipFile)


def xlsx_rows(data: IO[bytes], limits: ResourceLimits) -> Iterator[tuple[int, list[str]]]:
    """(row number, cells) of the first sheet of ``data`` (seekable), the header first (row 1)."""
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        check_zip(data, limits.max_xlsx_inflated_bytes, limits.max_xlsx_compression_ratio, limits.max_xlsx_members)
    except zipfile.BadZipFile as exc:
        raise ContactFileError(f"the Excel file cannot be read: {exc}") from exc
    try:
        workbook = load_workbook(data, read_only=True, data_only=True)
    except (InvalidFileException,) + _UNREADABLE as exc:
        raise ContactFileError(f"the Excel file cannot be read: {exc}") from exc
    number, width = 0, 0
    try:
        if not workbook.worksheets:
            raise ContactFileError("the Excel file has no sheet")
        sheet: Any = workbook.worksheets[0]
        declared = sheet.max_column
        if declared is not None and declared > limits.max_import_columns:
            raise ContactFileError(f"the sheet is {declared:,} columns wide; at most {limits.max_import_columns:,} "
                                   f"are accepted", row=1)
        sheet.reset_dimensions()
        for number, values in enumerate(sheet.iter_rows(values_only=True, max_col=limits.max_import_columns + 1), start=1):
            cells = _cells(values)
            width = width or len(cells)  # the header's
            yield number, cells + [""] * (width - len(cells))
    except _UNREADABLE as exc:
        raise ContactFileError(f"row {number + 1}: the Excel file cannot be read: {exc}", row=number + 1) from exc
    finally:
        workbook.close()


def _cells(values: tuple[Any, ...]) -> list[str]:
    cells = ["" if value is None else str(value) for value in values]
    while cells and cells[-1] == "":
        cells.pop()
    return cells
