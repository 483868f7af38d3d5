"""The simulator: runs a flow with scripted or typed inputs, no telephony or messaging needed.

It is a driver like the others, at the edge: it reads inputs as short strings and answers the
engine's requests itself (webhooks get a stub 200 reply unless told otherwise, transfers
complete, recordings are described in words).

Input strings:
  1, 123#           digits on a call (text on messaging)
  yes please        speech on a call, a message on messaging, a recording's words at a record
  (empty), no_input silence
  digits:1  text:hi  speech:yes@0.8  recording:12.5[:words]  timeout  hangup
  http:200[:BODY]  transfer:busy  answered  no-answer  machine  facts:key=value,key=value
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator

from voiceplatform.exceptions import InvalidInputError
from voiceplatform.flow import Channel, Flow, Input, Step, resume, start
from voiceplatform.flow.matching import ascii_digits
from voiceplatform.flow.outputs import HttpRequest, OptOut

# Keys on a call; Arabic-Indic (٠-٩) and Extended Arabic-Indic (۰-۹) digits typed at the
# simulator are key presses too (as 0-9), like the DTMF a handset sends.
_DIGITS = re.compile(r"^[0-9\u0660-\u0669\u06f0-\u06f9*#]+$")


class ScriptedInputRefused(InvalidInputError):
    """A scripted input the session was not waiting for: which one (1-based) and what it was."""

    def __init__(self, position: int, raw: str, reason: str) -> None:
        self.position = position
        self.raw = raw
        super().__init__(f"scripted input {position} ({raw!r}) was not accepted: {reason}")


def parse_input(raw: str, wait: dict[str, Any] | None, channel: str) -> Input:
    """Read one input string for a session waiting on ``wait`` (see the module docstring)."""
    text = raw.strip()
    lowered = text.lower()
    kind = (wait or {}).get("kind")
    if lowered in ("", "no_input", "silence"):
        return Input.timeout() if kind in ("http", "reply") else Input.no_input()
    if lowered == "hangup":
        return Input.hangup("normal")
    if lowered == "timeout":
        return Input.timeout()
    if lowered == "answered":
        return Input.facts(answered=True)
    if lowered in ("no-answer", "no_answer"):
        return Input.facts(answered=False, status="no-answer")
    if lowered == "machine":
        return Input.facts(answered=True, amd="machine")
    prefix, _, rest = text.partition(":")
    prefix = prefix.lower()
    if prefix in ("digits", "dtmf"):
        return Input.digits(rest)
    if prefix == "text":
        return Input.text(rest)
    if prefix == "speech":
        words, _, confidence = rest.rpartition("@") if "@" in rest else (rest, "", "")
        return Input.speech(words, float(confidence) if confidence else 1.0)
    if prefix == "recording":
        seconds, _, words = rest.partition(":")
        return Input.recording("media/recordings/simulated.wav", float(seconds or 0), words or None)
    if prefix == "http" and rest:
        status, _, body = rest.partition(":")
        return Input.http_response(int(status), body)
    if prefix == "transfer":
        return Input.transfer_result(rest or "completed")
    if prefix == "facts":
        return Input.facts(**_facts(rest))
    if kind == "record":
        return Input.recording("media/recordings/simulated.wav", round(1.0 + 0.4 * len(text.split()), 1), text)
    if kind == "http":
        return Input.http_response(200, text)
    if kind == "transfer":
        return Input.transfer_result(text)
    if channel == Channel.VOICE.value:
        return Input.digits(ascii_digits(text)) if _DIGITS.match(text) else Input.speech(text, 1.0)
    return Input.text(text)


def _facts(raw: str) -> dict[str, Any]:
    facts: dict[str, Any] = {}
    for pair in filter(None, raw.split(",")):
        key, _, value = pair.partition("=")
        facts[key.strip()] = {"true": True, "false": False}.get(value.strip().lower(), value.strip())
    return facts


@dataclass
class Exchange:
    """One turn: the input given (None at the start) and the step it produced."""

    given: Input | None
    step: Step


@dataclass
class Simulation:
    flow: Flow
    contact: dict[str, Any]
    channel: str
    exchanges: list[Exchange] = field(default_factory=list)
    unused: list[str] = field(default_factory=list)  # scripted inputs left when the session ended
    # The simulator is the runtime here: it applies OptOut outputs to its copy of the contact's
    # channels, as the database sink does for real contacts (voiceplatform.contacts.opt_out).
    opted_out: list[str] = field(default_factory=list)

    @property
    def last(self) -> Step:
        return self.exchanges[-1].step


def auto_answer(step: Step, pending: list[str]) -> Input | None:
    """What the simulator answers by itself: a stub HTTP reply, a completed transfer, an answered
    call. Returns None when the contact must answer. ``pending`` is left alone when the next
    scripted input is meant for this wait (``http:``, ``transfer:``...)."""
    wait = step.wait or {}
    kind = wait.get("kind")
    upcoming = pending[0].lower() if pending else ""
    if kind == "http" and not upcoming.startswith(("http:", "timeout")):
        request = next((o for o in reversed(step.outputs) if isinstance(o, HttpRequest)), None)
        body = json.dumps({"ok": True, "stub": True, "url": request.url if request else ""})
        return Input.http_response(200, body, {"Content-Type": "application/json"})
    if kind == "transfer" and not upcoming.startswith("transfer:"):
        return Input.transfer_result("completed")
    if kind == "call" and upcoming not in ("answered", "no-answer", "no_answer") and not upcoming.startswith("facts:"):
        return Input.facts(answered=True)
    return None


def simulate(
    flow: Flow,
    contact: dict[str, Any],
    channel: str,
    inputs: Iterable[str],
    *,
    facts: dict[str, Any] | None = None,
    ask: Callable[[Step], str | None] | None = None,
    _exchanges: list[Exchange] | None = None,
    **engine_options: Any,
) -> Simulation:
    """Run ``flow`` to its end, or until inputs run out. ``ask`` is called for more input when the
    scripted ones are used up (interactive mode); returning None stops."""
    simulation = Simulation(flow, contact, channel, _exchanges if _exchanges is not None else [])
    step = start(flow, contact, channel, facts=facts, **_start_options(engine_options))
    _record(simulation, Exchange(None, step))
    pending = list(inputs)
    answered = 0  # inputs given by the script or the terminal (automatic answers not counted)
    for raw, given in _inputs(simulation, pending, ask):
        answered += raw is not None
        try:
            step = resume(flow, step.state, given, **_resume_options(engine_options))
        except InvalidInputError as exc:
            raise ScriptedInputRefused(answered, raw if raw is not None else given.kind.value, str(exc)) from exc
        _record(simulation, Exchange(given, step))
    simulation.unused = pending
    return simulation


def _record(simulation: Simulation, exchange: Exchange) -> None:
    simulation.exchanges.append(exchange)
    for output in exchange.step.outputs:
        if isinstance(output, OptOut):
            simulation.opted_out.extend(c for c in output.channels if c not in simulation.opted_out)


def _inputs(
    simulation: Simulation, pending: list[str], ask: Callable[[Step], str | None] | None
) -> Iterator[tuple[str | None, Input]]:
    """(the scripted or typed string, or None for an automatic answer; the input)."""
    while not simulation.last.ended:
        step = simulation.last
        automatic = auto_answer(step, pending)
        if automatic is not None:
            yield None, automatic
            continue
        if pending:
            raw: str | None = pending.pop(0)
        elif ask is not None:
            raw = ask(step)
        else:
            raw = None
        if raw is None:
            return
        yield raw, parse_input(raw, step.wait, step.channel)


def _start_options(options: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in options.items() if k in ("now", "session_id", "language", "limits")}


def _resume_options(options: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in options.items() if k in ("now", "limits")}
