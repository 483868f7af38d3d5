"""Scripted callees: who picks up the emulated phone, and what they do.

The originate destination selects the callee by its last path component, so
``loopback/answer-press-1``, ``sofia/gateway/lab/answer-press-1`` and ``user/answer-press-1``
all reach ``answer-press-1``. The names match the Asterisk lab's callees.

A callee is a small frozen description (:class:`Callee`); subclass it and override a hook for
anything the fields cannot say, then ``CalleeRegistry.register()`` it. Times are emulated
seconds (the emulator's ``time_scale`` shrinks them).

Like the Asterisk lab's callees (``customers-lib,await-prompt``), a callee reacts to the caller's
*prompts*: it waits for a prompt to end and for a second of quiet, then types its next entry
(``digits_for_prompt(n)``, n counting entries typed so far). A prompt is any audio the caller
plays (``playback``, the prompts and invalid-input files of ``play_and_get_digits``, ``read``,
``speak``, ``say``); ``silence_stream://`` is not a prompt. A prompt that starts before the
second of quiet is over merges with the previous one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional


@dataclass(frozen=True)
class Callee:
    name: str
    #: seconds of ringing before the callee answers (or fails)
    ring_seconds: float = 1.0
    #: a hangup cause to fail the originate with, after ``ring_seconds`` (e.g. USER_BUSY)
    failure_cause: Optional[str] = None
    #: ring until ``originate_timeout`` and fail with NO_ANSWER
    never_answers: bool = False
    #: a trunk that never answers the INVITE: nothing rings (no CHANNEL_PROGRESS); sofia's
    #: timer B fails the leg with RECOVERY_ON_TIMER_EXPIRE after ``ring_seconds`` (32 s), or the
    #: originate timeout ends it first with NO_ANSWER
    never_responds: bool = False
    #: the entries typed after successive prompts (index 0 first); None = types nothing
    prompt_digits: tuple[Optional[str], ...] = ()
    #: seconds of quiet after a prompt before the callee types
    digit_delay: float = 1.0
    #: gap between two digits of one entry
    inter_digit: float = 0.2
    #: what the callee says into a recording or speech capture (None = silence)
    speech: Optional[str] = None
    #: seconds into a recording at which the speech starts
    speech_offset: float = 1.0
    #: hang up this many seconds into the first prompt (None = never)
    hangup_into_first_prompt: Optional[float] = None
    #: (seconds, digits): press ``digits`` this far into the first prompt, whatever it is (a
    #: key typed ahead during a greeting, before any gather listens)
    digits_into_first_prompt: Optional[tuple[float, str]] = None
    #: answering-machine detection outcome, mod_amd style (amd_result / amd_cause); a person
    #: says one short "hello?" and stops (HUMAN)
    amd_result: str = "HUMAN"
    amd_cause: str = "HUMAN"
    #: seconds an AMD analysis takes for this callee
    amd_seconds: float = 1.3
    #: a long greeting spoken from the moment of answer (machines)
    greeting: Optional[str] = None
    extra: dict[str, str] = field(default_factory=dict, compare=False, hash=False)

    def digits_for_prompt(self, index: int) -> Optional[str]:
        if index < len(self.prompt_digits):
            return self.prompt_digits[index]
        return None

    def speech_for_record(self, index: int) -> Optional[str]:
        """Text said into the ``index``-th recording (the greeting for a machine)."""
        if self.greeting and index == 0:
            return self.greeting
        return self.speech


class CalleeRegistry:
    """Name → callee. Unknown names answer and stay silent (like ``silent``)."""

    def __init__(self) -> None:
        self._callees: dict[str, Callee] = {}
        for callee in DEFAULT_CALLEES:
            self.register(callee)

    def register(self, callee: Callee) -> None:
        self._callees[callee.name] = callee

    def names(self) -> list[str]:
        return sorted(self._callees)

    def resolve(self, dial_string: str) -> Callee:
        name = callee_name(dial_string)
        return self._callees.get(name) or Callee(name=name)


def callee_name(dial_string: str) -> str:
    """The callee a dial string reaches: its last path component, minus any ``@host``."""
    target = dial_string
    if target.startswith("{") and "}" in target:
        target = target[target.index("}") + 1 :]
    if target.startswith("[") and "]" in target:
        target = target[target.index("]") + 1 :]
    target = target.rstrip("/").rsplit("/", 1)[-1]
    return target.split("@", 1)[0]


DEFAULT_CALLEES: tuple[Callee, ...] = (
    Callee("answer-press-1", prompt_digits=("1",)),
    Callee("answer-press-2", prompt_digits=("2",)),
    # an agent: answers a transfer, talks for two seconds, hangs up
    Callee("agent-desk", ring_seconds=0.5, extra={"talk_seconds": "2"}),
    Callee("wrong-then-right", prompt_digits=("9", "1")),
    Callee("say-yes", speech="yes"),
    Callee("silent", amd_result="MACHINE", amd_cause="INITIALSILENCE", amd_seconds=2.5),
    Callee("busy", ring_seconds=0.5, failure_cause="USER_BUSY"),
    # A SIP trunk's final responses, as sofia reports them (sofia_glue_sip_cause_to_freeswitch):
    # 100 Trying, then the response; nothing rings. docs/sip-outcomes.md has the table.
    Callee("sip-486", ring_seconds=0.2, failure_cause="USER_BUSY"),
    Callee("sip-480", ring_seconds=0.2, failure_cause="NO_USER_RESPONSE"),
    Callee("sip-408", ring_seconds=0.2, failure_cause="RECOVERY_ON_TIMER_EXPIRE"),
    Callee("sip-603", ring_seconds=0.2, failure_cause="CALL_REJECTED"),
    Callee("sip-503", ring_seconds=0.2, failure_cause="NORMAL_TEMPORARY_FAILURE"),
    Callee("sip-404", ring_seconds=0.2, failure_cause="UNALLOCATED_NUMBER"),
    Callee("sip-488", ring_seconds=0.2, failure_cause="INCOMPATIBLE_DESTINATION"),
    Callee("never-respond", ring_seconds=32.0, never_responds=True),
    # presses 1 a second into the greeting (a say), before the menu's gather
    Callee("dtmf-during-greeting", digits_into_first_prompt=(1.0, "1")),
    Callee("no-answer", never_answers=True),
    Callee("hangup-mid-prompt", hangup_into_first_prompt=1.2),
    Callee(
        "machine",
        ring_seconds=1.5,
        amd_result="MACHINE",
        amd_cause="LONGGREETING",
        amd_seconds=3.0,
        greeting="Hello, you have reached the voicemail of the lab. Please leave a message after the tone.",
    ),
)
