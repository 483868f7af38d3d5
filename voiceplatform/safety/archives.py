"""Zip archives (an .xlsx is one) checked before any library inflates them.

A zip bomb is a small archive whose members inflate to gigabytes: a 607 KB .xlsx once took the
server to 1.8 GB. :func:`check_zip` refuses an archive when

- its end record announces more than ``max_members`` members, or a directory larger than 256
  bytes a member (read before the directory is parsed: a directory of a million empty members
  costs the parser hundreds of megabytes);
- the members' declared uncompressed sizes add up to more than ``max_inflated_bytes``, or one
  member declares more than ``max_ratio`` inflated bytes per compressed byte; then, because a
  header may lie,
- inflating every member for real, through a counting stream that stops as soon as either limit
  is passed, would go past them.

Only then may a parser (openpyxl) open the archive: every byte it will inflate has been counted,
and no more than the limits were ever held in memory (members are read in 64 KiB chunks and
thrown away).
"""

from __future__ import annotations

import struct
import zipfile
from dataclasses import dataclass
from typing import IO

from voiceplatform.exceptions import ArchiveTooLargeError

CHUNK = 65_536
END_RECORD = b"PK\x05\x06"  # the zip's end of central directory record
END_RECORD_SIZE = 22
MAX_COMMENT = 65_535
DIRECTORY_BYTES_PER_MEMBER = 256


@dataclass(frozen=True, slots=True)
class ArchiveSize:
    """What an archive inflates to, as measured by :func:`check_zip`."""

    members: int
    compressed_bytes: int
    inflated_bytes: int


def check_zip(stream: IO[bytes], max_inflated_bytes: int, max_ratio: int, max_members: int) -> ArchiveSize:
    """Measure ``stream`` (a seekable zip; left at offset 0) or raise ArchiveTooLargeError.
    A file that is not a zip raises zipfile.BadZipFile, for the caller to translate."""
    try:
        _check_directory(stream, max_members)
        stream.seek(0)
        with zipfile.ZipFile(stream) as archive:
            members = archive.infolist()
            if len(members) > max_members:
                raise ArchiveTooLargeError(f"the archive has {len(members):,} members; at most {max_members:,} are accepted")
            declared = sum(member.file_size for member in members)
            if declared > max_inflated_bytes:
                raise ArchiveTooLargeError(f"the archive inflates to {declared:,} bytes; at most {max_inflated_bytes:,} are accepted")
            for member in members:
                _check_ratio(member, member.file_size, max_ratio)
            inflated = 0
            for member in members:
                inflated = _inflate_counted(archive, member, inflated, max_inflated_bytes, max_ratio)
    finally:
        stream.seek(0)
    return ArchiveSize(len(members), sum(m.compress_size for m in members), inflated)


def _check_directory(stream: IO[bytes], max_members: int) -> None:
    """Read the end record (the last 22 bytes, or further back past a comment) for the member
    count and the directory's size, before zipfile parses the directory. No end record: left
    to zipfile, which refuses the file."""
    size = stream.seek(0, 2)
    tail_size = min(size, END_RECORD_SIZE + MAX_COMMENT)
    stream.seek(size - tail_size)
    tail = stream.read(tail_size)
    at = tail.rfind(END_RECORD)
    if at < 0 or len(tail) - at < END_RECORD_SIZE:
        return
    members, directory_bytes = struct.unpack("<HI", tail[at + 10:at + 16])
    if members > max_members or directory_bytes > max_members * DIRECTORY_BYTES_PER_MEMBER:
        raise ArchiveTooLargeError(f"the archive announces {members:,} members in a directory of {directory_bytes:,} bytes; "
                                   f"at most {max_members:,} members are accepted")


def _check_ratio(member: zipfile.ZipInfo, inflated: int, max_ratio: int) -> None:
    if inflated > max_ratio * max(member.compress_size, 1):
        raise ArchiveTooLargeError(
            f"the archive member {member.filename!r} inflates {inflated / max(member.compress_size, 1):,.0f} times "
            f"({member.compress_size:,} bytes to {inflated:,}); at most {max_ratio:,} times is accepted")


def _inflate_counted(archive: zipfile.ZipFile, member: zipfile.ZipInfo, total: int, max_inflated_bytes: int,
                     max_ratio: int) -> int:
    """Inflate one member for real, adding to ``total``; stop at the first chunk past either limit."""
    count = 0
    with archive.open(member) as inflating:
        while True:
            chunk = inflating.read(CHUNK)
            if not chunk:
                return total
            count += len(chunk)
            total += len(chunk)
            if total > max_inflated_bytes:
                raise ArchiveTooLargeError(f"the archive inflates to more than {max_inflated_bytes:,} bytes "
                                           f"(reading member {member.filename!r}), the most accepted")
            _check_ratio(member, count, max_ratio)
