"""A message's delivery status, and the rules by which it changes. Pure.

Statuses only move forward: ``accepted``, then ``enroute``, then a final one: ``delivered``,
``undelivered``, ``expired``, ``rejected`` or ``unknown``. :func:`advance` is that state machine:

- a later or equal step never goes back (``enroute`` after ``delivered`` changes nothing);
- the first definite final status stays (a second receipt saying otherwise is ignored);
- ``unknown`` is the one final status that a definite one (delivered, undelivered, expired,
  rejected) may still replace: an SMSC that first did not know may learn.

:func:`roll_up` gives a long message one status from its parts' statuses:

1. every part delivered: ``delivered``;
2. else, any part undelivered, expired or rejected: the message cannot arrive whole, and it takes
   the worst of them (``rejected`` worse than ``undelivered`` worse than ``expired``);
3. else every part final (some delivered, the rest ``unknown``): ``unknown``;
4. else (parts still on their way): ``enroute`` if any part got that far or further, else
   ``accepted`` if any part was accepted, else no status yet.

The stored status of the message moves through :func:`advance` too, so once final it keeps its
first definite final status.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum


class DeliveryStatus(str, Enum):
    ACCEPTED = "accepted"
    ENROUTE = "enroute"
    DELIVERED = "delivered"
    UNDELIVERED = "undelivered"
    EXPIRED = "expired"
    REJECTED = "rejected"
    UNKNOWN = "unknown"

    @property
    def final(self) -> bool:
        return self not in (DeliveryStatus.ACCEPTED, DeliveryStatus.ENROUTE)


FAILURES = (DeliveryStatus.REJECTED, DeliveryStatus.UNDELIVERED, DeliveryStatus.EXPIRED)  # worst first
DEFINITE = frozenset({DeliveryStatus.DELIVERED, *FAILURES})
_STEP = {DeliveryStatus.ACCEPTED: 0, DeliveryStatus.ENROUTE: 1, DeliveryStatus.UNKNOWN: 2}


def _step(status: DeliveryStatus) -> int:
    return _STEP.get(status, 3)


def advance(current: DeliveryStatus | None, incoming: DeliveryStatus) -> DeliveryStatus:
    """The status after ``incoming`` arrives for a message (or part) that is at ``current``."""
    if current is None:
        return incoming
    return incoming if _step(incoming) > _step(current) else current


def roll_up(parts: Iterable[DeliveryStatus | None]) -> DeliveryStatus | None:
    """One message's status from its parts' (None: a part with no status yet)."""
    statuses = list(parts)
    if statuses and all(status is DeliveryStatus.DELIVERED for status in statuses):
        return DeliveryStatus.DELIVERED
    for failure in FAILURES:
        if failure in statuses:
            return failure
    if statuses and all(status is not None and status.final for status in statuses):
        return DeliveryStatus.UNKNOWN
    if any(status is not None and status is not DeliveryStatus.ACCEPTED for status in statuses):
        return DeliveryStatus.ENROUTE
    if DeliveryStatus.ACCEPTED in statuses:
        return DeliveryStatus.ACCEPTED
    return None
