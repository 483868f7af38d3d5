"""The flow every message of the messages API is a session of: one ``say`` node whose text is
the message, on SMS. It is how a one-shot message gets what every other message has without a
line of its own: the channel registry's driver queues it in the transaction that records it
(the SMS bridge, else the dev channel), an opt-out is honoured by the shared handling, the
session's history holds it, and the channel's delivery reports find it by its session
(voiceplatform.messages.reports).

Each account gets the flow once, as a published version named :data:`NAME` (it shows in
``GET /flows``); a flow the account saved under that name is never used: the version is found by
its checksum.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from voiceplatform.models import FlowStatus, FlowVersion
from voiceplatform.models.base import utcnow

NAME = "_api_message"
TEXT_FIELD = "message_text"  # the key of the session's contact that holds the text
DEFINITION = f"""\
spec_version: 1
name: {NAME}
language: en
channels: [sms]
start: message
nodes:
  - id: message
    type: say
    text: "{{{{ contact.{TEXT_FIELD} }}}}"
"""
CHECKSUM = FlowVersion.checksum_of(DEFINITION)


def _find(db: Session, account_id: int) -> int | None:
    return db.scalar(select(FlowVersion.id).where(
        FlowVersion.account_id == account_id, FlowVersion.name == NAME, FlowVersion.checksum == CHECKSUM,
        FlowVersion.status == FlowStatus.PUBLISHED))


def flow_version_id(sessions: sessionmaker[Session], account_id: int) -> int:
    """The account's one-message flow version, created (in a transaction of its own) the first
    time; two first messages at once both get the one that was stored."""
    with sessions() as db:
        found = _find(db, account_id)
    if found is not None:
        return found
    try:
        with sessions.begin() as db:
            latest = db.scalar(select(func.max(FlowVersion.version)).where(
                FlowVersion.account_id == account_id, FlowVersion.name == NAME)) or 0
            row = FlowVersion(account_id=account_id, name=NAME, version=latest + 1, definition=DEFINITION,
                              checksum=CHECKSUM, status=FlowStatus.PUBLISHED, published_at=utcnow())
            db.add(row)
            db.flush()
            return row.id
    except IntegrityError:  # another request stored it first
        with sessions() as db:
            stored = _find(db, account_id)
        if stored is None:
            raise
        return stored
