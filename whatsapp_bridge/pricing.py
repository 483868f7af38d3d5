"""What one WhatsApp message costs, under per-message pricing (since 1 July 2025): **the platform's
rule** (voiceplatform.campaigns.pricing.whatsapp_charge on a ``Rates``), so the bridge, the
campaigns' charges and the estimates price a message the same way.

Meta charges per **delivered** template message, by the template's category:

* ``marketing`` (and ``marketing_lite``), ``authentication`` (and ``authentication_international``):
  every delivered message;
* ``utility``: only outside the customer-service window (the webhook's pricing type ``regular``);
  inside it (``free_customer_service``) it is free;
* ``service`` (free-form replies inside the window): free;
* anything with pricing type ``free_customer_service`` or ``free_entry_point`` (the 72-hour window
  after a click-to-WhatsApp ad): free; ``billable: false`` in the webhook: free.

A category the rates do not name (one Meta adds later, or none at all) pays the rate card's
``whatsapp_per_message`` (the platform's fallback, 0.005 by default): it is charged, never left
unpriced. ``marketing_lite`` and ``authentication_international`` take the ``marketing`` and
``authentication`` rates when they are not given their own (:func:`bridge_rates`).

The brief's 0.25 SAR a WhatsApp message is the marketing rate (:data:`BRIEF_MARKETING_RATE_SAR`).
The caller charges once per message, on the first delivered (or read) status carrying ``pricing``.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal, InvalidOperation
from typing import Mapping, Union

from voiceplatform.campaigns.pricing import Rates, whatsapp_charge

from whatsapp_bridge.errors import WhatsAppPayloadError

BRIEF_MARKETING_RATE_SAR = Decimal("0.25")
RATE_FALLBACKS = {"marketing_lite": "marketing", "authentication_international": "authentication"}
ZERO = Decimal("0")

#: what prices a message: the platform's rate card, or a mapping of category rates over it
RateCard = Union[Rates, Mapping[str, object]]


def rate(value: object, category: str) -> Decimal:
    """One category's rate (a string, an int or a Decimal; a float is refused, as 0.1 is not 0.1)."""
    field = f"rates.{category}"
    if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
        raise WhatsAppPayloadError(f"{field} must be a decimal string, not {type(value).__name__}", field)
    try:
        amount = Decimal(value)
    except InvalidOperation as exc:
        raise WhatsAppPayloadError(f"{field} is not a number: {str(value)[:20]!r}", field) from exc
    if not amount.is_finite() or amount < 0:
        raise WhatsAppPayloadError(f"{field} must be a finite amount of 0 or more", field)
    return amount


def bridge_rates(per_category: Mapping[str, object] | None = None, base: Rates | None = None) -> Rates:
    """``base`` (default: the platform's rates) with ``per_category`` over its
    ``whatsapp_per_category``; ``marketing_lite`` and ``authentication_international`` get their
    parent's rate when they have none of their own."""
    card = base if base is not None else Rates()
    rates = dict(card.whatsapp_per_category)
    rates.update({str(name).strip().lower(): rate(value, str(name)) for name, value in (per_category or {}).items()})
    for child, parent in RATE_FALLBACKS.items():
        if child not in rates and parent in rates:
            rates[child] = rates[parent]
    return replace(card, whatsapp_per_category=rates)


def charge(category: str | None, pricing_type: str | None, rates: RateCard, *,
           billable: bool | None = None) -> Decimal:
    """The charge for one delivered message priced ``category`` / ``pricing_type`` (the
    webhook's ``pricing.category`` and ``pricing.type``), by the platform's rule. ``rates`` is
    the platform's ``Rates`` or a mapping of category rates (:func:`bridge_rates`)."""
    if billable is False:
        return ZERO
    card = rates if isinstance(rates, Rates) else bridge_rates(rates)
    return whatsapp_charge(card, category, pricing_type)
