"""Static checks of a loaded flow and its subflows.

- every exit, fallback, start and handler names a node that exists;
- every node is reachable;
- every node can run on each channel it can be reached on (following switch_channel and
  fallbacks, and knowing when a call is no longer live), and its texts cover that channel;
- no loop can spin without waiting for input, and no loop can go on forever when the contact
  stays silent (a gather whose ``no_input`` leads back to it, with nothing that can leave);
- templates parse, and the variables they read exist where that can be known;
- every prompt id is in the catalogue of every language of the flow;
- a question's template ``quick_replies`` name its choice keys (the templates themselves are
  checked against an account's catalog by ``template_checks.check_whatsapp_templates``).
"""

from __future__ import annotations

from collections import deque
from typing import Iterator

from voiceplatform.exceptions import Problem
from voiceplatform.flow.channels import Channel
from voiceplatform.flow.channel_checks import channel_warnings, literal_text
from voiceplatform.flow.flow import Flow
from voiceplatform.flow.interface_checks import check_interfaces
from voiceplatform.flow.loop_bounds import loop_is_bounded
from voiceplatform.flow.nodes.branch import BranchNode, channel_branch_targets
from voiceplatform.flow.nodes.base import NodeBase
from voiceplatform.flow.nodes.gather import DTMF_KEY, GatherNode
from voiceplatform.flow.nodes.record import RecordNode
from voiceplatform.flow.nodes.say import SayNode
from voiceplatform.flow.nodes.set_language import SetLanguageNode, pick_language
from voiceplatform.flow.nodes.wait import WaitNode
from voiceplatform.flow.nodes.subflow import SubflowNode
from voiceplatform.flow.nodes.switch_channel import SwitchChannelNode
from voiceplatform.flow.render import WHATSAPP_LIMITS
from voiceplatform.flow.template_checks import check_template_fallbacks
from voiceplatform.flow.templates import (
    GLOBAL_NAMES,
    KNOWN_ROOTS,
    error_line,
    limit_error,
    references,
    semantic_errors,
    syntax_error,
)

State = tuple[str, str, Channel, bool]  # flow name, node id, channel, live


def check_flow(root: Flow) -> list[Problem]:
    problems: list[Problem] = []
    flows = list({id(flow): flow for flow in root.library.values()}.values())
    stores = _stores(flows)
    for flow in flows:
        problems.extend(_check_targets(flow))
        problems.extend(_check_choice_keys(flow))
        problems.extend(check_template_fallbacks(flow))
        problems.extend(check_interfaces(flow))
        problems.extend(_check_templates(flow, stores, root))
        problems.extend(_check_prompts(flow, root))
        problems.extend(_check_loops(flow))
        problems.extend(_check_silent_loops(flow))
    problems.extend(_check_reach(root, flows))
    return problems


def _where(flow: Flow, node: NodeBase, *path: object) -> tuple[object, ...]:
    return ("nodes", flow.positions[node.id], *path)


def _check_targets(flow: Flow) -> Iterator[Problem]:
    definition = flow.definition
    if definition.start not in flow.nodes:
        yield flow.locations.problem(("start",), f"start node {definition.start!r} does not exist")
    for handler, target in definition.on.model_dump().items():
        if target is not None and target not in flow.nodes:
            yield flow.locations.problem(("on", handler), f"on.{handler} names unknown node {target!r}")
    for node in flow.nodes.values():
        for exit_name, target, path in node.exit_targets():
            if target is not None and target not in flow.nodes:
                yield flow.locations.problem(_where(flow, node, *path), f"node {node.id!r}: exit {exit_name!r} goes to unknown node {target!r}")
        if node.fallback is not None and node.fallback not in flow.nodes:
            yield flow.locations.problem(_where(flow, node, "fallback"), f"node {node.id!r}: fallback goes to unknown node {node.fallback!r}")


def _check_choice_keys(flow: Flow) -> Iterator[Problem]:
    """A key used twice is reported at the second use (a pydantic validator could only point
    at the node)."""
    for node in flow.nodes.values():
        if not isinstance(node, GatherNode):
            continue
        first: dict[str, int] = {}
        for position, choice in enumerate(node.choices):
            if choice.key in first:
                yield flow.locations.problem(
                    _where(flow, node, "choices", position, "key"),
                    f"node {node.id!r}: choice key {choice.key!r} is used twice (first by choice {first[choice.key] + 1})",
                )
            else:
                first[choice.key] = position


