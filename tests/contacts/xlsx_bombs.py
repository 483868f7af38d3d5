"""Real .xlsx zip bombs, built the way an attacker builds them: a valid workbook whose sheet XML
is replaced by a huge, highly compressible one, written to the zip a chunk at a time (the test
process never holds the inflated sheet)."""

from __future__ import annotations

import io
import os
import struct
import zipfile
from pathlib import Path

from openpyxl import Workbook

SHEET = "xl/worksheets/sheet1.xml"
HEAD = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
        b'<row r="1"><c r="A1" t="inlineStr"><is><t>phone</t></is></c><c r="B1" t="inlineStr"><is><t>note</t></is></c></row>'
        b'<row r="2"><c r="A2" t="inlineStr"><is><t>+12025550101</t></is></c><c r="B2" t="inlineStr"><is><t>')
TAIL = b"</t></is></c></row></sheetData></worksheet>"


def _members_of_a_small_workbook() -> dict[str, bytes]:
    book = Workbook()
    book.active.append(["phone", "note"])
    buffer = io.BytesIO()
    book.save(buffer)
    with zipfile.ZipFile(buffer) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def bomb(path: Path, cell_bytes: int = 314 * 1024 * 1024, padding_bytes: int = 300 * 1024) -> Path:
    """A workbook of one contact whose ``note`` cell is ``cell_bytes`` of "A" (the issue's 314 MB
    attribute), plus ``padding_bytes`` of incompressible media, as an attacker's file carries."""
    chunk = b"A" * 1_048_576
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name, data in _members_of_a_small_workbook().items():
            if name == SHEET:
                with archive.open(SHEET, "w", force_zip64=False) as sheet:
                    sheet.write(HEAD)
                    left = cell_bytes
                    while left > 0:
                        sheet.write(chunk[:left])
                        left -= len(chunk)
                    sheet.write(TAIL)
            else:
                archive.writestr(name, data)
        if padding_bytes:
            archive.writestr("xl/media/image1.png", os.urandom(padding_bytes), compress_type=zipfile.ZIP_STORED)
    return path


def lying(path: Path, cell_bytes: int = 64 * 1024 * 1024) -> Path:
    """A bomb whose zip headers claim the sheet inflates to 2,000 bytes (a ratio that passes)."""
    bomb(path, cell_bytes, padding_bytes=0)
    data = bytearray(path.read_bytes())
    name = SHEET.encode()
    for signature, size_at in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        name_at = 30 if signature == b"PK\x03\x04" else 46
        start = 0
        while (start := data.find(signature, start)) >= 0:
            if data[start + name_at:start + name_at + len(name)] == name:
                data[start + size_at:start + size_at + 4] = struct.pack("<I", 2_000)
            start += 4
    path.write_bytes(bytes(data))
    return path
