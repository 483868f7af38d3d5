"""Proof that a loop with no input ends: a counter loop, or a ``max_visits`` node.

A cycle of nodes that never wait would spin until the step guard stops the session, so the
validator rejects it, unless one of these holds for its strongly connected component:

- **a counter**: a ``set`` in the loop raises ``vars.X`` by a constant (``{{ vars.X|int + 1 }}``),
  nothing else in the loop writes ``vars.X``, every cycle passes through an increment, and every
  cycle passes a ``branch`` that can only stay in the loop while ``vars.X|int < N`` (the case that
  stays has that comparison as one of its ``and``-ed conditions, or an earlier case leaves the loop
  when ``vars.X|int >= N``). The ``|int`` matters: it makes the counter a number whatever the
  variable held, so the comparison can never fail and fall through to a ``default`` that stays.
- **max_visits**: a node with ``max_visits`` takes ``on_max_visits`` once it has run that many
  times, so the loop is bounded when the cycles are broken with that node's normal exits removed.

Only these shapes are proved; anything else is still "a loop with no input" (the step guard,
``max_steps_per_resume``, remains for what no check can see).
"""

from __future__ import annotations

from typing import Iterable

from jinja2 import nodes

from voiceplatform.flow.flow import Flow
from voiceplatform.flow.nodes.branch import BranchNode
from voiceplatform.flow.nodes.set import SetNode
from jinja2.exceptions import TemplateSyntaxError

from voiceplatform.flow.templates import parse_tree

_AT_LEAST = {"gteq", "gt"}
_FLIPPED_AT_LEAST = {"lteq", "lt"}  # N <= X is X >= N


def loop_is_bounded(flow: Flow, members: set[str], edges: dict[str, list[str]]) -> bool:
    """Whether the busy loop ``members`` provably ends (see the module docstring)."""
    increments: dict[str, set[str]] = {}
    written: set[str] = set()
    for node_id in members:
        node = flow.nodes[node_id]
        for root, name in node.stores():
            if root != "vars":
                continue
            if isinstance(node, SetNode) and _increments(node.vars.get(name), name):
                increments.setdefault(name, set()).add(node_id)
            else:
                written.add(name)
    for name, raising in increments.items():
        if name in written:
            continue
        if not _acyclic(members - raising, edges):
            continue  # a cycle that does not count
        fixed = written | set(increments)  # a bound may read variables the loop does not write
        guards = {node_id for node_id in members if _guards(flow.nodes[node_id], name, members, fixed)}
        if guards and _acyclic(members - guards, edges):
            return True
    return False


def _acyclic(members: set[str], edges: dict[str, list[str]]) -> bool:
    """Whether the subgraph on ``members`` has no cycle (Kahn's algorithm)."""
    incoming = {node: 0 for node in members}
    for node in members:
        for target in edges.get(node, ()):
            if target in members:
                incoming[target] += 1
    ready = [node for node, count in incoming.items() if count == 0]
    removed = 0
    while ready:
        node = ready.pop()
        removed += 1
        for target in edges.get(node, ()):
            if target in members:
                incoming[target] -= 1
                if incoming[target] == 0:
                    ready.append(target)
    return removed == len(members)


def _expression(source: object, expression: bool) -> nodes.Expr | None:
    """The single expression of ``{{ expr }}`` (or of a condition)."""
    if not isinstance(source, str):
        return None
    try:
        tree = parse_tree(source, expression)
    except (TemplateSyntaxError, RecursionError):
        return None
    if len(tree.body) != 1 or not isinstance(tree.body[0], nodes.Output):
        return None
    parts = [part for part in tree.body[0].nodes if not (isinstance(part, nodes.TemplateData) and not part.data.strip())]
    return parts[0] if len(parts) == 1 and isinstance(parts[0], nodes.Expr) else None


def _is_counter(expr: nodes.Node, name: str) -> bool:
    """``vars.NAME|int`` (optionally ``vars.NAME|default(0)|int``)."""
    if not (isinstance(expr, nodes.Filter) and expr.name == "int"):
        return False
    inner = expr.node
    while isinstance(inner, nodes.Filter) and inner.name in ("default", "d"):
        inner = inner.node
    if isinstance(inner, nodes.Getattr):
        return isinstance(inner.node, nodes.Name) and inner.node.name == "vars" and inner.attr == name
    if isinstance(inner, nodes.Getitem):
        return (isinstance(inner.node, nodes.Name) and inner.node.name == "vars"
                and isinstance(inner.arg, nodes.Const) and inner.arg.value == name)
    return False


def _positive(expr: nodes.Node) -> bool:
    return isinstance(expr, nodes.Const) and type(expr.value) is int and expr.value > 0


def _increments(raw: object, name: str) -> bool:
    expr = _expression(raw, False)
    if not isinstance(expr, nodes.Add):
        return False
    return (_is_counter(expr.left, name) and _positive(expr.right)) or (_positive(expr.left) and _is_counter(expr.right, name))


def _is_bound(expr: nodes.Node, changing: set[str]) -> bool:
    """A finite number that stays put while the loop runs: an integer constant, or an ``|int``
    or ``|length`` of data the loop does not write (``vars.slots|length``)."""
    if isinstance(expr, nodes.Const):
        return type(expr.value) is int
    if not (isinstance(expr, nodes.Filter) and expr.name in ("int", "length", "count")):
        return False
    for getattr_node in expr.find_all(nodes.Getattr):
        if isinstance(getattr_node.node, nodes.Name) and getattr_node.node.name == "vars" and getattr_node.attr in changing:
            return False
    return not any(isinstance(n, nodes.Call) for n in expr.find_all(nodes.Call))


def _comparison(expr: nodes.Node, name: str, changing: set[str]) -> str | None:
    """``below`` for X < N / X <= N, ``at_least`` for X >= N / X > N, else None."""
    if not (isinstance(expr, nodes.Compare) and len(expr.ops) == 1):
        return None
    operator, right = expr.ops[0].op, expr.ops[0].expr
    if _is_counter(expr.expr, name) and _is_bound(right, changing):
        return "below" if operator in ("lt", "lteq") else "at_least" if operator in _AT_LEAST else None
    if _is_bound(expr.expr, changing) and _is_counter(right, name):
        return "below" if operator in ("gt", "gteq") else "at_least" if operator in _FLIPPED_AT_LEAST else None
    return None


def _parts(expr: nodes.Node, kind: type[nodes.BinExpr]) -> Iterable[nodes.Node]:
    if isinstance(expr, kind):
        yield from _parts(expr.left, kind)
        yield from _parts(expr.right, kind)
    else:
        yield expr


def _guards(node: object, name: str, members: set[str], changing: set[str]) -> bool:
    """Whether every exit of the branch ``node`` that stays in the loop needs ``X < N``."""
    if not isinstance(node, BranchNode):
        return False
    leaves_when_full = False
    stays = False
    for case in node.cases:
        expr = _expression(case.when, True)
        if case.next not in members:
            if expr is not None and any(_comparison(p, name, changing) == "at_least" for p in _parts(expr, nodes.Or)):
                leaves_when_full = True
            continue
        stays = True
        bounded = expr is not None and any(_comparison(p, name, changing) == "below" for p in _parts(expr, nodes.And))
        if not (bounded or leaves_when_full):
            return False
    if node.target("default") in members:
        stays = True
        if not leaves_when_full:
            return False
    return stays
