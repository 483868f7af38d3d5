"""The lab's scripted callees by E.164 number (the dialplan's aliases in
``dialplans/asterisk/extensions_lab_customers.conf``), for demo and test campaigns."""

from __future__ import annotations

CALLEE_NUMBERS = {
    "answer-press-1": "+12025550101",
    "answer-press-2": "+12025550102",
    "wrong-then-right": "+12025550103",
    "say-yes": "+12025550104",
    "silent": "+12025550105",
    "busy": "+12025550106",
    "no-answer": "+12025550107",
    "hangup-mid-prompt": "+12025550108",
    "machine": "+12025550109",
    "agent-desk": "+12025550110",
    "press-1-and-comment": "+12025550111",
    "press-5-and-comment": "+12025550112",
}
CALLEE_BY_NUMBER = {number: name for name, number in CALLEE_NUMBERS.items()}

# Whole ranges behave as one callee (for campaigns with many contacts): the 1,000 numbers
# +1 202 555 2000-2999 answer and press 1, 3000-3999 hang up mid-prompt, 4000-4999 are busy;
# each of 8000-8999 misses a call and answers the next one within ten minutes, pressing 1
# ("call-me-back": the handset network's numbers that reply "1" to an SMS, for the demo's journey).
RANGES = {"answer-press-1": 2000, "hangup-mid-prompt": 3000, "busy": 4000, "call-me-back": 8000}


def numbers_like(callee: str, count: int, offset: int = 0) -> list[str]:
    """``count`` distinct numbers that all behave as ``callee`` (one of ``RANGES``)."""
    if offset + count > 1000:
        raise ValueError("a range holds 1,000 numbers")
    return [f"+1202555{RANGES[callee] + offset + i:04d}" for i in range(count)]
