"""Warnings that know the channel: what a designer cannot see in the YAML but the contact will.

All are warnings (``validate --strict`` makes them errors), at the field they concern:

- **SMS size**: a text sent by SMS that takes more than one segment, with its encoding (GSM-7:
  160 characters, 153 a part when concatenated; UCS-2, which all Arabic text needs: 70, 67 a part),
  measured in every language the session can be in (catalogue prompts and the engine's menu lines
  included). A template's variable parts are unknown, so its literal text is a lower bound
  ("at least"). A Latin text that a stray character (``’``, ``…``) pushes into UCS-2 says which.
- **WhatsApp**: a gather with more than 10 choices (a list holds 10 rows: it is paged, 9 rows and
  "More"),
  a list button text over 20 characters, an interactive body over 1,024 characters.
- **The 24-hour window**: a free-form WhatsApp message (text, buttons, a list; not a send or a
  question with a template fallback) sent straight after a WhatsApp template, before the contact
  has replied. WhatsApp delivers free-form messages only
  within 24 hours of the contact's last message.
- **Duplicate labels**: two choices answering to the same word (label or synonym); a reply of that
  word matches the first.
- **Keys ambiguous on a keypad**: a key that begins another (``1`` and ``10``) without
  ``finish_on_key``: after "1" the call waits for a second digit.
"""

from __future__ import annotations

import re
from collections import deque
from typing import TYPE_CHECKING, Iterator

from voiceplatform.exceptions import Problem
from voiceplatform.flow.channels import Channel
from voiceplatform.flow.matching import normalise
from voiceplatform.flow.nodes.gather import GatherNode
from voiceplatform.flow.nodes.send import SendNode
from voiceplatform.flow.nodes.switch_channel import SwitchChannelNode
from voiceplatform.flow.nodes.utterance import UtteranceNode
from voiceplatform.flow.nodes.wait import WaitNode
from voiceplatform.flow.phrases import builtin_phrase
from voiceplatform.flow.render import WHATSAPP_LIMITS
from voiceplatform.flow.results import Fields
from voiceplatform.flow.templates import TemplateFailure, expand_shorthand, is_template, render
from voiceplatform.text.sms_segments import Encoding, measure

if TYPE_CHECKING:
    from voiceplatform.flow.flow import Flow
    from voiceplatform.flow.nodes.base import NodeBase, Path

_SPACES = re.compile(r"[ \t]+")
_TEMPLATE_PART = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.DOTALL)


def literal_text(source: str) -> tuple[str, bool]:
    """The text a template renders at least (its literal parts), and whether it has variable parts."""
    expanded = expand_shorthand(source)
    literal = _TEMPLATE_PART.sub("", expanded)
    return _SPACES.sub(" ", literal).strip(), literal != expanded


def known_text(source: str, flow: Flow, root: Flow, language: str, channel: Channel) -> tuple[str, bool]:
    """What a text renders to with what validation knows (the flows' ``vars``, the session's
    language and channel; contact fields, results and the rest render empty), and whether that is
    only a lower bound (something unknown was read). A text that cannot render here falls back to
    its literal parts."""
    if not is_template(source):
        return source.strip(), False
    context = {
        "vars": Fields({**root.definition.vars, **flow.definition.vars}),
        "session": Fields({"language": language, "channel": channel.value, "id": "", "flow": flow.name}),
        "contact": Fields({}), "results": Fields({}), "call": Fields({}), "message": Fields({}),
    }
    try:
        out, missed = render(source, context)
    except TemplateFailure:
        return literal_text(source)
    return out.strip(), bool(missed)


def channel_warnings(flow: Flow, root: Flow, node: NodeBase, channel: Channel) -> Iterator[Problem]:
    """The warnings for ``node`` reached on ``channel`` (duplicates are removed by the loader)."""
    if isinstance(node, GatherNode):
        yield from _duplicate_labels(flow, node)
        if channel is Channel.VOICE and "dtmf" in node.input:
            yield from _ambiguous_keys(flow, node)
        if channel is Channel.WHATSAPP:
            yield from _whatsapp_gather(flow, root, node)
    if channel is Channel.SMS or (isinstance(node, SendNode) and node.target_channel(channel) is Channel.SMS):
        yield from _sms_size(flow, root, node)
    if isinstance(node, SendNode) and node.template is not None and node.target_channel(channel) is Channel.WHATSAPP:
        yield from _after_template(flow, node, channel)


