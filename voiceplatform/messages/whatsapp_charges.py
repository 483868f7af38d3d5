"""What a WhatsApp message of the messages API costs: held on submission, settled by its final
status.

Meta charges per *delivered* message, by the template's category (per-message pricing, since
1 July 2025: voiceplatform.campaigns.pricing.whatsapp_charge): a marketing or authentication
template always, a utility template outside the 24-hour window only, a free-form message
(inside the window) nothing. Which of a message's forms goes, and whether it arrives, is known
only after the WhatsApp bridge has sent it, so:

- **on submission** the most the message can cost is charged and held (:func:`hold_for`): the
  rate of its template's category (the account's synced templates say it; a template they do
  not know, or an account with none synced, is held at the marketing rate, the dearest, as the
  campaign estimate prices it); a text alone holds nothing (it goes only inside the window,
  where it is free; outside it nothing is sent). The balance must cover the hold (402
  ``insufficient_credit``), and it is taken with the same conditional UPDATE as an SMS charge;
- **on its first definite final status** (:func:`settle`, applied by
  voiceplatform.messages.reports in the report's transaction): delivered or read, the message
  costs what the bridge recorded for it (``whatsapp_messages.cost``, from the ``pricing`` Meta
  reported with the status, at the bridge's per-category rates), never more than was held; a
  message the bridge did not price (the dev channel standing in; a category with no rate) keeps
  the hold. Undelivered, rejected, expired or failed, it costs nothing. What is not kept goes
  back to the balance, and ``cost`` becomes the charge. ``unknown`` (a send the Graph API never
  answered) settles nothing: a status may still come and say.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from voiceplatform.campaigns.pricing import QUANTUM, Rates
from voiceplatform.messages.statuses import DEFINITE, DELIVERED, READ
from voiceplatform.messages.whatsapp_content import WhatsAppContent
from voiceplatform.models import Account
from voiceplatform.models.messages import ApiMessage
from voiceplatform.models.whatsapp import WhatsAppMessage

#: What an unknown template's category is taken to be when held: the dearest.
UNKNOWN_CATEGORY = "marketing"
CHARGED = (DELIVERED, READ)


def hold_for(rates: Rates, content: WhatsAppContent) -> Decimal:
    """What is charged and held on submission for ``content`` (see the module's docstring)."""
    if content.template is None:
        return Decimal(0).quantize(QUANTUM)
    return rates.whatsapp_rate(content.template.category or UNKNOWN_CATEGORY).quantize(QUANTUM)


def settle(db: Session, message: ApiMessage, status: str) -> Decimal | None:
    """Settle ``message``'s hold on its new ``status``, in the caller's transaction (its row is
    locked); gives what went back to the balance, None when nothing was settled (no hold, or a
    status that does not settle: in progress, ``unknown``)."""
    if message.held is None or status not in DEFINITE:
        return None
    held = Decimal(message.held)
    keep = Decimal(0)
    if status in CHARGED:
        priced = [cost for cost in db.scalars(select(WhatsAppMessage.cost).where(
            WhatsAppMessage.session_id == message.session_id)) if cost is not None] if message.session_id else []
        keep = min(sum(priced, Decimal(0)), held) if priced else held
    refund = (held - keep).quantize(QUANTUM)
    message.cost = (Decimal(message.cost) - refund).quantize(QUANTUM)
    message.held = None
    if refund:
        db.execute(update(Account).where(Account.id == message.account_id)
                   .values(balance=Account.balance + refund).execution_options(synchronize_session=False))
    return refund
