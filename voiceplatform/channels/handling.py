"""What every channel does alike with a step the engine made, once, for every runtime: the stored
sessions' runner (SMS, WhatsApp, the dev channel and the bridges to come), a live call's voice
runner and the simulator.

:func:`handle_step` writes the step's history and walks its outputs in order:

* a ``send``: suppressed (a ``suppressed`` history row) when it is for the session's contact on a
  channel the contact opted out of outside this session; else handed to the runtime, which
  delivers it through the target channel's driver;
* ``switch_channel``: handed to the runtime (the same session goes on on the other channel's
  driver);
* ``opt_out``: handed to the runtime, which applies it to the contact; when that changed
  anything, an ``opted_out`` history row;
* ``http_request``: collected; the runtime performs the webhook when it may (a live call at once,
  a stored session after its transaction commits) with :func:`perform_webhook`, and resumes the
  session with the answer;
* anything else (say, play, gather, record, transfer, hangup, or a message for the channel the
  session is on) is the channel's own: handed to :meth:`SessionRuntime.channel_output`, which
  may answer with the input it produced (a gather's digits).

A runtime implements :class:`SessionRuntime`; a new channel that stores and resumes sessions
needs none (the stored sessions' runner is one), and a new live channel gives its call control as
``channel_output``. Pure: this module imports only the engine, so the simulator uses it with no
database, no sockets and no gevent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Protocol, Sequence

from voiceplatform.flow import Input, Step
from voiceplatform.flow import outputs as out

#: One history entry: (kind, type, payload); kind is input, event, output or runtime, as a
#: ``session_events`` row has it (voiceplatform.models.sessions.EventKind).
HistoryEntry = tuple[str, str, dict[str, Any]]

#: Performs one webhook: the input to resume with, and an error description (None when the
#: server answered). voiceplatform.switches.http_client.perform applies the outbound-HTTP policy.
PerformHttp = Callable[[out.HttpRequest], tuple[Input, str | None]]


class SessionRuntime(Protocol):
    """What the runtime around one session gives the shared handling."""

    def write_history(self, entries: Sequence[HistoryEntry]) -> None:
        """Keep these history entries, in order, after the session's others."""

    def opted_out(self, channel: str) -> bool:
        """Whether the session's contact takes no messages on engine channel ``channel``."""

    def send(self, send: out.Send) -> None:
        """Deliver ``send`` through its channel's driver."""

    def switch_channel(self, switch: out.SwitchChannel, step: Step) -> None:
        """The session goes on on ``switch.channel``'s driver (``step`` holds its state)."""

    def opt_out(self, channels: tuple[str, ...]) -> bool:
        """Apply the contact's opt-out of ``channels``; whether that changed anything."""

    def channel_output(self, output: out.Output) -> Input | None:
        """An output of the session's own channel; the input it produced, if any."""


@dataclass(frozen=True, slots=True)
class Handled:
    """What :func:`handle_step` leaves to its caller: the input the channel itself produced (a
    gather's answer; None when there is none) and the webhooks the step asked for, in order (the
    engine waits after each, so the session resumes with the answer to the last)."""

    given: Input | None
    requests: tuple[out.HttpRequest, ...]


def step_history(step: Step, given: Input | None = None) -> list[HistoryEntry]:
    """The input that made ``step`` (if given), its engine events, then its outputs."""
    entries: list[HistoryEntry] = [("input", given.kind.value, given.to_dict())] if given is not None else []
    entries += [("event", event.kind, event.to_dict()) for event in step.events]
    entries += [("output", output.kind, output.to_dict()) for output in step.outputs]
    return entries


def handle_step(step: Step, runtime: SessionRuntime, given: Input | None = None) -> Handled:
    """Write ``step``'s history (after ``given``, the input that made it, when the runtime has not
    written that itself) and handle its outputs in order (see the module's docstring)."""
    runtime.write_history(step_history(step, given))
    answer: Input | None = None
    requests: list[out.HttpRequest] = []
    for output in step.outputs:
        if isinstance(output, out.HttpRequest):
            requests.append(output)
        elif isinstance(output, out.Send):
            if output.to is None and runtime.opted_out(output.channel):
                runtime.write_history([("runtime", "suppressed", {"channel": output.channel, "reason": "opted_out"})])
                continue
            runtime.send(output)
        elif isinstance(output, out.SwitchChannel):
            runtime.switch_channel(output, step)
        elif isinstance(output, out.OptOut):
            if runtime.opt_out(output.channels):
                runtime.write_history([("runtime", "opted_out", {"channels": list(output.channels)})])
        else:
            produced = runtime.channel_output(output)
            if produced is not None:
                answer = produced
    return Handled(answer, tuple(requests))


def perform_webhook(request: out.HttpRequest, perform: PerformHttp) -> tuple[Input, str | None]:
    """Perform ``request`` with ``perform``: the input to resume the session with (a failure's
    description kept in its data as ``error``, so the history says why) and that description."""
    given, error = perform(request)
    if error:
        given = Input(given.kind, given.value, given.confidence, {**given.data, "error": error})
    return given, error
