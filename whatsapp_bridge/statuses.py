"""A sent message's status moves forward only: ``sent < delivered < read < played`` (``played``:
a voice note was listened to, after it was read).

Webhooks arrive out of order and twice (a late ``sent`` after ``delivered``, ``read`` before
``delivered``), so a status is applied only if it moves the message on (:func:`advance`).
``failed`` ends the message, with one exception the notes record: a ``delivered`` or ``read``
may follow a ``failed`` (another of the user's devices got it), and then it wins. So failed ranks
after sent and before delivered: a late ``sent`` never undoes a failure, and a ``failed`` after
a delivery is ignored. ``deleted`` (the user deleted the message) and unknown statuses change
nothing. A message not yet reported on (``None``, or the bridge's own states such as ``queued``
or ``accepted``) takes any known status.
"""

from __future__ import annotations

RANK: dict[str, int] = {"sent": 1, "failed": 2, "delivered": 3, "read": 4, "played": 5}
KNOWN = frozenset({*RANK, "deleted"})


def advance(current: str | None, incoming: str) -> str | None:
    """The message's new status after ``incoming`` arrives while it is ``current``; None when
    ``incoming`` changes nothing (older, a duplicate, ``deleted`` or unknown)."""
    rank = RANK.get(incoming)
    if rank is None:
        return None
    if rank > RANK.get(current or "", 0):
        return incoming
    return None


def is_final(status: str | None) -> bool:
    """Whether nothing more is expected for the message (read, played or failed; a failed one may
    still be superseded by a late delivery, which :func:`advance` allows)."""
    return status in ("read", "played", "failed")