def _stores(flows: list[Flow]) -> dict[str, set[str]]:
    stores: dict[str, set[str]] = {"results": set(), "vars": set(), "contact": set()}
    for flow in flows:
        stores["vars"].update(flow.definition.vars)
        stores["vars"].update(flow.definition.params)  # a subflow's parameters: its parent passes them
        for node in flow.nodes.values():
            for root, name in node.stores():
                stores[root].add(name)
    return stores


def _check_templates(flow: Flow, stores: dict[str, set[str]], root: Flow) -> Iterator[Problem]:
    declared_contact = root.definition.contact_fields
    for node in flow.nodes.values():
        for path, source, is_expression in node.texts():
            where = _where(flow, node, *path)
            locations = flow.locations
            error = syntax_error(source, expression=is_expression)
            if error is not None:
                found = locations.text_lines(where)
                line = error_line(found[1], expression=is_expression) if found else None
                yield locations.point(where, f"node {node.id!r}: {error}", line=line)
                continue
            error = limit_error(source, expression=is_expression)
            if error is not None:
                yield locations.point(where, f"node {node.id!r}: {error}")
                continue
            for message, needle in semantic_errors(source, expression=is_expression):
                yield locations.point(where, f"node {node.id!r}: {message}", needle=needle)
            allowed = KNOWN_ROOTS if path[:1] == ("save",) else KNOWN_ROOTS - {"response"}
            if path[:1] == ("choices_from",):
                allowed = allowed | {"item", "index"}
            for name, attribute in references(source, expression=is_expression):
                needle = name if attribute is None else attribute
                if name in GLOBAL_NAMES and name not in allowed:
                    continue
                if name not in allowed:
                    yield locations.point(where, f"node {node.id!r}: undefined variable {name!r}", needle=needle)
                elif attribute is None:
                    continue
                elif name == "results" and attribute not in stores["results"]:
                    yield locations.point(where, f"node {node.id!r}: results.{attribute} is never set", needle=needle)
                elif name == "vars" and attribute not in stores["vars"]:
                    yield locations.point(where, f"node {node.id!r}: vars.{attribute} is never set", needle=needle)
                elif (
                    name == "contact"
                    and declared_contact is not None
                    and attribute not in declared_contact
                    and attribute not in stores["contact"]
                ):
                    yield locations.point(where, f"node {node.id!r}: contact.{attribute} is not a declared contact field", needle=needle)


def _check_prompts(flow: Flow, root: Flow) -> Iterator[Problem]:
    """Every prompt in every language the session can be in. A subflow runs in the session's
    language (the root flow's ``language`` and ``languages``, switched by ``set_language``), not
    its own ``language:``, so its prompts must exist in those too."""
    session_languages = root.definition.all_languages
    languages = tuple(dict.fromkeys((*flow.definition.all_languages, *session_languages)))
    for node in flow.nodes.values():
        for path, prompt_id in node.prompt_ids():
            for language in languages:
                if flow.prompts.lookup(language, prompt_id) is None:
                    catalogue = flow.prompts.file_for(language)
                    why = ""
                    if language not in flow.definition.all_languages:
                        why = f" (a session of {root.name!r} can be in {language}, and a subflow speaks the session's language)"
                    yield flow.locations.problem(_where(flow, node, *path), f"node {node.id!r}: prompt {prompt_id!r} is missing from {catalogue}{why}")
        literal = node.literal if isinstance(node, SetLanguageNode) else getattr(node, "language", None) if isinstance(node, SayNode) else None
        if literal is not None:
            if pick_language(literal, session_languages) is None:
                yield flow.locations.problem(
                    _where(flow, node, "language"),
                    f"node {node.id!r}: language {literal!r} is not one of {root.name!r}'s languages "
                    f"({', '.join(session_languages)}); add it to languages:",
                )


def _waits(flow: Flow, node: NodeBase) -> bool:
    if isinstance(node, SubflowNode):
        child_name = flow.subflows.get(node.flow)
        child = flow.library.get(child_name) if child_name else None
        return child is None or any(n.waits for n in child.nodes.values())
    return node.waits


