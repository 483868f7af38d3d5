"""Checks of the WhatsApp templates a flow names (``send.template``, ``gather.template``), each
problem at the node's own ``file:line:col``.

- **Structural** (:func:`check_template_fallbacks`, always run by ``checks.check_flow``): a
  question's ``quick_replies`` name choice keys of that question, and only a question with a menu
  maps buttons to choices.
- **Against a catalog** (:func:`check_whatsapp_templates`, run only when the caller has the
  account's templates: the API for an account, ``flow validate --templates FILE.json``): the
  template exists, is APPROVED, has the language the node names, takes as many body parameters
  as the node gives, and its quick-reply buttons answer the question (one choice key per button
  in ``quick_replies``; without it, each button's text must answer a choice itself, since a tap
  sends it). Without a catalog nothing here is checked.
"""

from __future__ import annotations

import difflib
from typing import Iterator

from voiceplatform.exceptions import Problem
from voiceplatform.flow.flow import Flow
from voiceplatform.flow.nodes.base import NodeBase
from voiceplatform.flow.nodes.gather import GatherNode
from voiceplatform.flow.nodes.whatsapp_template import WhatsAppTemplate
from voiceplatform.flow.whatsapp_templates import TemplateCatalog, TemplateInfo


def template_of(node: NodeBase) -> WhatsAppTemplate | None:
    """The WhatsApp template a node names (a ``send``'s or a question's), if any."""
    template = getattr(node, "template", None)
    return template if isinstance(template, WhatsAppTemplate) else None


def _where(flow: Flow, node: NodeBase, *path: object) -> tuple[object, ...]:
    return ("nodes", flow.positions[node.id], "template", *path)


def check_template_fallbacks(flow: Flow) -> Iterator[Problem]:
    """What can be checked without the account's templates."""
    for node in flow.nodes.values():
        template = template_of(node)
        if template is None or not template.quick_replies or not isinstance(node, GatherNode):
            continue
        if not node.has_menu:
            yield flow.locations.problem(
                _where(flow, node, "quick_replies"),
                f"node {node.id!r}: quick_replies map the template's buttons to choice keys, but the question has no "
                "choices",
            )
            continue
        if node.choices_from is not None:
            continue  # keys from data are known only when it runs
        keys = [choice.key for choice in node.choices]
        for position, key in enumerate(template.quick_replies):
            if key not in keys:
                yield flow.locations.problem(
                    _where(flow, node, "quick_replies", position),
                    f"node {node.id!r}: quick_replies names {key!r}, which is not a choice key of the question "
                    f"(its keys: {', '.join(keys)})",
                )


def check_whatsapp_templates(root: Flow, catalog: TemplateCatalog) -> list[Problem]:
    """Every template named by ``root`` and its subflows, checked against ``catalog``."""
    problems: list[Problem] = []
    flows = list({id(flow): flow for flow in root.library.values()}.values())
    for flow in flows:
        for node in flow.nodes.values():
            template = template_of(node)
            if template is not None:
                problems.extend(_check_node(flow, node, template, catalog))
    return sorted(set(problems))


def _check_node(flow: Flow, node: NodeBase, template: WhatsAppTemplate, catalog: TemplateCatalog) -> Iterator[Problem]:
    name, language = template.name, template.language
    languages = catalog.languages(name)
    if not languages:
        close = difflib.get_close_matches(name, catalog.names(), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        yield flow.locations.problem(
            _where(flow, node, "name"),
            f"node {node.id!r}: WhatsApp template {name!r} is not among the account's templates{hint}",
        )
        return
    info = catalog.get(name, language)
    if info is None:
        yield flow.locations.problem(
            _where(flow, node, "language"),
            f"node {node.id!r}: WhatsApp template {name!r} has no {language!r} translation (it has "
            f"{', '.join(languages)}); the language must match exactly",
        )
        return
    if not info.approved:
        yield flow.locations.problem(
            _where(flow, node, "name"),
            f"node {node.id!r}: WhatsApp template {name!r} ({language}) is {info.status or 'of no status'}: only "
            "APPROVED templates can be sent",
        )
    given = len(template.params)
    if given != info.body_params:
        yield flow.locations.problem(
            _where(flow, node, "params"),
            f"node {node.id!r}: WhatsApp template {name!r} ({language}) takes {info.body_params} body "
            f"parameter{'s' if info.body_params != 1 else ''}; the node gives {given}",
        )
    yield from _check_quick_replies(flow, node, template, info)


def _check_quick_replies(flow: Flow, node: NodeBase, template: WhatsAppTemplate, info: TemplateInfo) -> Iterator[Problem]:
    buttons = info.quick_replies
    shown = ", ".join(repr(text) for text in buttons) or "none"
    if template.quick_replies:
        if len(template.quick_replies) != len(buttons):
            yield flow.locations.problem(
                _where(flow, node, "quick_replies"),
                f"node {node.id!r}: WhatsApp template {info.name!r} ({info.language}) has {len(buttons)} quick-reply "
                f"button{'s' if len(buttons) != 1 else ''} ({shown}); quick_replies names {len(template.quick_replies)}",
            )
        return
    if not isinstance(node, GatherNode) or not node.choices or node.choices_from is not None or not buttons:
        return
    menu = node.static_menu  # a tap sends the button's text, matched as a typed reply would be
    keys = ", ".join(choice.key for choice in node.choices)
    for text in buttons:
        if menu.index.match(text) is None:
            yield flow.locations.problem(
                _where(flow, node, "name"),
                f"node {node.id!r}: the quick-reply button {text!r} of WhatsApp template {info.name!r} "
                f"({info.language}) answers no choice of the question (keys {keys}); map the buttons to choice keys "
                f"with quick_replies: [one key per button, in order]",
            )
