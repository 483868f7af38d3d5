"""The path a caller took through the flow, for the recording page: the nodes in order, and the
conversation as events (prompts heard, keys pressed, speech recognised, recordings, hang-ups),
read back from the call's transcript lines (written by ``voiceplatform.flow.transcript``)."""

from __future__ import annotations

import re
from dataclasses import dataclass

PROMPT, KEYS, SPEECH, REPLY, RECORDING, LISTENING, NO_INPUT, HANGUP, MESSAGE, SYSTEM = (
    "prompt", "keys", "speech", "reply", "recording", "listening", "no-input", "hangup", "message", "system")
LABELS = {PROMPT: "heard", KEYS: "pressed", SPEECH: "said", REPLY: "replied", RECORDING: "recorded",
          LISTENING: "listening", NO_INPUT: "no input", HANGUP: "hung up", MESSAGE: "message", SYSTEM: "system"}


@dataclass(frozen=True)
class PathEvent:
    kind: str
    text: str
    detail: str = ""  # speech confidence, recording length, where a message went

    @property
    def label(self) -> str:
        return LABELS[self.kind]


_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^bot \(say\): (?P<text>.*)$"), PROMPT),
    (re.compile(r"^bot \(play (?P<detail>[^)]*)\)(?:: (?P<text>.*))?$"), PROMPT),
    (re.compile(r"^bot \(listening: (?P<text>[^)]*)\)$"), LISTENING),
    (re.compile(r"^bot \((?P<text>recording up to [^)]*)\)$"), LISTENING),
    (re.compile(r"^bot \((?P<detail>[^)]*)\): (?P<text>.*)$"), MESSAGE),
    (re.compile(r"^contact: pressed (?P<text>.*)$"), KEYS),
    (re.compile(r"^contact \(said, (?P<detail>[^)]*)\): (?P<text>.*)$"), SPEECH),
    (re.compile(r"^contact \(recorded (?P<detail>[^)]*)\)(?:: (?P<text>.*))?$"), RECORDING),
    (re.compile(r"^contact: \((?P<text>no input|no reply before the timeout)\)$"), NO_INPUT),
    (re.compile(r"^contact: \((?P<text>hung up)\)$"), HANGUP),
    (re.compile(r"^contact: (?P<text>.*)$"), REPLY),
    (re.compile(r"^system: (?P<text>.*)$"), SYSTEM),
)


def parse_line(line: str) -> PathEvent:
    for pattern, kind in _RULES:
        match = pattern.match(line)
        if match:
            found = match.groupdict()
            return PathEvent(kind, (found.get("text") or "").strip(), (found.get("detail") or "").strip())
    return PathEvent(SYSTEM, line.strip())


def call_events(lines: list[str] | None) -> list[PathEvent]:
    """Events of a transcript; a message's indented buttons and list rows join their message."""
    events: list[PathEvent] = []
    for line in lines or []:
        if line.startswith("    ") and events and events[-1].kind == MESSAGE:
            last = events[-1]
            events[-1] = PathEvent(last.kind, f"{last.text} {line.strip()}", last.detail)
            continue
        events.append(parse_line(line))
    return events
