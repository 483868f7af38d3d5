"""What a switch driver asks about a call coming in, and the answers it can get.

A driver knows the dialled number and the caller's number; it does not know which account owns
the number, which flow answers it, or who the caller is. Those live in the database, which the
``switches`` package must not import (a later issue enforces that with import-linter). So a
driver receives an :class:`InboundRouter` from the process that builds it (the dialler's
composition in ``voiceplatform.dialer.process``; tests pass their own) and calls
:meth:`InboundRouter.route` once per call, before answering it.

The answer is an :class:`InboundRoute` (answer the call, run this flow for this contact, under
this call id) or an :class:`InboundRejection` (do not answer; hang up with this cause). The
causes are few on purpose, and each maps to one SIP final response the carrier sees
(docs/inbound-calls.md):

=====================  =====  ============================  ==================================
rejection              Q.850  Asterisk / FreeSWITCH name     SIP response the caller gets
=====================  =====  ============================  ==================================
``UNKNOWN_NUMBER``     1      UNALLOCATED_NUMBER             404 Not Found
``NOT_ANSWERED_HERE``  21     CALL_REJECTED                  403 Forbidden
``UNAVAILABLE``        34     NORMAL_CIRCUIT_CONGESTION      503 Service Unavailable
=====================  =====  ============================  ==================================

``UNKNOWN_NUMBER``: no account owns the number. ``NOT_ANSWERED_HERE``: the number exists but does
not take voice calls, or its inbound flow is missing or not published. ``UNAVAILABLE``: the
platform could not decide (the database is down): a 503 lets the carrier retry or fail over.
The reason (which of these, and why) is logged by the driver and never sent to the caller.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Protocol

from voiceplatform.flow import Flow


class RejectCause(Enum):
    """Why an inbound call is not answered, with its Q.850 cause and FreeSWITCH's name."""

    UNKNOWN_NUMBER = (1, "UNALLOCATED_NUMBER", 404)
    NOT_ANSWERED_HERE = (21, "CALL_REJECTED", 403)
    UNAVAILABLE = (34, "NORMAL_CIRCUIT_CONGESTION", 503)

    @property
    def q850(self) -> int:
        return int(self.value[0])

    @property
    def freeswitch(self) -> str:
        return str(self.value[1])

    @property
    def sip_status(self) -> int:
        return int(self.value[2])


@dataclass(frozen=True)
class InboundCall:
    """A call coming in, as the switch reports it (values as received, not yet normalised)."""

    call_id: str  # the id the platform gives the call (its calls row)
    dialled: str  # the number the caller dialled (the request URI's user, ${EXTEN})
    caller: str  # the caller's number (CALLERID(num) / Caller-Caller-ID-Number); may be empty
    switch: str  # "asterisk" or "freeswitch"
    channel: str = ""  # the switch's own channel id, for logs


@dataclass(frozen=True)
class InboundRoute:
    """Answer the call and run ``flow``. ``dialled`` and ``caller`` are normalised (E.164 where
    they are phone numbers); ``account`` is the owner's name (recordings are filed under it)."""

    call_id: str
    account: str
    flow: Flow
    dialled: str
    caller: str
    contact: dict[str, Any] = field(default_factory=dict)  # becomes ``contact.*`` in the flow


@dataclass(frozen=True)
class InboundRejection:
    cause: RejectCause
    reason: str  # for the log: which number, and why


class InboundRouter(Protocol):
    """Given to a driver from outside; answers for each inbound call before it is answered."""

    def route(self, call: InboundCall) -> InboundRoute | InboundRejection: ...


def route_safely(router: InboundRouter, call: InboundCall) -> InboundRoute | InboundRejection:
    """``router.route(call)``, with any failure of the router (a database that went away, a bug)
    turned into an ``UNAVAILABLE`` rejection: a call coming in must always get an answer."""
    try:
        return router.route(call)
    except Exception as exc:  # noqa: BLE001 - any failure means "cannot take it now", never a hung channel
        return InboundRejection(RejectCause.UNAVAILABLE, f"the inbound router failed: {exc!r}")
