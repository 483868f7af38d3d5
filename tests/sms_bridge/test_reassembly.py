"""Long messages from handsets put back together: keyed on (sender, our address, reference,
total), complete when every part is in, given up as incomplete after the timeout."""

from __future__ import annotations

import pytest

from sms_bridge.mo_messages import MoPart
from sms_bridge.reassembly import Reassembler
from sms_bridge.udh import Concatenation


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def part(text: str, number: int, total: int = 3, reference: int = 9, sender: str = "+966500000001",
         ours: str = "4321") -> MoPart:
    return MoPart(sender, ours, 8, text.encode("utf-16-be"), Concatenation(reference, total, number))


@pytest.fixture
def clock() -> Clock:
    return Clock()


def test_a_three_part_arabic_reply_in_any_order(clock: Clock) -> None:
    reassembler = Reassembler(timeout=60, clock=clock)
    assert reassembler.add(part("الجزء الثالث", 3)) is None
    assert reassembler.add(part("الجزء الأول، ", 1)) is None
    message = reassembler.add(part("الجزء الثاني، ", 2))
    assert message is not None and message.complete and message.total == 3
    assert message.text == "الجزء الأول، الجزء الثاني، الجزء الثالث"
    assert (message.sender, message.our_address) == ("+966500000001", "4321")
    assert reassembler.pending == 0 and reassembler.expire() == []


def test_a_single_message_passes_straight_through(clock: Clock) -> None:
    reassembler = Reassembler(timeout=60, clock=clock)
    message = reassembler.add(MoPart("+1", "4321", 0, b"STOP"))
    assert message is not None and message.text == "STOP" and message.complete
    one_of_one = reassembler.add(part("1", 1, total=1))
    assert one_of_one is not None and one_of_one.text == "1"


def test_groups_are_apart_by_sender_our_address_reference_and_total(clock: Clock) -> None:
    reassembler = Reassembler(timeout=60, clock=clock)
    for other in (part("x", 1, sender="+2"), part("x", 1, ours="9999"), part("x", 1, reference=10),
                  part("x", 1, total=2)):
        assert reassembler.add(other) is None
    assert reassembler.add(part("a", 1)) is None and reassembler.add(part("b", 2)) is None
    assert reassembler.pending == 5
    done = reassembler.add(part("c", 3))
    assert done is not None and done.text == "abc" and reassembler.pending == 4


def test_a_surrogate_pair_cut_across_parts_by_the_sender_comes_out_whole(clock: Clock) -> None:
    emoji = "😀".encode("utf-16-be")            # some handsets and libraries cut it in two
    reassembler = Reassembler(timeout=60, clock=clock)
    assert reassembler.add(MoPart("+1", "4321", 8, "hi ".encode("utf-16-be") + emoji[:2], Concatenation(1, 2, 1))) is None
    done = reassembler.add(MoPart("+1", "4321", 8, emoji[2:] + "!".encode("utf-16-be"), Concatenation(1, 2, 2)))
    assert done is not None and done.text == "hi 😀!"


def test_missing_parts_are_reported_after_the_timeout(clock: Clock) -> None:
    reassembler = Reassembler(timeout=60, clock=clock)
    reassembler.add(part("one ", 1, total=4))
    reassembler.add(part("three", 3, total=4))
    clock.now += 59
    assert reassembler.expire() == []
    clock.now += 1
    (incomplete,) = reassembler.expire()
    assert not incomplete.complete and incomplete.missing == (2, 4) and incomplete.total == 4
    assert incomplete.text == "one three"
    assert reassembler.pending == 0 and reassembler.expire() == []
    # a straggler after the timeout starts a new group rather than completing the old one
    assert reassembler.add(part("two ", 2, total=4)) is None and reassembler.pending == 1


def test_a_repeated_part_counts_once_and_a_late_copy_is_dropped(clock: Clock) -> None:
    reassembler = Reassembler(timeout=60, clock=clock)
    assert reassembler.add(part("a", 1, total=2)) is None
    assert reassembler.add(part("A", 1, total=2)) is None       # a resent deliver_sm: first copy counts
    done = reassembler.add(part("b", 2, total=2))
    assert done is not None and done.text == "ab"
    assert reassembler.add(part("b", 2, total=2)) is None       # resent after completion: dropped
    assert reassembler.pending == 0
    clock.now += 60                                             # after the window the key is free again
    assert reassembler.add(part("c", 1, total=2)) is None and reassembler.pending == 1


def test_open_groups_are_bounded(clock: Clock) -> None:
    reassembler = Reassembler(timeout=60, clock=clock, max_pending=2)
    for reference in (1, 2, 3):
        assert reassembler.add(part(f"r{reference}", 1, reference=reference)) is None
        clock.now += 1
    assert reassembler.pending == 2
    (pushed_out,) = reassembler.expire()
    assert pushed_out.text == "r1" and pushed_out.missing == (2, 3)


@pytest.mark.parametrize("timeout, max_pending", [(0, 10), (-1, 10), (60, 0)])
def test_settings_are_checked(timeout: float, max_pending: int, clock: Clock) -> None:
    with pytest.raises(ValueError):
        Reassembler(timeout=timeout, clock=clock, max_pending=max_pending)