def _check_loops(flow: Flow) -> Iterator[Problem]:
    """Cycles made only of nodes that never wait for input (strongly connected components)."""
    busy = {node_id for node_id, node in flow.nodes.items() if not _waits(flow, node)}
    edges: dict[str, list[str]] = {node_id: [] for node_id in busy}
    for node_id in busy:
        node = flow.nodes[node_id]
        targets = [target for _name, target, _path in node.exit_targets()]
        targets.append(node.fallback)
        edges[node_id] = [t for t in targets if t in busy]
    for node_id in busy:
        node = flow.nodes[node_id]
        if node.max_visits is not None:  # past its limit it only goes to on_max_visits
            edges[node_id] = [t for t in (node.on_max_visits,) if t in busy]
    for component in _strongly_connected(edges):
        first = min(component, key=lambda node_id: flow.positions[node_id])
        if len(component) == 1 and first not in edges[first]:
            continue
        if loop_is_bounded(flow, set(component), edges):
            continue  # a counter loop whose branch provably ends it
        cycle = _cycle_from(first, edges, set(component))
        yield flow.locations.problem(
            _where(flow, flow.nodes[first]), "loop with no input: " + " → ".join(cycle)
            + " (count the turns: set vars.n to {{ vars.n|int + 1 }} and branch out when vars.n|int >= N, or give a node max_visits)"
        )


def _on_silence(node: NodeBase) -> list[str | None]:
    """Where a node can go when the contact never answers (None: the flow ends or returns).
    Waiting for the contact, only the no-input route is taken; every other node (and a wait for
    a switch or an HTTP response) may take any of its exits, including its fallback."""
    if isinstance(node, GatherNode):
        targets: list[str | None] = [node.target("no_input")]
    elif isinstance(node, RecordNode):
        targets = [node.target("no_input") or node.target("next")]
    elif isinstance(node, WaitNode):
        targets = [node.target("timeout")]
    else:
        targets = [target for _name, target, _path in node.exit_targets()]
        # An exit left unwired (or none at all: an ending node) ends the flow: a route out.
        targets.extend(node.target(name) for name in node.exit_names)
        if not node.exit_names:
            targets.append(None)
    if node.fallback is not None:
        targets.append(node.fallback)
    if node.max_visits is not None:
        targets.append(node.on_max_visits)  # a bounded node is a way out (None: the flow ends)
    return targets


def _check_silent_loops(flow: Flow) -> Iterator[Problem]:
    """Cycles that a silent contact can never leave: strongly connected components of the
    "no answer" graph with no route out (no exit to another node, no end of the flow), through
    at least one node that waits. A counter with a branch that leaves the loop is a route out."""
    routes = {node_id: _on_silence(node) for node_id, node in flow.nodes.items()}
    edges = {node_id: [t for t in targets if t is not None and t in flow.nodes] for node_id, targets in routes.items()}
    for component in _strongly_connected(edges):
        members = set(component)
        first = min(component, key=lambda node_id: flow.positions[node_id])
        if len(component) == 1 and first not in edges[first]:
            continue
        if any(target is None or target not in members for node_id in component for target in routes[node_id]):
            continue
        if not any(_waits(flow, flow.nodes[node_id]) for node_id in component):
            continue  # a busy loop: _check_loops reports it
        cycle = _cycle_from(first, edges, members)
        yield flow.locations.problem(
            _where(flow, flow.nodes[first]),
            "loop with no exit when the contact does not answer: " + " → ".join(cycle)
            + " (wire no_input or timeout somewhere else, or count attempts and branch out)",
        )


def _cycle_from(start: str, edges: dict[str, list[str]], members: set[str]) -> list[str]:
    path, seen, current = [start], {start}, start
    while True:
        following = next(t for t in edges[current] if t in members)
        path.append(following)
        if following in seen:
            return path[path.index(following):]
        seen.add(following)
        current = following


