"""Type-ahead on Asterisk: a key pressed while nothing reads keys still reaches the next gather."""

from __future__ import annotations

from typing import Any

from voiceplatform.switches.asterisk.agi_control import AgiCallControl


class _Bridge:
    def call(self, value: Any, timeout: float) -> Any:
        return value


class _Request:
    """Answers AGI commands from a script of results; records what was sent."""

    def __init__(self, results: list[str]) -> None:
        self.results = list(results)
        self.sent: list[str] = []

    def send_command(self, line: str) -> dict[str, Any]:
        self.sent.append(line)
        return {"result": (self.results.pop(0) if self.results else "0", "")}


def _control(results: list[str]) -> tuple[AgiCallControl, _Request]:
    request = _Request(results)
    return AgiCallControl(_Bridge(), request, "c1", "Local/{number}@x"), request  # type: ignore[arg-type]


def test_a_key_pressed_during_a_prompt_without_barge_in_goes_to_the_next_gather(tmp_path: Any) -> None:
    control, request = _control(["0"])
    control.play(str(tmp_path / "greeting.wav"))  # no escape digits: Asterisk drops the key
    control.heard.append("1")  # ... but AMI's DTMFEnd reported it
    assert control.play(str(tmp_path / "menu.wav"), "0123456789*#") == "1"
    assert len(request.sent) == 1  # the menu prompt was not played: the key was already there
    assert control.pending_digits() == []


def test_a_key_returned_by_agi_is_not_delivered_twice(tmp_path: Any) -> None:
    control, request = _control([str(ord("1")), "0"])
    assert control.play(str(tmp_path / "menu.wav"), "0123456789*#") == "1"
    control.heard.append("1")  # its DTMFEnd arrives after the AGI result
    assert control.collect_digits(1, 1.0, None) == ""  # WAIT FOR DIGIT timed out; nothing owed
    assert request.sent[-1].startswith("WAIT FOR DIGIT")


def test_collect_takes_typed_ahead_keys_first(tmp_path: Any) -> None:
    control, request = _control([str(ord("3"))])
    control.heard.extend(["1", "2"])
    assert control.collect_digits(3, 1.0, None) == "123"
    assert [line.split()[0] for line in request.sent] == ["WAIT"]
