"""Applying a flow's ``opt_out`` to the contact's record: the one place the runtime writes it.

The flow engine only emits an ``OptOut`` output (it stays pure); the voice runner keeps the
channels on the call (``CallRecord.opt_outs``) and the call's sink calls :func:`apply_opt_outs`
in the transaction that saves the call. The contact fields it sets:

- ``all``: ``opted_out_at`` (the first time only). The dialler skips the contact on every
  campaign from then on (``dialer.claims``), the campaign fan-out skips it, and single calls are
  refused (409 ``opted_out``).
- ``voice``, ``sms``, ``whatsapp``: the channel leaves ``channels``. The dialler skips a contact
  whose channels lack ``voice``; the bridges send nothing on a channel the contact left.
"""

from __future__ import annotations

from datetime import datetime
from typing import Iterable

from sqlalchemy.orm import Session

from voiceplatform.models import Contact

CHANNELS = ("voice", "sms", "whatsapp")


def apply_opt_outs(session: Session, contact_id: int | None, channels: Iterable[str], now: datetime) -> bool:
    """Record the opt-outs on contact ``contact_id``; gives whether anything changed."""
    wanted = [c for c in channels if c == "all" or c in CHANNELS]
    if contact_id is None or not wanted:
        return False
    contact = session.get(Contact, contact_id)
    if contact is None:
        return False
    changed = False
    if "all" in wanted and contact.opted_out_at is None:
        contact.opted_out_at = now
        changed = True
    kept = [c for c in (contact.channels or []) if c not in wanted]
    if kept != list(contact.channels or []):
        contact.channels = kept
        changed = True
    return changed


def accepts(contact_channels: Iterable[str] | None, opted_out_at: datetime | None, channel: str) -> bool:
    """Whether a contact may be reached on ``channel`` (what the dialler and bridges check)."""
    return opted_out_at is None and channel in (contact_channels or ())
