"""The runtime of one start() or resume(): what nodes read and write while the engine steps.

A Run wraps the session state (a plain dict that is the stored JSON), collects outputs and events,
and renders templates against the session's data. It is created and thrown away by the engine on
every call, so it holds nothing between resumes.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Mapping

from voiceplatform.flow import events as ev
from voiceplatform.flow.channels import Channel
from voiceplatform.flow.limits import Limits
from voiceplatform.flow.outputs import Output, Send
from voiceplatform.flow.render import ChannelLimits, Renderer, renderer_for
from voiceplatform.flow.results import Fields, ResultsView, plain
from voiceplatform.flow.state import SessionStatus
from voiceplatform.flow.template_functions import local_now
from voiceplatform.flow.templates import TemplateFailure, evaluate, render

if TYPE_CHECKING:
    from voiceplatform.flow.flow import Flow
    from voiceplatform.flow.nodes.base import NodeBase, Text


class Run:
    __slots__ = (
        "root", "flow", "state", "now", "limits", "channel_limits", "channel", "live", "outputs", "events",
        "steps", "node_id", "_context", "_now_iso",
    )

    def __init__(self, root: Flow, state: dict[str, Any], now: datetime, limits: Limits,
                 channel_limits: Mapping[Channel, ChannelLimits] | None = None) -> None:
        self.root = root
        self.state = state
        self.now = now
        self.limits = limits
        self.channel_limits: Mapping[Channel, ChannelLimits] = channel_limits or {}
        self.flow = root.resolve(state["current_flow"])
        self.channel = Channel(state["channel"])
        self.live: bool = state.get("live", True)
        self.outputs: list[Output] = []
        self.events: list[ev.Event] = []
        self.steps = 0
        self.node_id: str | None = state.get("node")
        self._context: dict[str, Any] | None = None
        self._now_iso: str | None = None

    # ---- time and data ----------------------------------------------------------------

    @property
    def now_iso(self) -> str:
        if self._now_iso is None:
            self._now_iso = self.now.isoformat()
        return self._now_iso

    @property
    def language(self) -> str:
        return self.state["language"]

    @property
    def renderer(self) -> Renderer:
        """The renderer of the session's current channel, with the limits the driver gave for it
        (else the channel's standard ones)."""
        return renderer_for(self.channel, self.channel_limits.get(self.channel))

    @property
    def context(self) -> dict[str, Any]:
        """The template context. Built once per run; it wraps the live dicts, so it stays current."""
        if self._context is None:
            state = self.state
            self._context = {
                "contact": Fields(state["contact"]),
                "results": ResultsView(state["results"]),
                "vars": Fields(state["vars"]),
                "call": Fields(state["call"]),
                "message": Fields(state["message"]),
                "session": Fields(self._session_facts()),
            }
            local = local_now(self.now, state["contact"].get("timezone"), self.root.definition.timezone)
            self._context["now"] = local  # the driver's clock, never the system's: see template_functions
            self._context["today"] = local.date()
        return self._context

    def _session_facts(self) -> dict[str, Any]:
        return {
            "id": self.state["session"],
            "channel": self.channel.value,
            "language": self.language,
            "flow": self.flow.name,
            "opted_out": list(self.state.get("opted_out") or ()),
        }

    def text(self, value: Text | None, extra: dict[str, Any] | None = None) -> str:
        """Render a text field for the current channel. Problems become error events."""
        if value is None:
            return ""
        if isinstance(value, dict):
            value = value.get(self.channel.value, value.get("default", ""))
        context = self.context if extra is None else {**self.context, **extra}
        try:
            out, missed = render(value, context)
        except TemplateFailure as exc:
            self.error("template_error", str(exc))
            return ""
        if missed:
            self.error("undefined_variable", "undefined in template: " + ", ".join(map(str, missed)))
        return out.strip()

    def value(self, raw: Any, extra: dict[str, Any] | None = None) -> Any:
        """Render a value of a set/save mapping: strings are templates, anything else is kept."""
        if isinstance(raw, str):
            return self.text(raw, extra)
        return raw

    def condition(self, expression: str, extra: dict[str, Any] | None = None) -> bool:
        return bool(self.expression(expression, extra))

    def expression(self, expression: str, extra: dict[str, Any] | None = None) -> Any:
        """Evaluate an expression to a plain JSON value. Problems become error events (None)."""
        context = self.context if extra is None else {**self.context, **extra}
        try:
            return plain(evaluate(expression, context))
        except TemplateFailure as exc:
            self.error("expression_error", str(exc))
            return None

    def prompt(self, prompt_id: str, language: str | None = None) -> tuple[str, str | None]:
        """The text and audio of a catalogue prompt in ``language`` (default: the session's),
        rendered. A missing one is an error event."""
        language = language or self.language
        entry = self.flow.prompts.lookup(language, prompt_id)
        if entry is None:
            self.error("missing_prompt", f"prompt {prompt_id!r} is not in the {language} catalogue")
            return "", None
        return self.text(entry.text), entry.audio

    # ---- effects -----------------------------------------------------------------------

    def emit(self, output: Output) -> None:
        if type(output) is Send:
            if output.to is None and self.opted_out(output.channel):  # a message to the contact
                self.events.append(ev.MessageSuppressed(self.node_id, output.channel, "opted_out"))
                return
            if output.language is None:
                # The Send was built by a node a moment ago and is not shared: set its language in
                # place (dataclasses.replace costs ~15 us a resume, a sixth of the resume budget).
                object.__setattr__(output, "language", self.language)
        self.outputs.append(output)

    def event(self, event: ev.Event) -> None:
        self.events.append(event)

    def error(self, code: str, message: str) -> None:
        self.events.append(ev.ErrorEvent(code, message, self.node_id))

    def save_result(
        self,
        name: str,
        value: Any,
        *,
        label: str | None = None,
        input: str | None = None,
        confidence: float | None = None,
        **details: Any,
    ) -> None:
        results = self.state["results"]
        if name not in results and len(results) >= self.limits.max_results:
            self.error("too_many_results", f"result {name!r} not saved: limit {self.limits.max_results}")
            return
        entry: dict[str, Any] = {"value": value, "node": self.node_id, "channel": self.channel.value}
        if label is not None:
            entry["label"] = label
        if input is not None:
            entry["input"] = input
        if confidence is not None:
            entry["confidence"] = confidence
        entry.update(details)
        entry["at"] = self.now_iso
        results[name] = entry
        self.events.append(ev.ResultSaved(self.node_id or "", name, value, label))

    def set_var(self, name: str, value: Any) -> None:
        self.state["vars"][name] = value
        self.events.append(ev.VarSet(self.node_id or "", name, value))

    # ---- session control ---------------------------------------------------------------

    def visited_too_often(self, node: NodeBase) -> bool:
        """Count a visit of a node with ``max_visits``; True once it is past the limit. The
        counts are a new dict each time, so the caller's state is never mutated."""
        key = f"{self.flow.name}:{node.id}"
        visits = dict(self.state.get("visits") or {})
        visits[key] = count = visits.get(key, 0) + 1
        self.state["visits"] = visits
        return node.max_visits is not None and count > node.max_visits

    def enter_node(self, node: NodeBase) -> None:
        self.node_id = node.id
        state = self.state
        state["node"] = node.id
        state["attempt"] = 0
        state["steps"] += 1
        self.events.append(ev.NodeEntered(node.id, node.type_name, self.flow.name))

    def wait(self, kind: str, timeout: float | None) -> None:
        wait: dict[str, Any] = {"kind": kind, "node": self.node_id}
        if timeout is not None:
            wait["timeout"] = timeout
            wait["expires_at"] = (self.now + timedelta(seconds=timeout)).isoformat()
        self.state["wait"] = wait
        self.state["status"] = SessionStatus.WAITING.value

    def clear_wait(self) -> None:
        self.state["wait"] = None

    def switch_channel(self, channel: Channel) -> None:
        previous = self.channel
        self.channel = channel
        self.state["channel"] = channel.value
        self.live = channel.is_messaging
        self.state["live"] = self.live
        if self._context is not None:
            self._context["session"] = Fields(self._session_facts())
        self.events.append(ev.ChannelChanged(channel.value, previous.value))

    def set_language(self, language: str) -> None:
        """Switch the session's language: the prompts' catalogue, the engine's phrases, and the
        ``language`` every later Say and Send carries (so the voice, the STT model and the SMS
        encoding follow)."""
        previous = self.language
        if language == previous:
            return
        self.state["language"] = language
        if self._context is not None:
            self._context["session"] = Fields(self._session_facts())
        self.events.append(ev.LanguageChanged(language, previous))

    def opted_out(self, channel: str) -> bool:
        """Whether the contact opted out of ``channel`` earlier in this session."""
        out = self.state.get("opted_out") or ()
        return channel in out or "all" in out

    def opt_out(self, channels: tuple[str, ...]) -> None:
        current = list(self.state.get("opted_out") or ())
        self.state["opted_out"] = current + [c for c in channels if c not in current]
        if self._context is not None:
            self._context["session"] = Fields(self._session_facts())
        self.events.append(ev.OptedOut(self.node_id or "", channels))

    def go_offline(self) -> None:
        self.live = False
        self.state["live"] = False

    def enter_flow(self, child: Flow, return_node: str) -> None:
        self.state["stack"].append({"flow": self.flow.name, "node": return_node})
        self.flow = child
        self.state["current_flow"] = child.name
        if self._context is not None:
            self._context["session"] = Fields(self._session_facts())
        self.events.append(ev.FlowEntered(child.name, len(self.state["stack"])))

    def exit_flow(self) -> NodeBase:
        """Return to the parent flow; gives the subflow node to continue from."""
        frame = self.state["stack"].pop()
        self.events.append(ev.FlowExited(self.flow.name, len(self.state["stack"]) + 1))
        self.flow = self.root.resolve(frame["flow"])
        self.state["current_flow"] = self.flow.name
        self.node_id = frame["node"]
        if self._context is not None:
            self._context["session"] = Fields(self._session_facts())
        return self.flow.nodes[frame["node"]]

    def finish(self, status: SessionStatus, reason: str) -> None:
        state = self.state
        state["status"] = status.value
        state["end_reason"] = reason
        state["wait"] = None
        self.events.append(ev.SessionEnded(status.value))

    def fail(self, code: str, message: str) -> None:
        self.events.append(ev.FailureEvent(code, message, self.node_id))
        self.finish(SessionStatus.FAILED, code)
