"""The session state: plain JSON, versioned, resumable hours later on another machine."""

from __future__ import annotations

import json
from enum import Enum
from typing import Any

from voiceplatform.exceptions import StateError

STATE_VERSION = 1


class SessionStatus(str, Enum):
    WAITING = "waiting"  # stopped for input: resume() with one of wait.accepts
    COMPLETED = "completed"  # reached the end of the flow
    INTERRUPTED = "interrupted"  # the contact hung up, or never answered, with no handler
    FAILED = "failed"  # a fatal problem (see the failure event)


ENDED = frozenset({SessionStatus.COMPLETED, SessionStatus.INTERRUPTED, SessionStatus.FAILED})


def new_state(
    *,
    session_id: str,
    flow: str,
    channel: str,
    contact: dict[str, Any],
    language: str,
    now_iso: str,
) -> dict[str, Any]:
    return {
        "v": STATE_VERSION,
        "session": session_id,
        "flow": flow,
        "current_flow": flow,
        "channel": channel,
        "live": True,
        "status": SessionStatus.WAITING.value,
        "end_reason": None,
        "node": None,
        "attempt": 0,
        "wait": None,
        "stack": [],
        "contact": dict(contact),
        "results": {},
        "vars": {},
        "call": {},
        "message": {},
        "language": language,
        "started_at": now_iso,
        "updated_at": now_iso,
        "steps": 0,
    }


_MIGRATIONS: dict[int, Any] = {}  # version -> function(state) -> state of version + 1


def load_state(raw: dict[str, Any] | str | bytes) -> dict[str, Any]:
    """Read a stored state (a dict or its JSON), migrating older versions. Returns a new dict."""
    if isinstance(raw, (str, bytes)):
        try:
            raw = json.loads(raw)
        except ValueError as exc:
            raise StateError(f"state is not valid JSON: {exc}") from exc
    if not isinstance(raw, dict):
        raise StateError("state must be a JSON object")
    version = raw.get("v")
    if not isinstance(version, int):
        raise StateError("state has no version ('v')")
    if version > STATE_VERSION:
        raise StateError(f"state version {version} is newer than this engine ({STATE_VERSION})")
    state = raw
    while state["v"] < STATE_VERSION:
        migrate = _MIGRATIONS.get(state["v"])
        if migrate is None:
            raise StateError(f"no migration from state version {state['v']}")
        state = migrate(state)
    for key in ("session", "flow", "current_flow", "channel", "status", "results", "vars"):
        if key not in state:
            raise StateError(f"state is missing {key!r}")
    return _copy(state)


def _copy(state: dict[str, Any]) -> dict[str, Any]:
    """A copy deep enough that the engine never mutates the caller's dict."""
    out = dict(state)
    for key in ("contact", "results", "vars", "call", "message"):
        out[key] = dict(state.get(key) or {})
    out["stack"] = [dict(frame) for frame in state.get("stack") or ()]
    out["wait"] = dict(state["wait"]) if state.get("wait") else None
    return out


def dump_state(state: dict[str, Any]) -> str:
    return json.dumps(state, separators=(",", ":"), ensure_ascii=False)
