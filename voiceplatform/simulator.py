"""The simulator: runs a flow with scripted or typed inputs, no telephony or messaging needed.

It is a driver like the others, at the edge (:class:`SimulatedChannel` implements the channel
contract, declaring itself per the channel it simulates: live on voice, store-and-resume on
messaging): it reads inputs as short strings and answers the engine's requests itself (webhooks
get a stub 200 reply unless told otherwise, transfers complete, recordings are described in
words). What every channel does alike with a step (its history, sends, ``switch_channel``,
opt-outs, webhooks) is the shared handling, voiceplatform.channels.handling; the simulator keeps
only reading inputs, and it needs no database.

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
from typing import Any, Callable, Iterable, Mapping, Sequence

from sqlalchemy.orm import Session

from voiceplatform.channels.contract import Capabilities, Delivery, InboundMessage
from voiceplatform.channels.handling import HistoryEntry, handle_step, perform_webhook
from voiceplatform.exceptions import ChannelNotSupportedError, InputRejectedError, InvalidInputError
from voiceplatform.flow import Channel, Flow, Input, Step, resume, start
from voiceplatform.flow import outputs as out
from voiceplatform.flow.matching import ascii_digits

SIMULATOR = "simulator"  # the transport name the simulated channel declares

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


class SimulatedChannel:
    """The simulator as a channel driver, for the engine channel it simulates: live on voice (a
    simulated call), store-and-resume on SMS and WhatsApp. ``deliver`` keeps each delivery in
    :attr:`outbox` (nothing is sent, no database is used); ``parse_inbound`` reads a typed or
    scripted input (``{"input": "1", "wait": <the session's wait>, "from": ..., "to": ...}``)."""

    def __init__(self, channel: str) -> None:
        try:
            engine = Channel(channel)
        except ValueError:
            raise ChannelNotSupportedError(f"unknown channel {channel!r}") from None
        self._capabilities = Capabilities(name=SIMULATOR, renders_as=engine, live=engine is Channel.VOICE)
        self.outbox: list[Delivery] = []

    @property
    def capabilities(self) -> Capabilities:
        return self._capabilities

    def deliver(self, db: Session, delivery: Delivery) -> int:
        self.outbox.append(delivery)
        return len(delivery.outputs)

    def parse_inbound(self, raw: Mapping[str, Any]) -> InboundMessage:
        if not isinstance(raw, Mapping):
            raise InputRejectedError("a simulated input is a mapping with an 'input' string")
        text, wait = raw.get("input"), raw.get("wait")
        if not isinstance(text, str):
            raise InputRejectedError("'input' must be a string", field="input")
        if wait is not None and not isinstance(wait, Mapping):
            raise InputRejectedError("'wait' must be the session's wait (a mapping)", field="wait")
        sender, ours = raw.get("from", ""), raw.get("to", "")
        if not isinstance(sender, str) or not isinstance(ours, str):
            raise InputRejectedError("'from' and 'to' must be strings")
        try:
            given = parse_input(text, dict(wait) if wait is not None else None, self.capabilities.renders_as.value)
        except ValueError as exc:
            raise InputRejectedError(f"input {text!r}: {exc}", field="input") from exc
        return InboundMessage(SIMULATOR, sender, ours, given, raw=dict(raw))


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
    history: list[HistoryEntry] = field(default_factory=list)  # as a stored session's rows would be

    @property
    def last(self) -> Step:
        return self.exchanges[-1].step


def stub_webhook(request: out.HttpRequest) -> tuple[Input, str | None]:
    """The simulator's webhook server: 200, a small JSON body naming the URL."""
    body = json.dumps({"ok": True, "stub": True, "url": request.url})
    return Input.http_response(200, body, {"Content-Type": "application/json"}), None


class _SimulatedSession:
    """The simulation's side of the shared handling (channels.handling.SessionRuntime). It also
    gives the answer the simulated switch or webhook server gives by itself, unless the next
    scripted input is meant for that wait (``http:``, ``timeout``, ``transfer:``, ``answered``...)."""

    def __init__(self, simulation: Simulation, pending: list[str]) -> None:
        self.simulation = simulation
        self.pending = pending
        self.driver = SimulatedChannel(simulation.channel)  # another one after a switch_channel

    def take(self, exchange: Exchange) -> Input | None:
        """Keep ``exchange``, handle its step; the automatic answer to it, if there is one."""
        self.simulation.exchanges.append(exchange)
        handled = handle_step(exchange.step, self, exchange.given)
        upcoming = self._upcoming()
        if handled.requests and not upcoming.startswith(("http:", "timeout")):
            return perform_webhook(handled.requests[-1], stub_webhook)[0]
        if handled.given is not None:
            return handled.given
        wait = exchange.step.wait or {}
        if wait.get("kind") == "call" and upcoming not in ("answered", "no-answer", "no_answer") \
                and not upcoming.startswith("facts:"):
            return Input.facts(answered=True)
        return None

    def _upcoming(self) -> str:
        return self.pending[0].lower() if self.pending else ""

    # ---- SessionRuntime --------------------------------------------------------------------------

    def write_history(self, entries: Sequence[HistoryEntry]) -> None:
        self.simulation.history.extend(entries)

    def opted_out(self, channel: str) -> bool:
        return channel in self.simulation.opted_out or "all" in self.simulation.opted_out

    def send(self, send: out.Send) -> None:
        pass  # shown in the transcript from the step's outputs; nothing is sent

    def switch_channel(self, switch: out.SwitchChannel, step: Step) -> None:
        self.driver = SimulatedChannel(switch.channel)  # the same session goes on on that channel

    def opt_out(self, channels: tuple[str, ...]) -> bool:
        new = [channel for channel in channels if channel not in self.simulation.opted_out]
        self.simulation.opted_out.extend(new)
        return bool(new)

    def channel_output(self, output: out.Output) -> Input | None:
        if isinstance(output, out.Transfer) and not self._upcoming().startswith("transfer:"):
            return Input.transfer_result("completed")  # the simulated switch completes transfers
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
    pending = list(inputs)
    session = _SimulatedSession(simulation, pending)
    step = start(flow, contact, session.driver.capabilities.renders_as.value, facts=facts,
                 **_start_options(engine_options))
    automatic = session.take(Exchange(None, step))
    answered = 0  # inputs given by the script or the terminal (automatic answers not counted)
    while not step.ended:
        raw: str | None = None
        if automatic is not None:
            given = automatic
        else:
            if pending:
                raw = pending.pop(0)
            elif ask is not None:
                raw = ask(step)
            if raw is None:
                break
            answered += 1
            try:
                given = session.driver.parse_inbound({"input": raw, "wait": step.wait}).input
            except InputRejectedError as exc:
                raise ScriptedInputRefused(answered, raw, str(exc)) from exc
        try:
            step = resume(flow, step.state, given, **_resume_options(engine_options))
        except InvalidInputError as exc:
            raise ScriptedInputRefused(answered, raw if raw is not None else given.kind.value, str(exc)) from exc
        automatic = session.take(Exchange(given, step))
    simulation.unused = pending
    return simulation


def _start_options(options: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in options.items() if k in ("now", "session_id", "language", "limits")}


def _resume_options(options: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in options.items() if k in ("now", "limits")}
