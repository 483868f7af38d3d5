"""Writes are grouped under load and never delayed alone: the first write, and one after a quiet
moment, go at once; one that follows another within ``busy_within`` waits ``pause`` first."""

from __future__ import annotations

from whatsapp_bridge.gathering import Gathering


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_lone_write_goes_at_once_and_one_under_load_waits_for_company() -> None:
    clock, slept = Clock(), []
    gathering = Gathering(pause=0.02, busy_within=0.05, clock=clock, sleep=slept.append)
    gathering.before_write()  # the first: nothing written before
    assert slept == []
    gathering.wrote()
    clock.now += 0.01
    gathering.before_write()  # 10 ms after the last write: under load
    assert slept == [0.02]
    gathering.wrote()
    clock.now += 0.2
    gathering.before_write()  # after a quiet 200 ms: at once
    assert slept == [0.02] and gathering.pauses == 1