def _strongly_connected(edges: dict[str, list[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative (no recursion limit on long flows)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []
    counter = 0
    for origin in edges:
        if origin in index:
            continue
        work = [(origin, iter(edges[origin]))]
        index[origin] = low[origin] = counter
        counter += 1
        stack.append(origin)
        on_stack.add(origin)
        while work:
            node, successors = work[-1]
            advanced = False
            for successor in successors:
                if successor not in index:
                    index[successor] = low[successor] = counter
                    counter += 1
                    stack.append(successor)
                    on_stack.add(successor)
                    work.append((successor, iter(edges[successor])))
                    advanced = True
                    break
                if successor in on_stack:
                    low[node] = min(low[node], index[successor])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                components.append(component)
    return components


def _check_reach(root: Flow, flows: list[Flow]) -> Iterator[Problem]:
    """Walk (flow, node, channel, live) states from every entry; report nodes that cannot run
    where they are reached, and nodes reached nowhere."""
    starts: list[State] = [(root.name, root.start, channel, True) for channel in root.definition.channels]
    if Channel.VOICE in root.channels:
        handlers = root.definition.on
        for target, live in ((handlers.no_answer, False), (handlers.machine, True), (handlers.hangup, False)):
            if target is not None:
                starts.append((root.name, target, Channel.VOICE, live))
    seen_states: set[State] = set()
    reached: set[tuple[str, str]] = set()
    reported: set[tuple[str, str, Channel, bool]] = set()
    queue = deque(starts)
    while queue:
        state = queue.popleft()
        if state in seen_states:
            continue
        seen_states.add(state)
        flow_name, node_id, channel, live = state
        flow = root.library.get(flow_name)
        node = flow.nodes.get(node_id) if flow is not None else None
        if flow is None or node is None:
            continue
        reached.add((flow_name, node_id))
        if not node.runs_on(channel, live):
            if node.fallback is not None:
                queue.append((flow_name, node.fallback, channel, live))
            elif (flow_name, node_id, channel, live) not in reported:
                reported.add((flow_name, node_id, channel, live))
                when = "" if live or channel is not Channel.VOICE else " after the call has ended"
                yield flow.locations.problem(
                    _where(flow, node, "type"),
                    f"node {node.id!r} ({node.type_name}) cannot run on {channel.value}{when}; add a fallback or take {channel.value} out of channels",
                )
            continue
        yield from _channel_specific(flow, node, channel)
        yield from channel_warnings(flow, root, node, channel)
        queue.extend(_successors(root, flow, node, channel, live))
    for flow in flows:
        for node_id, node in flow.nodes.items():
            if (flow.name, node_id) not in reached:
                yield flow.locations.problem(_where(flow, node, "id"), f"node {node_id!r} is never reached")


def _successors(root: Flow, flow: Flow, node: NodeBase, channel: Channel, live: bool) -> Iterator[State]:
    if isinstance(node, SwitchChannelNode):
        target_channel = Channel(node.channel)
        for exit_name, target, _path in node.exit_targets():
            if target is not None:
                answered = exit_name == "next"
                yield flow.name, target, target_channel, (answered or target_channel.is_messaging)
        return
    if isinstance(node, SubflowNode):
        child_name = flow.subflows.get(node.flow)
        if child_name is not None and child_name in root.library:
            yield child_name, root.library[child_name].start, channel, live
    if isinstance(node, BranchNode):
        for target in channel_branch_targets(node, channel):
            if target is not None:  # a case without a next leads nowhere
                yield flow.name, target, channel, live
        return
    for _name, target, _path in node.exit_targets():
        if target is not None:
            yield flow.name, target, channel, live


def _channel_specific(flow: Flow, node: NodeBase, channel: Channel) -> Iterator[Problem]:
    if isinstance(node, GatherNode):
        if channel is Channel.VOICE and "dtmf" in node.input:
            for position, choice in enumerate(node.choices):
                if not DTMF_KEY.match(choice.key) and "speech" not in node.input:
                    yield flow.locations.problem(
                        _where(flow, node, "choices", position, "key"),
                        f"node {node.id!r}: key {choice.key!r} cannot be pressed on a phone keypad",
                    )
        whatsapp = WHATSAPP_LIMITS
        if channel is Channel.WHATSAPP and len(node.choices) <= whatsapp.list_rows:
            limit = whatsapp.button_title_chars if len(node.choices) <= whatsapp.buttons else whatsapp.row_title_chars
            for position, choice in enumerate(node.choices):
                # A templated label is measured by its literal text (a lower bound), never its source.
                if len(literal_text(choice.label)[0]) > limit:
                    yield flow.locations.problem(
                        _where(flow, node, "choices", position, "label"),
                        f"node {node.id!r}: label is longer than WhatsApp's {limit} characters and will be shortened",
                        severity="warning",
                    )
    for path, _source, _is_expression in node.texts():
        if len(path) == 2 and path[1] in ("default", "voice", "sms", "whatsapp"):
            texts = getattr(node, str(path[0]), None)
            if isinstance(texts, dict) and channel.value not in texts and "default" not in texts:
                yield flow.locations.problem(
                    _where(flow, node, path[0]),
                    f"node {node.id!r}: {path[0]} has no text for {channel.value} and no default",
                )
                break
