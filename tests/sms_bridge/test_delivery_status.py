"""Statuses only move forward (accepted, enroute, then a final one), and a long message's parts
roll up into one status."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sms_bridge.delivery_status import DeliveryStatus, advance, roll_up

S = DeliveryStatus
ACCEPTED, ENROUTE, DELIVERED, UNDELIVERED, EXPIRED, REJECTED, UNKNOWN = (
    S.ACCEPTED, S.ENROUTE, S.DELIVERED, S.UNDELIVERED, S.EXPIRED, S.REJECTED, S.UNKNOWN)
DEFINITE = [DELIVERED, UNDELIVERED, EXPIRED, REJECTED]


@pytest.mark.parametrize("current, incoming, new", [
    (None, DELIVERED, DELIVERED),           # a receipt before anything was stored
    (None, ACCEPTED, ACCEPTED),
    (ACCEPTED, ENROUTE, ENROUTE),
    (ENROUTE, ACCEPTED, ENROUTE),           # never back
    (ACCEPTED, DELIVERED, DELIVERED),       # intermediate steps may be skipped
    (DELIVERED, ENROUTE, DELIVERED),        # a late intermediate receipt changes nothing
    (DELIVERED, UNDELIVERED, DELIVERED),    # the first definite final status stays
    (EXPIRED, DELIVERED, EXPIRED),
    (UNKNOWN, DELIVERED, DELIVERED),        # unknown may still learn
    (UNKNOWN, REJECTED, REJECTED),
    (DELIVERED, UNKNOWN, DELIVERED),
    (UNKNOWN, ENROUTE, UNKNOWN),
    (DELIVERED, DELIVERED, DELIVERED),      # a duplicate receipt
])
def test_advance(current: DeliveryStatus | None, incoming: DeliveryStatus, new: DeliveryStatus) -> None:
    assert advance(current, incoming) is new


def test_finality() -> None:
    assert [s for s in S if not s.final] == [ACCEPTED, ENROUTE]


@given(st.lists(st.sampled_from(list(S)), max_size=12))
def test_any_sequence_of_receipts_only_moves_forward(receipts: list[DeliveryStatus]) -> None:
    rank = {ACCEPTED: 0, ENROUTE: 1, UNKNOWN: 2, DELIVERED: 3, UNDELIVERED: 3, EXPIRED: 3, REJECTED: 3}
    status: DeliveryStatus | None = None
    for receipt in receipts:
        new = advance(status, receipt)
        assert status is None or rank[new] >= rank[status]
        if status in DEFINITE:
            assert new is status                # a definite final status never changes
        status = new
    definite = [r for r in receipts if r in DEFINITE]
    if definite:
        assert status is definite[0]            # the first definite final receipt wins


@pytest.mark.parametrize("parts, status", [
    ([DELIVERED, DELIVERED, DELIVERED], DELIVERED),
    ([DELIVERED], DELIVERED),
    ([DELIVERED, EXPIRED, DELIVERED], EXPIRED),
    ([EXPIRED, UNDELIVERED, REJECTED], REJECTED),   # the worst failure
    ([EXPIRED, UNDELIVERED], UNDELIVERED),
    ([DELIVERED, None, UNDELIVERED], UNDELIVERED),  # cannot arrive whole any more
    ([DELIVERED, UNKNOWN], UNKNOWN),
    ([UNKNOWN, EXPIRED], EXPIRED),
    ([DELIVERED, ENROUTE], ENROUTE),
    ([DELIVERED, None], ENROUTE),                   # one part delivered, one with no receipt yet
    ([ACCEPTED, None, ACCEPTED], ACCEPTED),
    ([ACCEPTED, ENROUTE], ENROUTE),
    ([None, None], None),
    ([], None),
])
def test_roll_up(parts: list[DeliveryStatus | None], status: DeliveryStatus | None) -> None:
    assert roll_up(parts) is status


def test_roll_up_does_not_depend_on_order() -> None:
    for parts in itertools.product([None, *S], repeat=3):
        results = {roll_up(order) for order in itertools.permutations(parts)}
        assert len(results) == 1


@given(st.lists(st.lists(st.sampled_from(list(S)), max_size=4), min_size=1, max_size=4))
def test_a_message_stored_through_advance_only_moves_forward(receipts_per_part: list[list[DeliveryStatus]]) -> None:
    """Each part's receipts go through advance, then the message's stored status advances to the
    roll-up: whatever the interleaving, the message is delivered only if every part is."""
    parts: list[DeliveryStatus | None] = [None] * len(receipts_per_part)
    stored: DeliveryStatus | None = None
    for index, receipts in enumerate(receipts_per_part):
        for receipt in receipts:
            parts[index] = advance(parts[index], receipt)
            rolled = roll_up(parts)
            if rolled is not None:
                stored = advance(stored, rolled)
    assert (stored is DELIVERED) == all(part is DELIVERED for part in parts)
