"""Reading a CSV a record at a time, with every failure located.

Any common delimiter (sniffed), UTF-8 with or without a BOM, quoted fields across lines. The
bytes are decoded here, not by ``io.TextIOWrapper``: a wrapper decodes a chunk ahead of the
parser, so its error names an offset inside that chunk and no row. Here a bad byte is reported
with its offset in the file and the row (as a spreadsheet counts, the header is row 1) of the
record that holds it: the lines before it are handed to the parser first.
"""

from __future__ import annotations

import codecs
import csv
import io
from typing import IO, Iterator

from voiceplatform.exceptions import ContactFileError

CHUNK = 65_536
SAMPLE = 65_536
DELIMITERS = ",;\t|"


class _BadByte(Exception):
    """Internal: the decoder met a byte that is not UTF-8 (absolute ``offset`` in the file)."""

    def __init__(self, offset: int, reason: str) -> None:
        super().__init__(reason)
        self.offset, self.reason = offset, reason


def csv_rows(raw: IO[bytes]) -> Iterator[tuple[int, list[str]]]:
    """(row number, cells) for each record of ``raw``, the header first (row 1)."""
    head = raw.read(SAMPLE)
    bom = len(codecs.BOM_UTF8) if head.startswith(codecs.BOM_UTF8) else 0
    dialect = _dialect(head[bom:].decode("utf-8", errors="ignore"))
    number = 0
    try:
        for number, cells in enumerate(csv.reader(_lines(raw, head, bom), dialect), start=1):
            yield number, cells
    except _BadByte as exc:
        raise ContactFileError(f"row {number + 1}: the file is not UTF-8 text: {exc.reason} at byte {exc.offset:,}",
                               row=number + 1, byte_offset=exc.offset) from exc
    except csv.Error as exc:
        raise ContactFileError(f"row {number + 1}: the CSV cannot be read: {exc}", row=number + 1) from exc


def _dialect(sample: str) -> type[csv.Dialect] | csv.Dialect:
    try:
        return csv.Sniffer().sniff(sample, delimiters=DELIMITERS)
    except csv.Error:
        return csv.excel


def _lines(raw: IO[bytes], head: bytes, bom: int) -> Iterator[str]:
    """Decoded lines, each with its line ending (``\\n``, ``\\r\\n`` or ``\\r``, as
    ``newline=""`` gives them to the csv module). Raises _BadByte after yielding every complete
    line before the bad byte."""
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    fed = bom  # file offset of the first byte of the next chunk
    chunk, carry = head[bom:], ""
    while True:
        final = not chunk
        pending = len(decoder.getstate()[0])  # bytes of an unfinished character kept from the last chunk
        try:
            text = decoder.decode(chunk, final)
        except UnicodeDecodeError as exc:
            before = io.StringIO(carry + exc.object[: exc.start].decode("utf-8"), newline="").readlines()
            yield from (line for line in before if line.endswith(("\n", "\r")))  # not the bad byte's own line
            raise _BadByte(fed - pending + exc.start, exc.reason) from exc
        fed += len(chunk)
        lines, carry = _split(carry + text, final)
        yield from lines
        if final:
            return
        chunk = raw.read(CHUNK)


def _split(text: str, final: bool) -> tuple[list[str], str]:
    """Complete lines of ``text``, and what is left for the next chunk: an unfinished line, or a
    line ending in ``\\r`` whose ``\\n`` may be the next chunk's first character."""
    lines = io.StringIO(text, newline="").readlines()
    if final or not lines or lines[-1].endswith("\n"):
        return lines, ""
    return lines[:-1], lines[-1]
