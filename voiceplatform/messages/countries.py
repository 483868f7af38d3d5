"""The brief's country check (4.2.9): some countries require a sender ID to be registered there
before carriers deliver messages from it. Sending to such a country from a sender that is not
registered for it is not refused (the customer may have registered it with the carrier directly,
or accept a generic sender), but every answer that sends or estimates it carries a warning.

Which countries require registration is configuration:
``VOICEPLATFORM_SENDER_REGISTRATION_COUNTRIES`` (comma-separated ISO 3166 codes; empty: none).
The default, :data:`DEFAULT_REGISTRATION_COUNTRIES`, is a starting list (the Gulf and the
brief's region, and other markets known to filter unregistered senders), not legal advice: an
operator keeps it to what its carriers enforce.
"""

from __future__ import annotations

import os
from typing import Any, Iterable, Mapping

from phonenumbers.phonenumberutil import COUNTRY_CODE_TO_REGION_CODE

ENV = "VOICEPLATFORM_SENDER_REGISTRATION_COUNTRIES"
DEFAULT_REGISTRATION_COUNTRIES = frozenset({
    "SA", "AE", "EG", "KW", "QA", "BH", "OM", "JO", "LB", "IQ",  # the Gulf and the brief's region
    "TR", "IN", "CN", "VN", "ID", "PH", "NG", "KE",
})
WARNING = "sender_not_registered"


def registration_countries(environ: Mapping[str, str] | None = None) -> frozenset[str]:
    """The countries whose carriers require sender registration (the setting, else the default)."""
    raw = (os.environ if environ is None else environ).get(ENV)
    if raw is None:
        return DEFAULT_REGISTRATION_COUNTRIES
    return frozenset(code.strip().upper() for code in raw.split(",") if code.strip())


def warning(sender: str, country: str | None, registered_in: Iterable[str],
            required: frozenset[str] | None = None) -> dict[str, Any] | None:
    """The warning for a message from ``sender`` (registered in ``registered_in``) to
    ``country``, or None when it needs none."""
    needed = registration_countries() if required is None else required
    if country is None or country not in needed or country in set(registered_in):
        return None
    return {"code": WARNING, "country": country, "sender": sender,
            "message": f"{country} requires sender ID registration and {sender} is not registered there: carriers "
                       f"may block these messages or deliver them from a generic sender; register it for {country} "
                       f"(POST /senders) once the carrier has approved it"}


def regions_of_prefix(prefix: str) -> tuple[str, ...]:
    """The regions an E.164 number starting with ``prefix`` (``+966``, ``+1``) may belong to,
    by its calling code (all the regions that share it: ``+7`` is RU and KZ)."""
    digits = prefix.lstrip("+")
    for length in (1, 2, 3):
        if len(digits) >= length and digits[:length].isdigit() and int(digits[:length]) in COUNTRY_CODE_TO_REGION_CODE:
            return tuple(COUNTRY_CODE_TO_REGION_CODE[int(digits[:length])])
    return ()
