"""Statuses never move backwards; failed is final except for a late delivery."""

from __future__ import annotations

import pytest

from whatsapp_bridge.statuses import advance, is_final


@pytest.mark.parametrize(("current", "incoming", "expected"), [
    (None, "sent", "sent"), ("queued", "delivered", "delivered"), ("sent", "delivered", "delivered"),
    ("delivered", "read", "read"), ("sent", "read", "read"), ("read", "played", "played"),
    ("delivered", "sent", None), ("read", "delivered", None), ("read", "read", None), ("played", "read", None),
    ("sent", "failed", "failed"), (None, "failed", "failed"), ("failed", "sent", None),
    ("failed", "delivered", "delivered"), ("failed", "read", "read"), ("delivered", "failed", None),
    ("failed", "failed", None), ("sent", "deleted", None), ("sent", "warning", None), ("sent", "", None),
])
def test_advance(current: str | None, incoming: str, expected: str | None) -> None:
    assert advance(current, incoming) == expected


def test_shuffled_sequence_settles_on_the_furthest() -> None:
    status: str | None = None
    for incoming in ("read", "sent", "delivered", "failed", "sent"):
        status = advance(status, incoming) or status
    assert status == "read"
    assert is_final(status) and not is_final("delivered")
