"""Read YAML while keeping where every value came from (line and column, 1-based).

The result is plain Python data plus a :class:`Locations` map from a path of keys and indexes
(``("nodes", 3, "text")``) to the position of that value in the file. Validation errors from the
schema use the same paths, so every problem can be reported as ``file:line:col``.

Two YAML 1.1 surprises are turned off: mapping keys are always text (``on:`` is not ``True``),
and only ``true`` / ``false`` are booleans (``key: yes`` is the word "yes").

Hostile documents cost nothing: the text's size (``max_flow_bytes``) is checked before parsing,
and the composed node graph (where an alias is one shared node, so composing is linear in the
text) is measured before any value is built: aliases (``max_yaml_aliases``) and values after
expansion (``max_yaml_values``). A "billion laughs" body is refused in microseconds instead of
being expanded into gigabytes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from voiceplatform import limits as resource_limits
from voiceplatform.exceptions import FlowLimitError, FlowValidationError, Problem

Path = tuple[Any, ...]

try:  # the C loader is several times faster; fall back when libyaml is absent
    _Loader: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - depends on the PyYAML build
    _Loader = yaml.SafeLoader


@dataclass
class Locations:
    """Positions of values in one YAML document, keyed by path."""

    file: str
    positions: dict[Path, tuple[int, int]] = field(default_factory=dict)
    # Texts written over several lines (``>-``, ``|``, folded plain or quoted scalars): the
    # file's lines they cover, so a problem inside one points at its line, not its first.
    spans: dict[Path, tuple[int, int]] = field(default_factory=dict)
    lines: tuple[str, ...] = ()

    def text_lines(self, path: Path) -> tuple[int, list[str]] | None:
        """The first file line (1-based) of a multi-line text's content, and its content lines."""
        span = self.spans.get(tuple(path))
        if span is None or not self.lines:
            return None
        first, last = span
        content = list(self.lines[first - 1:last])
        start = first
        if content and content[0].rstrip().endswith(("|", ">", "|-", ">-", "|+", ">+")):
            content, start = content[1:], first + 1  # a block scalar: its content starts below
        while content and not content[-1].strip():
            content.pop()
        return (start, content) if content else None

    def point(self, path: Path, message: str, *, needle: str | None = None, line: int | None = None,
              severity: str = "error") -> Problem:
        """A problem inside the text at ``path``: at the first line holding ``needle``, or at
        its ``line``-th content line (0-based); at the text's start when neither is known."""
        found = self.text_lines(path)
        if found is not None:
            start, content = found
            if needle:
                for offset, text in enumerate(content):
                    column = text.find(needle)
                    if column >= 0:
                        return Problem(self.file, start + offset, column + 1, message, severity)
            if line is not None and 0 <= line < len(content):
                text = content[line]
                return Problem(self.file, start + line, len(text) - len(text.lstrip()) + 1, message, severity)
        elif needle and tuple(path) in self.positions and self.lines:
            line_number, column = self.positions[tuple(path)]
            if line_number <= len(self.lines):
                found_at = self.lines[line_number - 1].find(needle, column - 1)
                if found_at >= 0:
                    return Problem(self.file, line_number, found_at + 1, message, severity)
        return self.problem(path, message, severity)

    def at(self, path: Path) -> tuple[int, int]:
        """The position of ``path``, or of its nearest located ancestor."""
        path = tuple(path)
        while path:
            found = self.positions.get(path)
            if found is not None:
                return found
            path = path[:-1]
        return self.positions.get((), (1, 1))

    def problem(self, path: Path, message: str, severity: str = "error") -> Problem:
        line, column = self.at(path)
        return Problem(self.file, line, column, message, severity)


def limit_hint(name: str) -> str:
    """How an error names a limit: its field and the environment variable that changes it."""
    return f"{name}, set by {resource_limits.ENV_PREFIX}{name.upper()}"


def check_flow_size(size: int, file: str, limits: resource_limits.ResourceLimits | None = None) -> None:
    """Refuse a flow or prompts text of ``size`` bytes over ``max_flow_bytes``."""
    maximum = (limits or resource_limits.current()).max_flow_bytes
    if size > maximum:
        raise FlowLimitError([Problem(
            file, 1, 1, f"the flow is {size:,} bytes; at most {maximum:,} are allowed ({limit_hint('max_flow_bytes')})"
        )], "max_flow_bytes")


