"""A session row as the store, the runner and the shared handling read and change it: the ORM's
:class:`~voiceplatform.models.sessions.FlowSession`, a :class:`ClaimedRow`, the plain object
the sweeper loads its batches into (store.claim_due: one Core query, no identity map, no ORM
state per row), or a :class:`NewRow`, a session a batch started and has not written yet (a
campaign's batch of attempts: ``store.batched(defer_new=True)``); the batch's writes are
voiceplatform.sessions.writes' in every case.

All three satisfy :class:`SessionRow`. A ``ClaimedRow`` lives for one transaction: what a step
changes is set on it and written by the batch's UPDATE, which compares its ``row_version``. A
``NewRow`` is inserted as its first step left it, with the batch's other new sessions in one
statement (no INSERT then UPDATE).
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


class NewRow:
    """A session started inside a batch that defers its new rows: every column of ``sessions``,
    inserted by the batch's write as they stand then."""

    __slots__ = ("id", "row_version", "account_id", "contact_id", "campaign_contact_id", "channel", "address",
                 "our_address", "number_id", "flow_version_id", "status", "wait_kind", "wait_expires_at", "state",
                 "end_reason", "last_seq", "started_at", "updated_at", "ended_at")

    id: str
    row_version: int
    account_id: int
    contact_id: int | None
    campaign_contact_id: int | None
    channel: str
    address: str
    our_address: str | None
    number_id: int | None
    flow_version_id: int
    status: str
    wait_kind: str | None
    wait_expires_at: datetime | None
    state: dict[str, Any]
    end_reason: str | None
    last_seq: int
    started_at: datetime
    updated_at: datetime
    ended_at: datetime | None

    def __init__(self, **values: Any) -> None:
        self.row_version = 1  # as the ORM's version counter starts
        self.wait_kind = self.wait_expires_at = self.end_reason = self.ended_at = None
        for name, value in values.items():
            setattr(self, name, value)

    @property
    def ended(self) -> bool:
        return self.status in _ENDED

    def values(self) -> dict[str, Any]:
        """The row to insert: every column."""
        return {name: getattr(self, name) for name in self.__slots__}
