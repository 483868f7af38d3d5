"""A contact file's header row, checked before any row is read.

Names are compared case-insensitively, trimmed. A name given twice is refused (which of the two
columns is meant cannot be guessed, and one would silently overwrite the other); so is a header
cell with a NUL character or longer than ``max_cell_chars``. An empty name is allowed (trailing
empty columns are common in exported files), but a value under it is a row problem, reported by
the importer with its row and column, never dropped.
"""

from __future__ import annotations

from dataclasses import dataclass

from voiceplatform.exceptions import ContactFileError
from voiceplatform.limits import ResourceLimits

PHONE_COLUMNS = ("phone", "number", "mobile", "msisdn", "phone_number", "telephone")


@dataclass(frozen=True, slots=True)
class Header:
    names: tuple[str, ...]  # lower-case, trimmed; "" for a column with no name
    phone_index: int  # 0-based


def read_header(cells: list[str], phone_column: str | None, limits: ResourceLimits) -> Header:
    names = tuple(cell.strip().lower() for cell in cells)
    first: dict[str, int] = {}
    repeats: list[str] = []
    for column, name in enumerate(names, start=1):
        if "\x00" in name:
            raise ContactFileError(f"row 1, column {column}: the header contains a NUL character", row=1, column=column)
        if len(name) > limits.max_cell_chars:
            raise ContactFileError(f"row 1, column {column}: the header is {len(name):,} characters long; at most "
                                   f"{limits.max_cell_chars:,} are accepted", row=1, column=column)
        if name and name in first:
            repeats.append(f"column {column} ({cells[column - 1].strip()!r}) repeats column {first[name]}")
        first.setdefault(name, column)
    if repeats:
        column = int(repeats[0].split()[1])
        raise ContactFileError(f"row 1: the header names a column twice: {'; '.join(repeats)}", row=1, column=column)
    wanted = (phone_column.strip().lower(),) if phone_column else PHONE_COLUMNS
    for candidate in wanted:
        if candidate in first:
            return Header(names, first[candidate] - 1)
    raise ContactFileError(f"row 1: no phone column: expected one of {', '.join(wanted)} in the header {list(names)}", row=1)
