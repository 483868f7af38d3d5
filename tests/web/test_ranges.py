"""Byte ranges: the forms a player sends, and the ones answered 416."""

from __future__ import annotations

import pytest

from voiceplatform.web.ranges import ByteRange, NotSatisfiable, parse_range


@pytest.mark.parametrize("header, expected", [
    (None, None), ("", None),
    ("bytes=0-99", ByteRange(0, 99)),
    ("bytes=100-", ByteRange(100, 999)),  # open-ended: to the end
    ("bytes=-100", ByteRange(900, 999)),  # suffix: the last 100 bytes
    ("bytes=-5000", ByteRange(0, 999)),  # a suffix longer than the file is the whole file
    ("bytes=990-5000", ByteRange(990, 999)),  # an end past the file is cut to the file
    ("BYTES = 5 - 9", ByteRange(5, 9)),
    ("bytes=999-999", ByteRange(999, 999)),
])
def test_satisfiable_ranges(header: str | None, expected: ByteRange | None) -> None:
    assert parse_range(header, 1000) == expected


@pytest.mark.parametrize("header", [
    "bytes=1000-", "bytes=1000-1001", "bytes=5-4", "bytes=-0", "bytes=-", "bytes=abc", "bytes=0-1,5-6",
    "items=0-5", "0-5", "bytes=1.5-3",
])
def test_unsatisfiable_or_malformed_ranges(header: str) -> None:
    with pytest.raises(NotSatisfiable):
        parse_range(header, 1000)


def test_an_empty_file_has_no_range() -> None:
    with pytest.raises(NotSatisfiable):
        parse_range("bytes=0-", 0)
    assert parse_range(None, 0) is None


def test_content_range() -> None:
    assert ByteRange(900, 999).content_range(1000) == "bytes 900-999/1000"
    assert ByteRange(900, 999).length == 100
