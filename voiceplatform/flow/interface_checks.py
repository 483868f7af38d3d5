"""Static checks of subflow interfaces: a flow's ``params:`` and ``returns:``, and each
``subflow`` node's call against them.

- a call passes only declared parameters, and every required one;
- a flow declaring ``returns:`` sets each of those results somewhere in it;
- a flow with no ``params:`` is called without ``params:`` (the interface is opt-in: flows
  that share variables the old way keep working).

A flow that declares parameters validates on its own: ``vars.NAME`` of a parameter is known
(checks.py counts parameters as set), so the flow is checked without its parent.
"""

from __future__ import annotations

from typing import Iterator

from voiceplatform.exceptions import Problem
from voiceplatform.flow.flow import Flow
from voiceplatform.flow.nodes.subflow import SubflowNode


def check_interfaces(flow: Flow) -> Iterator[Problem]:
    definition = flow.definition
    set_results = {name for node in flow.nodes.values() for root, name in node.stores() if root == "results"}
    for position, name in enumerate(definition.returns):
        if name not in set_results:
            yield flow.locations.problem(("returns", position), f"returns {name!r}, but no node of {definition.name!r} sets results.{name}")
    for node in flow.nodes.values():
        if not isinstance(node, SubflowNode):
            continue
        child_name = flow.subflows.get(node.flow)
        child = flow.library.get(child_name) if child_name else None
        if child is None:
            continue
        where = ("nodes", flow.positions[node.id])
        declared = child.definition.params
        if node.params and not declared:
            yield flow.locations.problem((*where, "params"), f"node {node.id!r}: {child.name!r} declares no params, so none can be passed")
            continue
        for name in node.params:
            if name not in declared:
                known = ", ".join(declared) or "none"
                yield flow.locations.problem((*where, "params", name), f"node {node.id!r}: {child.name!r} has no parameter {name!r} (its parameters: {known})")
        for name, param in declared.items():
            if param.required and name not in node.params:
                yield flow.locations.problem((*where, "flow"), f"node {node.id!r}: {child.name!r} needs parameter {name!r}; pass it in params:")