def _where(flow: Flow, node: NodeBase, *path: object) -> tuple[object, ...]:
    return ("nodes", flow.positions[node.id], *path)


def _languages(flow: Flow, root: Flow) -> tuple[str, ...]:
    return tuple(dict.fromkeys((*root.definition.all_languages, *flow.definition.all_languages)))


def _phrase(flow: Flow, language: str, phrase_id: str) -> str:
    entry = flow.prompts.lookup(language, phrase_id)
    return entry.text if entry is not None else builtin_phrase(language, phrase_id)


# ---- SMS -----------------------------------------------------------------------------------


def _sms_texts(flow: Flow, node: NodeBase, language: str) -> tuple[Path, str] | None:
    """Where the node's SMS text comes from and its source, in ``language`` (None: no text)."""
    if isinstance(node, SendNode):
        text = node.text.get("sms", node.text.get("default")) if isinstance(node.text, dict) else node.text
        return (("text",), text) if text else None
    if isinstance(node, UtteranceNode):
        text = node.text.get("sms", node.text.get("default")) if isinstance(node.text, dict) else node.text
        if text:
            return ("text",), text
        if node.prompt:
            entry = flow.prompts.lookup(language, node.prompt)
            return (("prompt",), entry.text) if entry is not None else None
    return None


def _sms_size(flow: Flow, root: Flow, node: NodeBase) -> Iterator[Problem]:
    for language in _languages(flow, root):
        found = _sms_texts(flow, node, language)
        menu = ""
        if isinstance(node, GatherNode) and node.choices and node.announce_choices:
            line = _phrase(flow, language, "system.reply_or")
            labels = [known_text(c.label, flow, root, language, Channel.SMS) for c in node.choices]
            try:
                menu = "\n".join(line.format(key=c.key, label=label) for c, (label, _) in zip(node.choices, labels))
            except (KeyError, IndexError, ValueError):
                menu = ""
        if found is None and not menu:
            continue
        path, source = found if found is not None else (("choices",), "")
        text, variable = known_text(source, flow, root, language, Channel.SMS)
        variable = variable or (bool(menu) and any(unknown for _label, unknown in labels))
        text = "\n".join(part for part in (text, menu) if part)
        size = measure(text)
        if size.segments <= 1:
            continue
        at_least = "at least " if variable else ""
        forced = ""
        accidental = [ch for ch in size.non_gsm if ord(ch) < 0x0370 or 0x2000 <= ord(ch) <= 0x206F]
        if size.encoding is Encoding.UCS2 and accidental and len(accidental) == len(size.non_gsm):
            forced = f"; {', '.join(repr(ch) for ch in accidental)} is not in GSM-7 and makes the whole message UCS-2"
        where = path if found is not None else ("choices",)
        yield flow.locations.problem(
            _where(flow, node, *where),
            f"node {node.id!r}: the SMS ({language}) is {at_least}{size.units} {size.label} characters, "
            f"sent as {size.segments} segments of {size.per_segment}{forced}",
            severity="warning",
        )


# ---- WhatsApp ------------------------------------------------------------------------------


def _whatsapp_gather(flow: Flow, root: Flow, node: GatherNode) -> Iterator[Problem]:
    limits = WHATSAPP_LIMITS  # what the WhatsApp renderer reads (voiceplatform.flow.render)
    count = len(node.choices)
    if count > limits.list_rows:
        yield flow.locations.problem(
            _where(flow, node, "choices"),
            f"node {node.id!r}: {count} choices, but a WhatsApp list holds {limits.list_rows} rows, so it is sent "
            f"in pages of {limits.list_page_rows} rows and a \"More\" row; split it so that every choice shows at once "
            "(an 11-point 0-10 scale as 0-5 then 6-10, or a first question that narrows it down)",
            severity="warning",
        )
        return
    if count > limits.buttons:
        for language in _languages(flow, root):
            button = _phrase(flow, language, "system.list_button")
            if len(button) > limits.list_button_chars:
                yield flow.locations.problem(
                    _where(flow, node, "choices"),
                    f"node {node.id!r}: the list button text {button!r} ({language}, system.list_button) is longer "
                    f"than WhatsApp's {limits.list_button_chars} characters and will be shortened",
                    severity="warning",
                )
    if count:
        source = node.text.get("whatsapp", node.text.get("default")) if isinstance(node.text, dict) else node.text
        if source:
            text, variable = literal_text(source)
            if len(text) > limits.body_chars:
                yield flow.locations.problem(
                    _where(flow, node, "text"),
                    f"node {node.id!r}: the question is {'at least ' if variable else ''}{len(text)} characters; "
                    f"a WhatsApp interactive message body holds {limits.body_chars}",
                    severity="warning",
                )