def load_yaml(
    text: str, file: str, limits: resource_limits.ResourceLimits | None = None
) -> tuple[Any, Locations]:
    """Parse one YAML document. Raises FlowValidationError (with a position) on any YAML error,
    and on a document over the size, alias or value limits (checked before values are built)."""
    limits = limits or resource_limits.current()
    # Characters are at most 4 bytes each: encode only when the count alone cannot decide.
    if len(text) > limits.max_flow_bytes or len(text) * 4 > limits.max_flow_bytes:
        check_flow_size(len(text.encode("utf-8", "surrogatepass")), file, limits)
    locations = Locations(file, lines=tuple(text.splitlines()))
    try:
        loader = _Loader(text)
        try:
            root = loader.get_single_node()
            if root is None:
                raise FlowValidationError([Problem(file, 1, 1, "the file is empty")])
            _check_graph(root, file, limits)
            problems: list[Problem] = []
            data = _construct(loader, root, (), locations, problems)
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        message = " ".join(part for part in (exc.context, exc.problem) if part) or "invalid YAML"
        raise FlowValidationError([Problem(file, line, column, f"YAML: {message}")]) from exc
    except yaml.YAMLError as exc:
        raise FlowValidationError([Problem(file, 1, 1, f"YAML: {exc}")]) from exc
    except RecursionError as exc:
        raise FlowValidationError([Problem(file, 1, 1, "YAML: nested too deeply")]) from exc
    if problems:
        raise FlowValidationError(problems)
    return data, locations


def _check_graph(root: yaml.Node, file: str, limits: resource_limits.ResourceLimits) -> None:
    """Count aliases and the values the document expands to, on the composed graph, before any
    value is built. An alias is a second reference to an already composed node, so both counts
    are linear in the graph's size (each node's expanded size is computed once)."""
    seen: set[int] = set()
    expanded: dict[int, int] = {}
    aliases = 0
    # Iterative post-order walk: (node, holder) pairs; holder locates an alias for the message.
    stack: list[tuple[yaml.Node, yaml.Node, bool]] = [(root, root, False)]
    in_progress: set[int] = set()
    while stack:
        node, holder, done = stack.pop()
        key = id(node)
        if done:
            in_progress.discard(key)
            total = 1 + sum(expanded[id(child)] for child in _children(node))
            expanded[key] = total
            if total > limits.max_yaml_values:
                raise FlowLimitError([_at_node(file, node,
                    f"YAML: this value expands to more than {limits.max_yaml_values:,} values "
                    f"({limit_hint('max_yaml_values')})")], "max_yaml_values")
            continue
        if key in seen:
            if key in in_progress:
                raise FlowValidationError([_at_node(file, holder, "YAML: an alias refers to a value that contains it")])
            aliases += 1
            if aliases > limits.max_yaml_aliases:
                raise FlowLimitError([_at_node(file, holder,
                    f"YAML: more than {limits.max_yaml_aliases:,} aliases ({limit_hint('max_yaml_aliases')})")], "max_yaml_aliases")
            continue
        seen.add(key)
        in_progress.add(key)
        stack.append((node, holder, True))
        for child in reversed(_children(node)):  # reversed: popped in document order
            stack.append((child, node, False))


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _at_node(file: str, node: yaml.Node, message: str) -> Problem:
    return Problem(file, node.start_mark.line + 1, node.start_mark.column + 1, message)


def _construct(
    loader: Any, node: yaml.Node, path: Path, locations: Locations, problems: list[Problem]
) -> Any:
    locations.positions[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)  # resolves YAML merge keys (<<)
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            # Keys are always text: YAML 1.1 would read `on:` as True and `1:` as a number.
            if not isinstance(key_node, yaml.ScalarNode):
                problems.append(_at(locations, key_node, "mapping keys must be plain scalars"))
                continue
            key = key_node.value
            if key in result:
                problems.append(_at(locations, key_node, f"duplicate key {key!r}"))
                continue
            result[key] = _construct(loader, value_node, path + (key,), locations, problems)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [
            _construct(loader, item, path + (index,), locations, problems)
            for index, item in enumerate(node.value)
        ]
    if isinstance(node, yaml.ScalarNode) and node.end_mark.line > node.start_mark.line:
        locations.spans[path] = (node.start_mark.line + 1, node.end_mark.line + 1)
    if isinstance(node, yaml.ScalarNode) and node.tag == _BOOL_TAG and not node.style and node.value.lower() not in ("true", "false"):
        return node.value  # YAML 1.1 reads yes/no/on/off as booleans; flows mean the words
    return loader.construct_object(node, deep=True)


_BOOL_TAG = "tag:yaml.org,2002:bool"


def _at(locations: Locations, node: yaml.Node, message: str) -> Problem:
    return Problem(locations.file, node.start_mark.line + 1, node.start_mark.column + 1, message)
