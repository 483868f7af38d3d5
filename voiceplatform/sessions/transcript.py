"""A session's transcript, rendered from its ``session_events`` rows when it is read.

The history is stored as structured rows (an output's or input's ``to_dict()`` as the payload),
never as transcript strings: the lines here are made on the way out, with the engine's own
wording (voiceplatform.flow.transcript), so a change of wording changes every old session too and
nothing ever parses text back. An output or input the renderer cannot rebuild (a kind from a
newer engine, a payload written by hand) becomes a ``system:`` line with its payload, never an
error: the history must always be readable.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Iterable

from voiceplatform.flow import outputs as out
from voiceplatform.flow.inputs import Input
from voiceplatform.flow.transcript import input_line, output_lines
from voiceplatform.models.sessions import EventKind, SessionEvent

OUTPUT_CLASSES: dict[str, type[out.Output]] = {
    cls.kind: cls for cls in (out.Say, out.Play, out.Gather, out.Record, out.Send, out.HttpRequest, out.Transfer,
                              out.Hangup, out.OptOut, out.SwitchChannel)}


@dataclass(frozen=True, slots=True)
class TranscriptLine:
    seq: int  # the history row it was rendered from
    at: str
    channel: str
    line: str

    def to_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "at": self.at, "channel": self.channel, "line": self.line}


def output_from_payload(payload: dict[str, Any]) -> out.Output | None:
    """The Output a history row recorded (``Output.to_dict()`` read back), or None."""
    cls = OUTPUT_CLASSES.get(str(payload.get("kind")))
    if cls is None:
        return None
    try:
        return cls(**_fields(cls, payload))
    except (TypeError, ValueError, KeyError, AttributeError):
        return None


def lines(events: Iterable[SessionEvent]) -> list[TranscriptLine]:
    """What the contact heard or read and what they answered, in order. Engine events and what
    the runtime did (delivered, suppressed...) are not transcript lines; the history has them.
    A trigger input (the message that started the session) is a line like any reply."""
    rendered: list[TranscriptLine] = []
    for event in events:
        if event.kind == EventKind.OUTPUT.value:
            output = output_from_payload(event.payload)
            texts = output_lines(output) if output is not None else [f"system: {event.payload}"]
        elif event.kind == EventKind.INPUT.value:
            try:
                texts = [input_line(Input.from_dict(event.payload))]
            except (TypeError, ValueError, KeyError, AttributeError):
                texts = [f"system: input {event.payload}"]
        elif event.kind == EventKind.RUNTIME.value and event.type in ("opted_out", "expired", "suppressed"):
            texts = [f"system: {event.type.replace('_', ' ')} {_brief(event.payload)}".rstrip()]
        else:
            continue
        rendered += [TranscriptLine(event.seq, event.at.isoformat(), event.channel, text) for text in texts]
    return rendered


def _brief(payload: dict[str, Any]) -> str:
    return ", ".join(f"{key} {value}" for key, value in payload.items()) if payload else ""


def _fields(cls: type[Any], payload: dict[str, Any]) -> dict[str, Any]:
    """The dataclass's own fields from ``payload`` (unknown keys ignored), lists back to tuples
    and nested prompts, choices and buttons back to their classes."""
    known = {f.name for f in dataclasses.fields(cls)}
    values: dict[str, Any] = {}
    for name, value in payload.items():
        if name not in known:
            continue
        if name == "prompts":
            value = tuple(p for p in (output_from_payload(item) for item in value)
                          if isinstance(p, (out.Say, out.Play)))
        elif name == "choices":
            value = tuple(out.ChoiceOption(**{**_fields(out.ChoiceOption, c)}) for c in value)
        elif name in ("buttons", "list_rows"):
            value = tuple(out.Button(**_fields(out.Button, b)) for b in value)
        elif isinstance(value, list):
            value = tuple(value)
        values[name] = value
    return values
