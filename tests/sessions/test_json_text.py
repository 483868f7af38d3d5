"""voiceplatform.sessions.json_text: orjson's text where it decodes to what the standard library's
would, the standard library elsewhere (numbers beyond 64 bits, non-string keys, NaN on reading),
and the same refusals."""

from __future__ import annotations

import json
import math
from datetime import datetime, timezone
from enum import Enum
from typing import Any

import pytest

from voiceplatform.sessions import json_text


class Colour(str, Enum):
    RED = "red"


VALUES: list[Any] = [
    {"v": 1, "session": "0193a1b2c3d4e5f60718293a4b5c6d7e", "wait": {"kind": "gather", "timeout": 3600.0},
     "results": {}, "stack": [], "live": True, "end_reason": None},
    {"text": "مرحبا، هل تريد المتابعة؟", "emoji": "\U0001f44d", "escapes": "a\"b\\c\n\t\u0000"},
    {"big": 2**70, "negative": -(2**64) - 1, "edge": 2**64 - 1, "i64": -(2**63)},
    {1: "int key", 2.5: "float key", None: "null key", True: "bool key"},
    {"floats": [0.1, 1e300, -0.0, 5e-324, 1.7976931348623157e308, 123456789.123456789]},
    {"enum": Colour.RED, Colour.RED: "enum key", "tuple": (1, "two", (3,))},
    [],
    "",
    None,
]


@pytest.mark.parametrize("value", VALUES)
def test_dumps_decodes_to_what_the_standard_library_writes(value: Any) -> None:
    assert json.loads(json_text.dumps(value)) == json.loads(json.dumps(value))


@pytest.mark.parametrize("value", VALUES)
def test_loads_reads_the_standard_librarys_text_and_its_own_alike(value: Any) -> None:
    expected = json.loads(json.dumps(value))
    assert json_text.loads(json.dumps(value)) == expected
    assert json_text.loads(json_text.dumps(value)) == expected
    assert json_text.loads(json.dumps(value).encode()) == expected


def test_a_long_number_keeps_its_type_and_every_digit() -> None:
    text = '{"a": 123456789012345678901234567890, "b": [18446744073709551616], "c": 1e400, "d": 12345678901234567890}'
    loaded = json_text.loads(text)
    assert loaded == json.loads(text)
    assert isinstance(loaded["a"], int) and isinstance(loaded["b"][0], int) and loaded["c"] == math.inf


def test_what_orjson_refuses_to_read_is_read_as_before() -> None:
    assert math.isnan(json_text.loads("[NaN]")[0])
    assert json_text.loads('"\\ud800"') == "\ud800"
    with pytest.raises(ValueError):
        json_text.loads("{not json")


def test_what_the_standard_library_refuses_to_write_is_still_refused() -> None:
    for value in ({"at": datetime.now(timezone.utc)}, {"x": object()}, {"s": {1, 2}}):
        with pytest.raises(TypeError):
            json_text.dumps(value)


def test_nan_and_the_infinities_are_written_as_null() -> None:
    assert json.loads(json_text.dumps({"x": math.nan, "y": [math.inf, -math.inf]})) == {"x": None, "y": [None, None]}
