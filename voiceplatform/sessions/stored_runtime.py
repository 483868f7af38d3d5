"""A stored session's side of the shared handling (voiceplatform.channels.handling), for one step,
inside the session's transaction: history rows through the store, the step's messages handed to
the session's driver in order (one delivery per run of messages for the same driver), a ``send``
for another channel through that channel's driver, ``switch_channel`` as the row's ``channel``
now being the other driver's, and ``opt_out`` written on the contact. Drivers only queue here:
a message exists if and only if its step commits."""

from __future__ import annotations

from datetime import datetime
from typing import Sequence

from sqlalchemy.orm import Session

from voiceplatform.channels.contract import ChannelDriver, Delivery
from voiceplatform.channels.handling import HistoryEntry
from voiceplatform.channels.registry import ChannelRegistry
from voiceplatform.contacts.opt_out import accepts, apply_opt_outs
from voiceplatform.exceptions import ChannelUnavailableError
from voiceplatform.flow import Input, Step
from voiceplatform.flow import outputs as out
from voiceplatform.models import Contact
from voiceplatform.models.sessions import EventKind
from voiceplatform.sessions import store
from voiceplatform.sessions.rows import SessionRow


def driver_for(channels: ChannelRegistry, db: Session, row: SessionRow, channel: str,
               now: datetime) -> ChannelDriver | None:
    """The driver for engine channel ``channel``; None, and an ``undeliverable`` history row,
    when no driver delivers it."""
    try:
        return channels.for_engine_channel(channel)
    except ChannelUnavailableError as exc:
        store.append(db, row, [(EventKind.RUNTIME, "undeliverable", {"channel": channel, "error": str(exc)})],
                     now=now)
        return None


class StoredSessionRuntime:
    """The :class:`~voiceplatform.channels.handling.SessionRuntime` of ``row`` for one step;
    call :meth:`flush` once the step is handled."""

    def __init__(self, db: Session, row: SessionRow, driver: ChannelDriver, channels: ChannelRegistry,
                 now: datetime, rendered_as: str | None = None) -> None:
        self.db = db
        self.row = row
        self.current = driver  # the session's driver (another one after a switch_channel)
        # the engine channel the step's messages were made for (the session's when the step
        # began: the dev channel carries WhatsApp sessions too); a switch_channel changes it
        self.rendered_as = rendered_as or driver.capabilities.renders_as.value
        self.channels = channels
        self.now = now
        self._batch: list[out.Output] = []
        self._contact: Contact | None = None
        self._contact_read = False

    # ---- SessionRuntime --------------------------------------------------------------------------

    def write_history(self, entries: Sequence[HistoryEntry]) -> None:
        store.append(self.db, self.row, entries, now=self.now)

    def opted_out(self, channel: str) -> bool:
        contact = self._read_contact()
        return contact is not None and not accepts(contact.channels, contact.opted_out_at, channel)

    def send(self, send: out.Send) -> None:
        target = driver_for(self.channels, self.db, self.row, send.channel, self.now)
        if target is None:
            return
        if target is self.current:
            self._batch.append(send)
            return
        self.flush()
        self._deliver(target, (send,), send.channel, send.to or self.row.address)

    def switch_channel(self, switch: out.SwitchChannel, step: Step) -> None:
        self.flush()
        target = driver_for(self.channels, self.db, self.row, switch.channel, self.now)
        if target is None:
            return
        previous = self.row.channel
        self.row.channel = target.capabilities.name
        self.write_history([("runtime", "channel_switched",
                             {"from": previous, "to": self.row.channel, "renders_as": switch.channel})])
        self.current = target
        self.rendered_as = switch.channel

    def opt_out(self, channels: tuple[str, ...]) -> bool:
        return apply_opt_outs(self.db, self.row.contact_id, channels, self.now)

    def channel_output(self, output: out.Output) -> Input | None:
        self._batch.append(output)  # a message for the session's own driver: delivered in order
        return None

    # ---- delivering ----------------------------------------------------------------------------

    def flush(self) -> None:
        """Hand the messages gathered for the current driver to it."""
        if self._batch:
            self._deliver(self.current, tuple(self._batch), self.rendered_as, self.row.address)
            self._batch.clear()

    def _deliver(self, driver: ChannelDriver, outputs: tuple[out.Output, ...], rendered_as: str, address: str) -> None:
        row = self.row
        queued = driver.deliver(self.db, Delivery(row.id, row.account_id, address, row.our_address, rendered_as, outputs))
        if queued:
            store.append(self.db, row, [(EventKind.RUNTIME, "delivered",
                                         {"channel": driver.capabilities.name, "messages": queued})],
                         channel=driver.capabilities.name, now=self.now)

    def _read_contact(self) -> Contact | None:
        if not self._contact_read:  # read once, and only when a message to the contact needs it
            self._contact = self.db.get(Contact, self.row.contact_id) if self.row.contact_id is not None else None
            self._contact_read = True
        return self._contact
