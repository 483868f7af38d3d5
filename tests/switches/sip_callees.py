"""The call suite's callees as sipp carriers: one sipp UAS and one RTP timeline per scenario.

``tests/switches/test_calls.py`` names its callees as the Asterisk lab's Local callees do
(``answer-press-1``, ``say-yes``...). Over SIP each becomes a sipp scenario
(``voiceplatform/lab/sipp/``) and, for a callee that answers, a pcap of its whole side of the
call (``voiceplatform.testing.rtp_pcap``): PCMU speech from the project's own TTS, silence
frames, RFC 4733 keys.

sipp cannot listen, so the Local callees' "wait for the prompt to end" becomes a time worked out
in advance: the flow's own prompts are rendered by the same TTS cache the call uses, and
:func:`seconds_until_listening` adds up what the flow says before it first listens. Keys need no
such care (type-ahead: a key pressed early reaches the next gather); speech and a hang-up "into
the first prompt" do, so they are placed with a margin on both sides of the estimate.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from voiceplatform.flow import Input, resume, start
from voiceplatform.flow import outputs as out
from voiceplatform.lab.defaults import PHRASES
from voiceplatform.speech.audio import wav_duration
from voiceplatform.testing import rtp_pcap

LEAD = 0.3  # silence before the callee's first word (rtp_pcap timelines start at the ACK)
# Measured over the lab trunk: with "hello?" (0.87 s) after 0.3 s, the flow's first AGI command
# came 1.58 s after the answer, i.e. AMD says HUMAN ~0.3 s after the word ends (its 800 ms
# after_greeting_silence counts from where the energy falls, inside the word's tail).
AMD_SILENCE = 0.3
FLOW_START = 0.1  # from AMD's verdict (or the answer, without AMD) to the flow's first prompt
YES_INTO_WINDOW = 1.7  # where the say-yes callee's word starts in the confirm gather's window
LATE_PER_ATTEMPT = 1.8  # how much later again each retry's window may come (see callees())
NO_INPUT_WINDOW = 2.0  # a listening window with nothing said: RECORD FILE's s=2 of silence
BEEP = 0.5  # Asterisk's beep before a recording, with the gap to the recording's start
LONG = 120.0  # seconds of silence a callee keeps sending after its script (the call stays up)
FLOOR = 20  # RMS of the line noise in a callee's quiet parts: far under Asterisk's silence
# threshold (256, for AMD and RECORD FILE), but not digital zeros, in which pocketsphinx hears
# nothing at all (a recorded "yes" between zeros is not recognised; between noise it is)


def hush(seconds: float) -> rtp_pcap.Silence:
    return rtp_pcap.Silence(seconds, FLOOR)


@dataclass(frozen=True)
class SipCallee:
    """How one scenario's callee behaves over SIP."""

    scenario: str  # voiceplatform/lab/sipp/<scenario>.xml
    timeline: tuple[rtp_pcap.Part, ...] = ()
    keys: dict[str, str] = field(default_factory=dict)  # extra -key values (bye_ms, ...)
    answers: bool = True

    def sipp_keys(self, pcap: Path | None) -> dict[str, str]:
        keys = {"payloads": "0 101", **self.keys}
        if pcap is not None:
            keys["audio"] = str(pcap)
        return keys if self.answers else dict(self.keys)


def seconds_until_listening(flow: Any, contact: dict[str, Any], tts: Any) -> float:
    """Seconds of audio the flow plays from its start until it first listens (a gather's
    listening window or a recording): its says and the gather's own prompts, as rendered."""
    step = start(flow, contact, "voice", facts={"answered": True, "amd": "HUMAN"})
    total = 0.0
    for _ in range(20):
        for output in step.outputs:
            if isinstance(output, (out.Say, out.Play)):
                total += _length(output, tts)
            elif isinstance(output, out.Gather):
                return total + sum(_length(prompt, tts) for prompt in output.prompts)
            elif isinstance(output, out.Record):
                return total + (BEEP if output.beep else 0.0)
            elif isinstance(output, out.Transfer):
                return total
        if step.wait is None:
            return total
        step = resume(flow, step.state, Input.no_input())
    return total


def listening_windows(flow: Any, contact: dict[str, Any], tts: Any, attempts: int) -> list[float]:
    """Seconds from the flow's start to each of its first ``attempts`` listening windows when
    nothing is heard: the first as :func:`seconds_until_listening`, each next one after the
    empty window and what the flow says before it listens again."""
    step = start(flow, contact, "voice", facts={"answered": True, "amd": "HUMAN"})
    windows: list[float] = []
    total = 0.0
    for _ in range(20 * attempts):
        for output in step.outputs:
            if isinstance(output, (out.Say, out.Play)):
                total += _length(output, tts)
            elif isinstance(output, out.Gather):
                total += sum(_length(prompt, tts) for prompt in output.prompts)
                windows.append(total)
                total += NO_INPUT_WINDOW
        if len(windows) >= attempts or step.wait is None:
            break
        step = resume(flow, step.state, Input.no_input())
    return windows[:attempts]


def _length(prompt: out.Say | out.Play, tts: Any) -> float:
    if isinstance(prompt, out.Play):
        return 0.0
    return wav_duration(tts.render(prompt.text, prompt.language))


