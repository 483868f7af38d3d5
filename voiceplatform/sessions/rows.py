"""A session row as the store, the runner and the shared handling read and change it: the ORM's
:class:`~voiceplatform.models.sessions.FlowSession`, or a :class:`ClaimedRow`, the plain object
the sweeper loads its batches into (store.claim_due: one Core query, no identity map, no ORM
state per row; the batch's writes are voiceplatform.sessions.writes' either way).

Both satisfy :class:`SessionRow`. A ``ClaimedRow`` lives for one transaction: what a step
changes is set on it and written by the batch's UPDATE, which compares its ``row_version``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol, Sequence

from voiceplatform.models.sessions import ENDED_STATUSES

_ENDED = frozenset(status.value for status in ENDED_STATUSES)


class SessionRow(Protocol):
    """What a resume reads from a session row and what its step changes (writes.WRITTEN)."""

    id: str
    row_version: int
    account_id: int
    contact_id: int | None
    channel: str
    address: str
    our_address: str | None
    flow_version_id: int
    status: str
    wait_kind: str | None
    wait_expires_at: datetime | None
    state: dict[str, Any]
    end_reason: str | None
    last_seq: int
    updated_at: datetime
    ended_at: datetime | None

    @property
    def ended(self) -> bool: ...


class ClaimedRow:
    """A session row read with a plain query (its columns, in :data:`COLUMNS` order)."""

    __slots__ = ("id", "row_version", "account_id", "contact_id", "channel", "address", "our_address",
                 "flow_version_id", "status", "wait_kind", "wait_expires_at", "end_reason", "last_seq", "updated_at",
                 "ended_at", "state")

    id: str
    row_version: int
    account_id: int
    contact_id: int | None
    channel: str
    address: str
    our_address: str | None
    flow_version_id: int
    status: str
    wait_kind: str | None
    wait_expires_at: datetime | None
    end_reason: str | None
    last_seq: int
    updated_at: datetime
    ended_at: datetime | None
    state: dict[str, Any]

    def __init__(self, values: Sequence[Any], state: dict[str, Any]) -> None:
        """``values``: the row's :data:`COLUMNS` but the state (read as text), in that order."""
        (self.id, self.row_version, self.account_id, self.contact_id, self.channel, self.address, self.our_address,
         self.flow_version_id, self.status, self.wait_kind, self.wait_expires_at, self.end_reason, self.last_seq,
         self.updated_at, self.ended_at) = values
        self.state = state

    @property
    def ended(self) -> bool:
        return self.status in _ENDED


#: The columns a ClaimedRow is read from, in its constructor's order (the state last).
COLUMNS: tuple[str, ...] = ClaimedRow.__slots__
