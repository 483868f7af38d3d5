"""The flow engine: pure, resumable, channel-agnostic.

    step = start(flow, contact, "voice")            # outputs to perform, the wait, the state
    step = resume(flow, step.state, Input.digits("1"))

No I/O happens here: a webhook emits an HttpRequest output and waits for Input.http_response. The
state is plain JSON and may be stored and resumed hours later on another machine.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Any, Mapping

from voiceplatform.exceptions import ChannelNotSupportedError, InvalidInputError, SessionEndedError, StateError
from voiceplatform.flow.channels import Channel
from voiceplatform.flow.events import InputReceived
from voiceplatform.flow.flow import Flow
from voiceplatform.flow.inputs import Input, InputKind
from voiceplatform.flow.limits import DEFAULT_LIMITS, Limits
from voiceplatform.flow.nodes.set_language import pick_language
from voiceplatform.flow.nodes.base import Finish, Halt, Jump, NodeBase, Outcome, Wait
from voiceplatform.flow.outputs import Hangup
from voiceplatform.flow.render import ChannelLimits
from voiceplatform.flow.run import Run
from voiceplatform.flow.state import ENDED, SessionStatus, load_state, new_state
from voiceplatform.flow.step import Step

_ALWAYS_ACCEPTED = frozenset({InputKind.HANGUP, InputKind.FACTS})


def start(
    flow: Flow,
    contact: dict[str, Any],
    channel: Channel | str,
    *,
    facts: dict[str, Any] | None = None,
    now: datetime | None = None,
    session_id: str | None = None,
    language: str | None = None,
    limits: Limits = DEFAULT_LIMITS,
    channel_limits: Mapping[Channel, ChannelLimits] | None = None,
) -> Step:
    """Start a session of ``flow`` with ``contact`` on ``channel``.

    ``facts`` are channel facts known at the start (``answered``, ``amd``...). A voice session
    whose call was not answered (``answered=False``) starts at ``on.no_answer``, or ends at once;
    one answered by a machine (``amd="machine"``) starts at ``on.machine`` when the flow has it.

    ``channel_limits`` gives a channel's limits where a driver's differ from the standard ones
    (``voiceplatform.flow.render``); they are not stored in the state, so give them to every
    ``resume`` as well.
    """
    try:
        channel = Channel(channel)
    except ValueError:
        raise ChannelNotSupportedError(f"unknown channel {channel!r}") from None
    if channel not in flow.channels:
        raise ChannelNotSupportedError(f"flow {flow.name!r} does not run on {channel.value}")
    now = now or datetime.now(timezone.utc)
    language = pick_language(language, flow.definition.all_languages) if language else None  # ar-SA -> ar
    if language is None:
        language = flow.language
    state = new_state(
        session_id=session_id or uuid.uuid4().hex,
        flow=flow.name,
        channel=channel.value,
        contact=contact,
        language=language,
        now_iso=now.isoformat(),
    )
    defaults = {name: param.default for name, param in flow.definition.params.items() if param.default is not None}
    state["vars"] = {**defaults, **flow.definition.vars}
    run = Run(flow, state, now, limits, channel_limits)
    entry: str | None = flow.start
    if facts:
        state["call"].update(facts)
        entry = _entry_for_facts(run, facts, flow.start)
        if entry is None:
            return _finish_step(run)
    _advance(run, entry)
    return _finish_step(run)


def resume(
    flow: Flow,
    state: dict[str, Any] | str | bytes,
    given: Input,
    *,
    now: datetime | None = None,
    limits: Limits = DEFAULT_LIMITS,
    channel_limits: Mapping[Channel, ChannelLimits] | None = None,
) -> Step:
    """Resume a waiting session with one input. Raises SessionEndedError for a session that has
    ended, InvalidInputError for an input the session is not waiting for, and StateError for a
    state that does not belong to ``flow``. ``channel_limits``: as for :func:`start`."""
    state = load_state(state)
    if state["flow"] != flow.name:
        raise StateError(f"state belongs to flow {state['flow']!r}, not {flow.name!r}")
    if SessionStatus(state["status"]) in ENDED:
        raise SessionEndedError(f"session {state['session']} has ended ({state['status']})")
    now = now or datetime.now(timezone.utc)
    run = Run(flow, state, now, limits, channel_limits)
    node_id = state.get("node")
    node = run.flow.node(node_id) if node_id else None
    kind = given.kind
    run.event(InputReceived(node_id, given.to_dict()))
    _note_message(run, given)
    if kind is InputKind.HANGUP:
        _hangup(run, given)
    elif kind is InputKind.FACTS and (node is None or kind not in node.accepts):
        state["call"].update(given.data)
        entry = _entry_for_facts(run, given.data, None)
        if entry is not None:
            run.clear_wait()
            _leave_subflows(run)  # handlers are nodes of the top-level flow
            _advance(run, entry)
    else:
        if node is None or state.get("wait") is None or kind not in node.accepts:
            waiting = state.get("wait", {}) or {}
            raise InvalidInputError(
                f"session is waiting for {waiting.get('kind', 'nothing')} at {node_id!r}; "
                f"{kind.value} is not accepted"
            )
        _follow(run, node, node.resume(run, given))
    state["updated_at"] = run.now_iso
    return _finish_step(run)


def _note_message(run: Run, given: Input) -> None:
    if given.kind in (InputKind.TEXT, InputKind.SPEECH, InputKind.DIGITS):
        run.state["message"] = {"text": given.value, "kind": given.kind.value, "channel": run.channel.value}


def _entry_for_facts(run: Run, facts: dict[str, Any], default: str | None) -> str | None:
    handlers = run.root.on
    if facts.get("answered") is False:
        run.go_offline()
        if handlers.no_answer is None:
            run.finish(SessionStatus.INTERRUPTED, "no_answer")
        return handlers.no_answer
    if str(facts.get("amd", "")).lower() == "machine" and handlers.machine is not None:
        return handlers.machine
    return default


def _hangup(run: Run, given: Input) -> None:
    run.state["call"]["hangup_cause"] = given.value or "normal"
    run.go_offline()
    run.clear_wait()
    handler = run.root.on.hangup
    if handler is None:
        run.finish(SessionStatus.INTERRUPTED, "hangup")
        return
    _leave_subflows(run)
    _advance(run, handler)


def _leave_subflows(run: Run) -> None:
    """Unwind every subflow: ``on:`` handlers name nodes of the flow the session started with."""
    while run.state["stack"]:
        run.exit_flow()


def _advance(run: Run, node_id: str | None) -> None:
    """Step through nodes from ``node_id`` until the session waits or ends."""
    limit = run.limits.max_steps_per_resume
    nodes = run.flow.nodes
    while True:
        if node_id is None:
            if not run.state["stack"]:
                run.finish(SessionStatus.COMPLETED, "end")
                return
            parent = run.exit_flow()
            nodes = run.flow.nodes
            node_id = parent.target("next")
            continue
        run.steps += 1
        if run.steps > limit:
            run.fail("too_many_steps", f"more than {limit} steps without waiting for input (a loop?)")
            return
        node = nodes[node_id]
        if node.max_visits is not None and run.visited_too_often(node):
            node_id = node.on_max_visits
            continue
        if not node.runs_on(run.channel, run.live):
            if node.fallback is not None:
                node_id = node.fallback
                continue
            run.node_id = node.id
            run.fail("unsupported_channel", f"{node.type_name} node {node.id!r} cannot run on {run.channel.value}")
            return
        run.enter_node(node)
        outcome = node.enter(run)
        if type(outcome) is str:
            node_id = node.target(outcome)
            continue
        if outcome is None:
            node_id = None
            continue
        if isinstance(outcome, Jump):
            nodes = run.flow.nodes
            node_id = outcome.node
            continue
        _stop(run, outcome)
        return


def _follow(run: Run, node: NodeBase, outcome: Outcome) -> None:
    """Continue after a node's resume() outcome."""
    if type(outcome) is str:
        _advance(run, node.target(outcome))
    elif outcome is None:
        _advance(run, None)
    elif isinstance(outcome, Jump):
        _advance(run, outcome.node)
    else:
        _stop(run, outcome)


def _stop(run: Run, outcome: Outcome) -> None:
    if isinstance(outcome, Finish):
        run.finish(SessionStatus.COMPLETED, outcome.status)
    elif not isinstance(outcome, (Wait, Halt)):
        raise TypeError(f"node returned {outcome!r}")


def _hangup_reason(state: dict[str, Any]) -> str:
    """What the driver is told: a hangup node's own reason, else completed or error."""
    if state["status"] != SessionStatus.COMPLETED.value:
        return "error"
    reason = state.get("end_reason")
    return "completed" if reason in (None, "end", "hangup") else str(reason)


def _finish_step(run: Run) -> Step:
    state = run.state
    if state["status"] in (SessionStatus.COMPLETED.value, SessionStatus.FAILED.value):
        if run.channel is Channel.VOICE and run.live:
            run.emit(Hangup(_hangup_reason(state)))
            run.go_offline()
    return Step(tuple(run.outputs), tuple(run.events), state)
