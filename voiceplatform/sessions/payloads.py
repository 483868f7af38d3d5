"""A history row's payload read back as the engine object it recorded: an ``Output.to_dict()``
as its Output, an ``Input.to_dict()`` as its Input (voiceplatform.sessions.transcript renders
them). Structured data in, structured data out: nothing here reads text.

A payload that does not rebuild (a kind from a newer engine, a field of the wrong type, a row
written by hand) gives None, never an error: the caller shows it as it is.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from voiceplatform.flow import outputs as out
from voiceplatform.flow.inputs import Input

OUTPUT_CLASSES: dict[str, type[out.Output]] = {
    cls.kind: cls for cls in (out.Say, out.Play, out.Gather, out.Record, out.Send, out.HttpRequest, out.Transfer,
                              out.Hangup, out.OptOut, out.SwitchChannel)}
UNREADABLE = (TypeError, ValueError, KeyError, AttributeError)  # what a malformed payload raises on the way back


def output_from_payload(payload: Any) -> out.Output | None:
    """The Output a history row recorded (``Output.to_dict()`` read back), or None."""
    if not isinstance(payload, dict):
        return None
    cls = OUTPUT_CLASSES.get(str(payload.get("kind")))
    if cls is None:
        return None
    try:
        return cls(**_fields(cls, payload))
    except UNREADABLE:
        return None


def input_from_payload(payload: Any) -> Input | None:
    """The Input a history row recorded (``Input.to_dict()`` read back), or None."""
    if not isinstance(payload, dict):
        return None
    try:
        given = Input.from_dict(payload)
    except UNREADABLE:
        return None
    if not isinstance(given.value, str) or not isinstance(given.data, dict):
        return None
    if given.confidence is not None and not isinstance(given.confidence, (int, float)):
        return None
    return given


def _fields(cls: type[Any], payload: dict[str, Any]) -> dict[str, Any]:
    """The dataclass's own fields from ``payload`` (unknown keys ignored), lists back to tuples
    and nested prompts, choices and buttons back to their classes."""
    known = {f.name for f in dataclasses.fields(cls)}
    values: dict[str, Any] = {}
    for name, value in payload.items():
        if name not in known:
            continue
        if name == "prompts":  # nested by asdict(), so without their kind: a Play has audio
            value = tuple(p for p in (output_from_payload({"kind": _prompt_kind(item), **item}) for item in value)
                          if isinstance(p, (out.Say, out.Play)))
        elif name == "choices":
            value = tuple(out.ChoiceOption(**_fields(out.ChoiceOption, c)) for c in value)
        elif name in ("buttons", "list_rows"):
            value = tuple(out.Button(**_fields(out.Button, b)) for b in value)
        elif isinstance(value, list):
            value = tuple(value)
        values[name] = value
    return values


def _prompt_kind(item: dict[str, Any]) -> str:
    return str(item.get("kind") or (out.Play.kind if "audio" in item else out.Say.kind))
