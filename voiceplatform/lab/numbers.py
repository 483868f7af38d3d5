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
}
CALLEE_BY_NUMBER = {number: name for name, number in CALLEE_NUMBERS.items()}