def _free_form_on_whatsapp(node: NodeBase, channel: Channel) -> bool:
    if isinstance(node, SendNode):
        return node.template is None and node.target_channel(channel) is Channel.WHATSAPP
    if channel is not Channel.WHATSAPP or not isinstance(node, UtteranceNode):
        return False
    if isinstance(node, GatherNode):
        return node.template is None  # a question with a template fallback is sent as it outside the window
    return node.can_write(channel)


def _after_template(flow: Flow, template_node: SendNode, channel: Channel) -> Iterator[Problem]:
    """Walk on from a WhatsApp template until the contact can have replied (a node that waits):
    a free-form WhatsApp message met on the way is outside the 24-hour window."""
    queue: deque[tuple[str | None, Channel]] = deque(
        (target, channel) for _name, target, _path in template_node.exit_targets()
    )
    seen: set[tuple[str, Channel]] = set()
    while queue:
        node_id, current = queue.popleft()
        if node_id is None or (node_id, current) in seen or node_id not in flow.nodes:
            continue
        seen.add((node_id, current))
        node = flow.nodes[node_id]
        if _free_form_on_whatsapp(node, current):
            yield flow.locations.problem(
                _where(flow, node, "type"),
                f"node {node.id!r}: a free-form WhatsApp message straight after the template of node "
                f"{template_node.id!r}, before the contact has replied; WhatsApp delivers free-form messages only "
                "within 24 hours of the contact's last message: put quick-reply buttons in the template and "
                "wait for the reply first",
                severity="warning",
            )
            continue
        if isinstance(node, WaitNode) or (node.waits and not isinstance(node, SwitchChannelNode)):
            continue  # the contact can answer here
        following = Channel(node.channel) if isinstance(node, SwitchChannelNode) else current
        for _name, target, _path in node.exit_targets():
            queue.append((target, following))
        if node.fallback is not None:
            queue.append((node.fallback, current))


# ---- choices -------------------------------------------------------------------------------


def _duplicate_labels(flow: Flow, node: GatherNode) -> Iterator[Problem]:
    owner: dict[str, int] = {}
    for position, choice in enumerate(node.choices):
        words = [("label", choice.label)] + [(("synonyms", index), s) for index, s in enumerate(choice.synonyms)]
        for field, word in words:
            norm = normalise(word)
            if not norm:
                continue
            first = owner.setdefault(norm, position)
            if first != position:
                path = ("choices", position, *(field if isinstance(field, tuple) else (field,)))
                yield flow.locations.problem(
                    _where(flow, node, *path),
                    f"node {node.id!r}: {word!r} also answers choice {node.choices[first].key!r}; a reply "
                    f"{word!r} matches choice {node.choices[first].key!r}, never choice {choice.key!r}",
                    severity="warning",
                )


def _ambiguous_keys(flow: Flow, node: GatherNode) -> Iterator[Problem]:
    if node.finish_on_key is not None:
        return
    keys = [choice.key for choice in node.choices]
    for position, key in enumerate(keys):
        shorter = next((other for other in keys if other != key and key.startswith(other)), None)
        if shorter is not None:
            yield flow.locations.problem(
                _where(flow, node, "choices", position, "key"),
                f"node {node.id!r}: key {key!r} begins with key {shorter!r}; a caller who presses {shorter} waits "
                "for another digit. Add finish_on_key: \"#\" (and say \"then hash\"), or use keys of one digit",
                severity="warning",
            )
