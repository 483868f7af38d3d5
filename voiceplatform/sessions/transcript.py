"""A session's path and transcript, rendered from its ``session_events`` rows when they are read.

The history is stored as structured rows (an output's or input's ``to_dict()`` as the payload,
voiceplatform.sessions.payloads reads them back), never as transcript strings: what is shown is
made on the way out, so a change of wording changes every old session too and nothing ever
parses text back.

:func:`path` is the one renderer. The rows become the journey's **parts**, one per channel (a
call, then the SMS conversation it went on as), each with the nodes entered, in order, and the
conversation as :class:`PathEvent` s: prompts heard, keys pressed, speech with its confidence,
recordings with their length, no input, hang-ups, messages sent and where, deliveries, replies,
channel switches, errors. Each event carries its transcript lines in the engine's own wording
(voiceplatform.flow.transcript); :func:`lines` is those lines, in order (the sessions API's
``transcript``). Engine bookkeeping (results saved, variables set) and what the runtime did
around the engine, other than opt-outs, expiries and suppressed messages, are path events at
most, never transcript lines.

Where a part ends: a step's rows are its engine events, then its outputs (sessions.store), so
the nodes entered after a ``switch_channel`` come before its output. The nodes therefore change
part at the engine's ``channel_changed`` event and the conversation at the ``switch_channel``
output; the runtime's ``channel_switched`` row names the transport the part runs on (``dev``
rendering as ``sms``, say).

A row the renderer cannot rebuild (a kind from a newer engine, a payload written by hand)
becomes a ``system`` event (and, for an output or input, a ``system:`` line) with its payload,
never an error: the history must always be readable.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from voiceplatform.flow import outputs as out
from voiceplatform.flow.inputs import Input, InputKind
from voiceplatform.flow.transcript import input_line, output_lines
from voiceplatform.models.sessions import EventKind, SessionEvent
from voiceplatform.sessions.payloads import UNREADABLE, input_from_payload, output_from_payload

PROMPT, LISTENING, MESSAGE, DELIVERED, SWITCH = "prompt", "listening", "message", "delivered", "switch"
KEYS, SPEECH, REPLY, RECORDING, NO_INPUT, HANGUP, CALL = (
    "keys", "speech", "reply", "recording", "no-input", "hangup", "call")
ERROR, SYSTEM = "error", "system"
LABELS = {PROMPT: "heard", LISTENING: "listening", MESSAGE: "message", DELIVERED: "delivered", SWITCH: "channel",
          KEYS: "pressed", SPEECH: "said", REPLY: "replied", RECORDING: "recorded", NO_INPUT: "no input",
          HANGUP: "hung up", CALL: "call", ERROR: "error", SYSTEM: "system"}
TRANSCRIBED_RUNTIME = ("opted_out", "expired", "suppressed")  # runtime rows that are transcript lines


@dataclass(frozen=True, slots=True)
class PathEvent:
    seq: int  # the history row it was rendered from
    at: str
    channel: str  # the row's channel (the transport it was written on)
    kind: str  # one of LABELS
    text: str
    detail: str = ""  # speech confidence, recording length, where a message went, an error's code
    lines: tuple[str, ...] = ()  # its transcript lines; none for bookkeeping (deliveries, errors)

    @property
    def label(self) -> str:
        return LABELS[self.kind]

    def to_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "at": self.at, "channel": self.channel, "kind": self.kind, "text": self.text,
                "detail": self.detail}


@dataclass(frozen=True, slots=True)
class PathNode:
    id: str
    type: str
    flow: str
    seq: int

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "type": self.type, "flow": self.flow, "seq": self.seq}


@dataclass(slots=True)
class PathPart:
    """The journey on one channel: ``channel`` is the transport (``voice``, ``dev``, ``sms``...),
    ``renders_as`` the engine channel it ran as when the journey switched to it."""

    channel: str
    renders_as: str | None = None
    nodes: list[PathNode] = field(default_factory=list)
    events: list[PathEvent] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"channel": self.channel, "renders_as": self.renders_as, "nodes": [n.to_dict() for n in self.nodes],
                "events": [e.to_dict() for e in self.events]}


MakeEvent = Callable[..., PathEvent]  # (kind, text, detail, lines) -> the event of the row being rendered


@dataclass(frozen=True, slots=True)
class TranscriptLine:
    seq: int  # the history row it was rendered from
    at: str
    channel: str
    line: str

    def to_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "at": self.at, "channel": self.channel, "line": self.line}


def path(rows: Iterable[SessionEvent]) -> list[PathPart]:
    """The journey's parts, in order (one part for a session that never changed channel; none
    for a session with no rows)."""
    parts: list[PathPart] = []
    nodes_part = events_part = 0  # the part the next node, the next conversation event, goes to

    def part(index: int, row: SessionEvent) -> PathPart:
        while len(parts) <= index:
            parts.append(PathPart(row.channel))
        return parts[index]

    for row in rows:
        payload = row.payload if isinstance(row.payload, dict) else {}
        if row.kind == EventKind.EVENT.value and row.type == "node_entered":
            part(nodes_part, row).nodes.append(PathNode(str(payload.get("node", "?")), str(payload.get("node_type", "")),
                                                        str(payload.get("flow", "")), row.seq))
            continue
        if row.kind == EventKind.EVENT.value and row.type == "channel_changed":
            nodes_part += 1
            _switched_to(part(nodes_part, row), str(payload.get("channel", "")))
            continue
        if row.kind == EventKind.RUNTIME.value and row.type == "channel_switched":
            switched = part(events_part, row)
            switched.channel = str(payload.get("to") or switched.channel)
            if payload.get("renders_as"):
                switched.renders_as = str(payload["renders_as"])
            continue
        part(events_part, row).events.extend(_events(row))
        if row.kind == EventKind.OUTPUT.value and row.type == "switch_channel":
            events_part += 1
            _switched_to(part(events_part, row), str(payload.get("channel", "")))
    return parts


def lines(rows: Iterable[SessionEvent]) -> list[TranscriptLine]:
    """What the contact heard or read and what they answered, in order. A trigger input (the
    message that started the session) is a line like any reply."""
    return lines_of(path(rows))


def lines_of(parts: list[PathPart]) -> list[TranscriptLine]:
    """The transcript of a rendered path: every part's events' lines, in order."""
    return [TranscriptLine(event.seq, event.at, event.channel, line)
            for part in parts for event in part.events for line in event.lines]


def _switched_to(part: PathPart, engine_channel: str) -> None:
    """What the engine says the next part runs on, until the runtime names its transport."""
    if engine_channel and part.renders_as is None:
        part.channel, part.renders_as = engine_channel, engine_channel


def _events(row: SessionEvent) -> list[PathEvent]:
    try:
        return _rendered(row)
    except UNREADABLE:  # a payload that rebuilt, but with values of the wrong type
        return [_unreadable(row)]


def _rendered(row: SessionEvent) -> list[PathEvent]:
    def event(kind: str, text: str, detail: str = "", lines: tuple[str, ...] = ()) -> PathEvent:
        return PathEvent(row.seq, row.at.isoformat(), row.channel, kind, text, detail, lines)

    payload = row.payload if isinstance(row.payload, dict) else {}
    if row.kind == EventKind.OUTPUT.value:
        output = output_from_payload(row.payload)
        return _output_events(output, event) if output is not None else [_unreadable(row)]
    if row.kind == EventKind.INPUT.value:
        given = input_from_payload(row.payload)
        return [_input_event(given, bool(payload.get("trigger")), event)] if given is not None else [_unreadable(row)]
    if row.kind == EventKind.EVENT.value:
        if row.type in ("error", "failure"):
            return [event(ERROR, str(payload.get("message", "")), f"{row.type} {payload.get('code', '')}".strip())]
        if row.type == "language_changed":
            return [event(SYSTEM, f"language {payload.get('language')} (was {payload.get('previous')})")]
        return []  # results saved, variables set, subflows entered...: the history has them
    if row.type == "delivered":
        count = int(payload.get("messages", 0))
        return [event(DELIVERED, f"{count} message{'' if count == 1 else 's'}", f"via {payload.get('channel')}")]
    if row.type == "undeliverable":
        return [event(ERROR, f"not delivered on {payload.get('channel')}: {payload.get('error', '')}", "undeliverable")]
    if row.type in TRANSCRIBED_RUNTIME:
        text = f"{row.type.replace('_', ' ')} {_brief(payload)}".rstrip()
        return [event(SYSTEM, text, lines=(f"system: {text}",))]
    return [event(SYSTEM, f"{row.type.replace('_', ' ')} {_brief(payload)}".rstrip())]


def _output_events(output: out.Output, event: MakeEvent) -> list[PathEvent]:
    said = tuple(output_lines(output))
    if isinstance(output, out.Say):
        return [event(PROMPT, output.text, "", said)]
    if isinstance(output, out.Play):
        return [event(PROMPT, output.text or "", output.audio, said)]
    if isinstance(output, out.Gather):
        prompts = [found for prompt in output.prompts for found in _output_events(prompt, event)]
        heard = sum(len(prompt.lines) for prompt in prompts)
        return [*prompts, event(LISTENING, "/".join(output.modes), f"{output.timeout:g}s, attempt {output.attempt}",
                                said[heard:])]
    if isinstance(output, out.Record):
        return [event(LISTENING, "recording", f"up to {output.max_seconds}s{', beep' if output.beep else ''}", said)]
    if isinstance(output, out.Send):
        body = f"[template {output.template.get('name')}] {output.text}".strip() if output.template else output.text
        extras = [line.strip() for line in said[1:]]  # buttons, list rows, media: one line each
        where = f"{output.channel} to {output.to}" if output.to else output.channel
        return [event(MESSAGE, " ".join([body, *extras]).strip(), where, said)]
    if isinstance(output, out.SwitchChannel):
        return [event(SWITCH, f"{output.previous} → {output.channel}", "", said)]
    if isinstance(output, out.HttpRequest):
        return [event(SYSTEM, f"{output.method} {output.url}", "webhook", said)]
    if isinstance(output, out.Transfer):
        return [event(SYSTEM, f"transfer to {output.target_kind} {output.target}", "", said)]
    if isinstance(output, out.Hangup):
        return [event(SYSTEM, f"hang up ({output.reason})", "", said)]
    if isinstance(output, out.OptOut):
        return [event(SYSTEM, f"opted out of {', '.join(output.channels)}", output.reason or "", said)]
    return [event(SYSTEM, str(output.to_dict()), "", said)]


def _input_event(given: Input, trigger: bool, event: MakeEvent) -> PathEvent:
    heard = (input_line(given),)
    kind = given.kind
    if kind is InputKind.DIGITS:
        return event(KEYS, given.value, "", heard)
    if kind is InputKind.TEXT:
        return event(REPLY, given.value, "started the session" if trigger else "", heard)
    if kind is InputKind.SPEECH:
        return event(SPEECH, given.value, f"{given.confidence or 0:.0%}", heard)
    if kind is InputKind.RECORDING:
        return event(RECORDING, str(given.data.get("transcript") or ""), f"{given.data.get('duration', 0):g}s", heard)
    if kind is InputKind.NO_INPUT:
        return event(NO_INPUT, "no input", "", heard)
    if kind is InputKind.TIMEOUT:
        return event(NO_INPUT, "no reply before the timeout", "", heard)
    if kind is InputKind.HANGUP:
        return event(HANGUP, "hung up", given.value, heard)
    if kind is InputKind.FACTS and "answered" in given.data:
        facts = given.data
        detail = ", ".join(str(facts[name]) for name in ("status", "cause", "amd") if facts.get(name))
        return event(CALL, "answered" if facts["answered"] else "not answered", detail, heard)
    if kind is InputKind.HTTP_RESPONSE:
        return event(SYSTEM, f"webhook answered {given.data.get('status')}", "", heard)
    if kind is InputKind.TRANSFER_RESULT:
        return event(SYSTEM, f"transfer {given.value}", "", heard)
    return event(SYSTEM, f"facts {given.data}", "", heard)


def _unreadable(row: SessionEvent) -> PathEvent:
    """A row the renderer could not rebuild: shown with its payload, as the transcript always did."""
    line = {EventKind.OUTPUT.value: f"system: {row.payload}", EventKind.INPUT.value: f"system: input {row.payload}"}
    kept = line.get(row.kind)
    return PathEvent(row.seq, row.at.isoformat(), row.channel, SYSTEM, f"{row.kind} {row.type}: {row.payload}", "",
                     (kept,) if kept else ())


def _brief(payload: dict[str, Any]) -> str:
    return ", ".join(f"{key} {value}" for key, value in payload.items()) if payload else ""
