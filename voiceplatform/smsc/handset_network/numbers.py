"""The handset network's scripted numbers: what each destination does with a message.

Like the lab's scripted callees (``voiceplatform/lab/numbers.py``, ``+1 202 555 01xx``), each
script has one E.164 number, in ``+1 202 555 07xx``; two ranges of 1,000 numbers behave as one
script, for many-contact campaigns; any other number is simply delivered. The table is in
docs/smsc.md.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from voiceplatform.smsc.handset_network.pdu import MessageState, Status


@dataclass(frozen=True, slots=True)
class Script:
    """What a number does with a submit_sm."""

    name: str
    #: the receipt's stat (DELIVRD, UNDELIV, EXPIRED, REJECTD), or None: no receipt ever comes
    stat: str | None = "DELIVRD"
    #: the receipt's err field
    err: str = "000"
    #: seconds between the submit_sm_resp and the receipt (0: the network's usual delay)
    receipt_delay: float = 0.0
    #: refuse the first N attempts of each message with ``refusal`` (-1: every attempt)
    refusals: int = 0
    refusal: Status = Status.ESME_RTHROTTLED
    #: False: the submit_sm is read and recorded but never answered (no submit_sm_resp)
    responds: bool = True
    #: the text the handset sends back (an MO message), after the receipt
    reply: str | None = None


#: How long a receipt takes (``--receipt-seconds``): a gateway stores the message id of a
#: submit_sm_resp asynchronously, and a receipt that overtakes it waits for the gateway's retry
#: (Jasmin: DLRMapNotFound, then a retry a second later). 0 sends it at once, to test exactly that.
RECEIPT_SECONDS = 0.1
#: How long the "slow" number takes to deliver (``--slow-receipt-seconds`` changes it).
SLOW_RECEIPT_SECONDS = 3.0

#: The three-part reply: 400 GSM-7 characters, so 153 + 153 + 94 septets.
THREE_PART_REPLY = " ".join(f"Part of a long reply, sentence {n:02d} of twenty." for n in range(1, 11))[:400]
ARABIC_REPLY = "نعم، أرغب في تأكيد موعدي. شكراً لكم"

SCRIPTS: tuple[Script, ...] = (
    Script("delivered"),
    Script("undelivered", stat="UNDELIV", err="001"),
    Script("expired", stat="EXPIRED"),
    Script("rejected", stat="REJECTD", err="002"),
    Script("slow-receipt", receipt_delay=SLOW_RECEIPT_SECONDS),
    Script("throttled-once", refusals=1),
    Script("always-throttled", refusals=-1),
    Script("queue-full-once", refusals=1, refusal=Status.ESME_RMSGQFUL),
    Script("no-receipt", stat=None),
    Script("no-response", stat=None, responds=False),
    Script("reply-1", reply="1"),
    Script("reply-stop", reply="STOP"),
    Script("reply-arabic", reply=ARABIC_REPLY),
    Script("reply-three-parts", reply=THREE_PART_REPLY),
)
BY_NAME = {script.name: script for script in SCRIPTS}

HANDSET_NUMBERS: dict[str, str] = {
    "delivered": "+12025550700",
    "undelivered": "+12025550701",
    "expired": "+12025550702",
    "rejected": "+12025550703",
    "slow-receipt": "+12025550704",
    "throttled-once": "+12025550705",
    "always-throttled": "+12025550706",
    "queue-full-once": "+12025550707",
    "no-receipt": "+12025550708",
    "no-response": "+12025550709",
    "reply-1": "+12025550711",
    "reply-stop": "+12025550712",
    "reply-arabic": "+12025550713",
    "reply-three-parts": "+12025550714",
}
SCRIPT_BY_NUMBER = {number.lstrip("+"): BY_NAME[name] for name, number in HANDSET_NUMBERS.items()}

#: Whole ranges behave as one script: +1 202 555 7000-7999 are delivered, 8000-8999 reply "1".
RANGES = {"delivered": 7000, "reply-1": 8000}

#: The receipt's stat as the message_state TLV says it.
MESSAGE_STATES = {
    "DELIVRD": MessageState.DELIVERED,
    "UNDELIV": MessageState.UNDELIVERABLE,
    "EXPIRED": MessageState.EXPIRED,
    "REJECTD": MessageState.REJECTED,
    "DELETED": MessageState.DELETED,
    "ACCEPTD": MessageState.ACCEPTED,
    "ENROUTE": MessageState.ENROUTE,
    "UNKNOWN": MessageState.UNKNOWN,
}


def digits(address: str) -> str:
    """An address as the wire carries it: E.164 digits without ``+`` (or ``00``)."""
    address = address.strip()
    if address.startswith("+"):
        return address[1:]
    return address[2:] if address.startswith("00") else address


def script_for(destination: str, slow_receipt_seconds: float = SLOW_RECEIPT_SECONDS) -> Script:
    """The script of a destination address (with or without ``+``); unknown numbers are delivered."""
    number = digits(destination)
    script = SCRIPT_BY_NUMBER.get(number)
    if script is None:
        script = BY_NAME["delivered"]
        if number.startswith("1202555") and len(number) == 11:
            line = int(number[7:])
            for name, start in RANGES.items():
                if start <= line < start + 1000:
                    script = BY_NAME[name]
    if script.receipt_delay and slow_receipt_seconds != script.receipt_delay:
        return replace(script, receipt_delay=slow_receipt_seconds)
    return script


def numbers_like(script: str, count: int, offset: int = 0) -> list[str]:
    """``count`` distinct numbers that all behave as ``script`` (one of ``RANGES``)."""
    if offset + count > 1000:
        raise ValueError("a range holds 1,000 numbers")
    return [f"+1202555{RANGES[script] + offset + i:04d}" for i in range(count)]
