"""The suite's shards (tests/shards.py): components' tests together, modules whole, every test in
exactly one shard, the same answer in every process."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, cast

import pytest

from tests import shards


@dataclass
class FakeItem:
    nodeid: str
    fixturenames: list[str] = field(default_factory=list)


def items() -> list[Any]:
    made: list[Any] = [FakeItem(f"tests/flow/test_a{n}.py::test_{k}") for n in range(9) for k in range(4)]
    made += [FakeItem("tests/dialer/test_cap.py::test_x", ["engine", "asterisk_lab"]),
             FakeItem("tests/lab/test_lab.py::test_up"),
             FakeItem("tests/sms_bridge/test_bridge.py::test_y", ["smsc"]),
             FakeItem("tests/sms_bridge/faults/test_j.py::test_w", ["healthy_gateway"]),
             FakeItem("tests/sms_bridge/faults/test_k.py::test_z"),
             FakeItem("tests/api/test_b.py::test_p[postgresql]"), FakeItem("tests/api/test_b.py::test_p[sqlite]")]
    return made


def test_components_stay_together_and_modules_whole() -> None:
    given = items()
    shard_of = shards.assign(cast(list[pytest.Item], given), 3)
    assert set(shard_of) == {item.nodeid for item in given}
    # the lab and the shared gateway together; gateways of their own in another shard
    assert {shard_of[n] for n in ("tests/dialer/test_cap.py::test_x", "tests/lab/test_lab.py::test_up",
                                  "tests/sms_bridge/test_bridge.py::test_y")} == {0}
    assert {shard_of[n] for n in ("tests/sms_bridge/faults/test_j.py::test_w",
                                  "tests/sms_bridge/faults/test_k.py::test_z")} == {1}
    for module in {item.nodeid.split("::")[0] for item in given}:
        assert len({shard_of[item.nodeid] for item in given if item.nodeid.startswith(module)}) == 1, module
    rest = {shard_of[item.nodeid] for item in given if item.nodeid.startswith(("tests/flow/", "tests/api/"))}
    assert rest and 0 not in rest  # the rest on the other shards, never the lab's
    two = shards.assign(cast(list[pytest.Item], given), 2)
    assert {two[item.nodeid] for item in given if item.nodeid.startswith(("tests/flow/", "tests/api/"))} == {1}
    assert shards.assign(cast(list[pytest.Item], items()), 3) == shard_of


def test_one_shard_takes_everything_and_bad_options_are_usage_errors() -> None:
    assert set(shards.assign(cast(list[pytest.Item], items()), 1).values()) == {0}
    assert shards.Shard.parse("2/3") == shards.Shard(2, 3)
    for text in ("3/3", "-1/2", "a/b", "1"):
        with pytest.raises(pytest.UsageError):
            shards.Shard.parse(text)


def test_the_emulated_switch_and_the_labs_pure_parts_leave_the_labs_shard() -> None:
    given = [FakeItem("tests/switches/test_calls.py::test_press_1_pays[asterisk]"),
             FakeItem("tests/switches/test_freeswitch_frames.py::test_a_frame"),
             FakeItem("tests/lab/test_lab_units.py::test_config"),
             FakeItem("tests/lab/test_lab.py::test_up")]
    shard_of = shards.assign(cast(list[pytest.Item], given), 3)
    assert shard_of["tests/switches/test_calls.py::test_press_1_pays[asterisk]"] == 0
    assert shard_of["tests/lab/test_lab.py::test_up"] == 0
    assert shard_of["tests/switches/test_freeswitch_frames.py::test_a_frame"] != 0
    assert shard_of["tests/lab/test_lab_units.py::test_config"] != 0