class Voices:
    """The callee's phrases, spoken by the project's TTS (the lab's phrases, same words)."""

    def __init__(self, tts: Any) -> None:
        self.hello = rtp_pcap.Speech.from_wav(tts.render("Hello?"))
        self.yes_path = Path(tts.render(PHRASES["yes"]))
        self.yes = rtp_pcap.Speech.from_wav(self.yes_path)
        self.machine = rtp_pcap.Speech.from_wav(tts.render(PHRASES["machine-greeting"]))

    @property
    def amd_done(self) -> float:
        """When the flow starts on a call with AMD: after "hello?" and AMD's silence."""
        return LEAD + self.hello.seconds + AMD_SILENCE + FLOW_START


def callees(voices: Voices, flows: dict[str, Any], contact: dict[str, Any], tts: Any) -> dict[str, SipCallee]:
    """Scenario name (test_calls.SCENARIOS) -> its SIP callee."""
    hello = (hush(LEAD), voices.hello)
    quiet = (hush(LEAD), hush(LONG))

    def pressing(*keys: str) -> tuple[rtp_pcap.Part, ...]:
        parts: list[rtp_pcap.Part] = [*hello, hush(3.0)]
        for key in keys:
            parts += [rtp_pcap.Rfc4733(key), hush(1.5)]
        return (*parts, hush(LONG))

    # "yes" late in the confirm gather's listening window (AMD first, as for the Local callee).
    # The window is a RECORD FILE whose leading silence counts: it closes after 2 s of quiet, so
    # the word must start inside [0, 2) s of it. Prompt lengths are exact (measured within
    # 10 ms), but the flow's start and each prompt's AGI round trip make the window late, never
    # early, by more as the machine is busier (0.9 s measured beside another test run; more in
    # CI with both shards busy, which missed it at 0.5 s and at 1.2 s into the window). So the
    # word comes YES_INTO_WINDOW (1.7 s) into the first window and, should that window have
    # come too late for it (heard nothing, so the flow asks again), again into the second and
    # third attempts' windows, each later by LATE_PER_ATTEMPT: lateness adds up with the
    # prompts. A "yes" meant for a later attempt falls, when the first was heard, into the
    # confirmation's own prompts, when nothing listens.
    windows = listening_windows(flows["appointment"], contact, tts, attempts=3)
    parts: list[rtp_pcap.Part] = [*hello]
    at = LEAD + voices.hello.seconds
    for attempt, window in enumerate(windows):
        word_at = voices.amd_done + window + YES_INTO_WINDOW + LATE_PER_ATTEMPT * attempt
        parts += [hush(word_at - at), voices.yes]
        at = word_at + voices.yes.seconds
    say_yes = (*parts, hush(LONG))
    # the voicemail flow records after its prompt and beep (no AMD); speak 0.8 s into it
    record_at = FLOW_START + seconds_until_listening(flows["leave_message"], contact, tts) + 0.8
    voicemail = (hush(record_at), voices.yes, hush(LONG))
    # hang up 1.2 s into the survey's first prompt (after AMD), as the Local callee does; a BYE
    # at a time sipp knows in advance, so 0.4 s more for the estimate's error
    bye_ms = int((voices.amd_done + 1.5) * 1000)
    machine = (hush(LEAD), voices.machine, hush(LONG))
    return {
        "press-1": SipCallee("uas-answer", pressing("1")),
        "wrong-then-right": SipCallee("uas-answer", pressing("9", "1")),
        "say-yes": SipCallee("uas-answer", say_yes),
        "silent": SipCallee("uas-answer", quiet),
        "busy": SipCallee("uas-486", answers=False),
        "no-answer": SipCallee("uas-ring-forever", answers=False),
        "hangup-mid-prompt": SipCallee("uas-answer-bye", (*hello, hush(LONG)), {"bye_ms": str(bye_ms)}),
        "machine": SipCallee("uas-answer", machine),
        "survey-comment": SipCallee("uas-answer", pressing("1")),
        "voicemail-recording": SipCallee("uas-answer", voicemail),
        "queue-transfer": SipCallee("uas-answer", pressing("2")),
        "dial-transfer": SipCallee("uas-answer", quiet),
        "dial-transfer-busy": SipCallee("uas-answer", quiet),
    }


#: The SIP exchange each scenario's callee sees in its own trace (``Sipp.exchange()``): where the
#: platform hangs up it sends the BYE ("<BYE", ">200"); a timeout is CANCEL, 487, ACK.
ANSWERED = ["<INVITE", ">100", ">180", ">200", "<ACK"]
PLATFORM_BYE = [*ANSWERED, "<BYE", ">200"]
EXCHANGES: dict[str, list[str]] = {
    "busy": ["<INVITE", ">100", ">486", "<ACK"],
    "no-answer": ["<INVITE", ">100", ">180", "<CANCEL", ">200", ">487", "<ACK"],
    "hangup-mid-prompt": [*ANSWERED, ">BYE", "<200"],
}


def exchange_for(name: str) -> list[str]:
    return EXCHANGES.get(name, PLATFORM_BYE)
