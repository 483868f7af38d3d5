"""The flow every message of the messages API is a session of: one ``say`` node whose text is
the message, on SMS. It is how a one-shot message gets what every other message has without a
line of its own: the channel registry's driver queues it in the transaction that records it
(the SMS bridge, else the dev channel), an opt-out is honoured by the shared handling, the
session's history holds it, and the channel's delivery reports find it by its session
(voiceplatform.messages.reports).

Each account gets the flow once, as a published version named :data:`NAME` (it shows in
``GET /flows``); a flow the account saved under that name is never used: the version is found by
its checksum.

**On WhatsApp** the flow is one ``send`` node (on the session's channel, WhatsApp) whose text is
the message's text and, when the message has one, whose ``template`` is its template: the engine
makes one ``Send`` carrying both, and the WhatsApp bridge sends the text inside the contact's
24-hour window and the template outside it (a text alone fails outside it; a template alone is
always the template). A flow's template name and language are literal (validation reads them),
so there is one flow version per template the account sends, named :data:`WHATSAPP_NAME`
(:func:`whatsapp_definition`: the name, language and number of parameters make it; the parameters
themselves are the session's contact fields ``message_param_1``...), each found by its checksum.
"""

from __future__ import annotations

import json

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
WHATSAPP_NAME = "_api_whatsapp_message"
PARAM_FIELD = "message_param_{}"  # the session's contact keys of a template's parameters, from 1


def param_fields(params: tuple[str, ...] | list[str]) -> dict[str, str]:
    """The session's contact fields that carry a template's ``params``."""
    return {PARAM_FIELD.format(position): value for position, value in enumerate(params, start=1)}


def whatsapp_definition(template_name: str | None = None, language: str = "en", params: int = 0) -> str:
    """The WhatsApp one-message flow: the text, and the template ``template_name`` in
    ``language`` with ``params`` parameters when given (name and language already checked:
    voiceplatform.messages.whatsapp_content)."""
    lines = [
        "spec_version: 1", f"name: {WHATSAPP_NAME}", "language: en", "channels: [whatsapp]", "start: message",
        "nodes:", "  - id: message", "    type: send", f"    text: \"{{{{ contact.{TEXT_FIELD} }}}}\"",
    ]
    if template_name is not None:
        values = ", ".join(f'"{{{{ contact.{PARAM_FIELD.format(n)} }}}}"' for n in range(1, params + 1))
        lines += ["    template:", f"      name: {json.dumps(template_name)}", f"      language: {json.dumps(language)}",
                  f"      params: [{values}]"]
    return "\n".join(lines) + "\n"


def _find(db: Session, account_id: int, name: str, checksum: str) -> int | None:
    return db.scalar(select(FlowVersion.id).where(
        FlowVersion.account_id == account_id, FlowVersion.name == name, FlowVersion.checksum == checksum,
        FlowVersion.status == FlowStatus.PUBLISHED))


def flow_version_id(sessions: sessionmaker[Session], account_id: int, definition: str = DEFINITION) -> int:
    """The account's one-message flow version of ``definition`` (the SMS one by default, or a
    :func:`whatsapp_definition`), created (in a transaction of its own) the first time; two first
    messages at once both get the one that was stored."""
    name = NAME if definition == DEFINITION else WHATSAPP_NAME
    checksum = FlowVersion.checksum_of(definition)
    with sessions() as db:
        found = _find(db, account_id, name, checksum)
    if found is not None:
        return found
    try:
        with sessions.begin() as db:
            latest = db.scalar(select(func.max(FlowVersion.version)).where(
                FlowVersion.account_id == account_id, FlowVersion.name == name)) or 0
            row = FlowVersion(account_id=account_id, name=name, version=latest + 1, definition=definition,
                              checksum=checksum, status=FlowStatus.PUBLISHED, published_at=utcnow())
            db.add(row)
            db.flush()
            return row.id
    except IntegrityError:  # another request stored it first
        with sessions() as db:
            stored = _find(db, account_id, name, checksum)
        if stored is None:
            raise
        return stored
