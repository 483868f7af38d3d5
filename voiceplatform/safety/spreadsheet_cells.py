"""CSV that a spreadsheet opens safely: exports are written a line at a time, and a cell a
spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@``, a tab or a carriage return first:
"CSV injection") is prefixed with a quote, unless it is a plain number (``-3``, ``+966 50``).

``UTF8_BOM`` starts an export that may hold Arabic (or any non-Latin) text: Excel reads a CSV
without it in the machine's legacy code page. This module is pure (standard library only)."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from typing import Any

UTF8_BOM = "\ufeff"
_NUMBER = re.compile(r"^[+-]?[0-9][0-9. ]*$")


def safe_cell(value: Any) -> str:
    text = "" if value is None else str(value)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r") and not _NUMBER.match(text):
        return "'" + text
    return text


class CsvLines:
    """``line(cells)`` is one CSV line (with its line ending), every cell made safe."""

    def __init__(self) -> None:
        self._buffer = io.StringIO()
        self._writer = csv.writer(self._buffer)

    def line(self, cells: Iterable[Any]) -> str:
        self._buffer.seek(0)
        self._buffer.truncate()
        self._writer.writerow([safe_cell(cell) for cell in cells])
        return self._buffer.getvalue()
