"""Templates and conditions, on Jinja2's sandboxed environment.

- Text fields are Jinja2 templates: ``"Hello {{ contact.first_name }}"``.
- The brief's ``@column`` placeholder is shorthand for ``{{ contact.column }}``; write ``@@`` for a
  literal ``@``. An ``@`` inside a word (``jo@example.com``) is left alone.
- Conditions (``branch`` cases) are Jinja2 expressions: ``results.rating|int >= 4``. Braces around
  them are accepted and ignored.

Compiled templates are cached by source text, so a flow pays for compilation once per process.
A variable that is undefined at run time renders as an empty string, and is reported so the
engine can emit an error event (the run goes on).
"""

from __future__ import annotations

import re
import threading
from functools import lru_cache
from typing import Any, Callable, Iterator

from jinja2 import ChainableUndefined, nodes
from jinja2.exceptions import SecurityError, TemplateError, TemplateSyntaxError
from jinja2.sandbox import SandboxedEnvironment

KNOWN_ROOTS = frozenset({"contact", "results", "vars", "call", "message", "session", "response"})

_AT_COLUMN = re.compile(r"(?<![\w@.])@([A-Za-z_][A-Za-z0-9_]*)")
_TEMPLATE_MARKERS = ("{{", "{%", "{#", "@")

_sink = threading.local()


class _ReportingUndefined(ChainableUndefined):
    """Renders as empty text, and notes the name so the engine can report it."""

    __slots__ = ()

    def __str__(self) -> str:
        missed = getattr(_sink, "names", None)
        if missed is not None:
            missed.append(self._undefined_name or "?")
        return ""


_ENV = SandboxedEnvironment(
    undefined=_ReportingUndefined,
    autoescape=False,
    keep_trailing_newline=False,
    trim_blocks=True,
    lstrip_blocks=True,
)


class TemplateFailure(Exception):
    """A template that could not be rendered; the engine turns it into an error event."""


def expand_shorthand(source: str) -> str:
    """Turn ``@column`` into ``{{ contact.column }}`` and ``@@`` into ``@``."""
    if "@" not in source:
        return source
    parts = source.split("@@")
    return "@".join(_AT_COLUMN.sub(r"{{ contact.\1 }}", part) for part in parts)


def is_template(source: str) -> bool:
    return any(marker in source for marker in _TEMPLATE_MARKERS)


@lru_cache(maxsize=20_000)
def compile_text(source: str) -> Callable[[dict[str, Any]], str]:
    """A renderer for a text field. Plain text (no markers) renders to itself at no cost."""
    if not is_template(source):
        return lambda _context: source
    expanded = expand_shorthand(source)
    if not is_template(expanded.replace("@", "")):
        return lambda _context: expanded
    template = _ENV.from_string(expanded)
    return template.render


def _strip_braces(expression: str) -> str:
    text = expression.strip()
    if text.startswith("{{") and text.endswith("}}"):
        text = text[2:-2].strip()
    return text


@lru_cache(maxsize=20_000)
def compile_condition(source: str) -> Callable[[dict[str, Any]], Any]:
    return _ENV.compile_expression(expand_shorthand(_strip_braces(source)), undefined_to_none=True)


def render(source: str, context: dict[str, Any]) -> tuple[str, list[str]]:
    """Render a text template. Returns the text and the names that were undefined."""
    renderer = compile_text(source)
    _sink.names = missed = []
    try:
        return renderer(context), missed
    except (TemplateError, SecurityError, ArithmeticError, TypeError, ValueError) as exc:
        raise TemplateFailure(f"cannot render {source!r}: {exc}") from exc
    finally:
        _sink.names = None


def evaluate(expression: str, context: dict[str, Any]) -> Any:
    """Evaluate a condition expression."""
    try:
        return compile_condition(expression)(context)
    except (TemplateError, SecurityError, ArithmeticError, TypeError, ValueError) as exc:
        raise TemplateFailure(f"cannot evaluate {expression!r}: {exc}") from exc


# ---- static analysis, for validation -------------------------------------------------------


def syntax_error(source: str, *, expression: bool = False) -> str | None:
    """The syntax problem in a template or expression, or None when it parses."""
    try:
        _parse(source, expression)
    except TemplateSyntaxError as exc:
        return f"template syntax error: {exc.message}"
    return None


def references(source: str, *, expression: bool = False) -> Iterator[tuple[str, str | None]]:
    """The variables a template reads, as ``(root, attribute)``: ``contact.first_name`` gives
    ``("contact", "first_name")``; a bare ``foo`` gives ``("foo", None)``. Loop variables and
    names set inside the template are left out."""
    try:
        tree = _parse(source, expression)
    except TemplateSyntaxError:
        return
    assigned = {n.name for n in tree.find_all(nodes.Name) if n.ctx in ("store", "param")}
    seen: set[tuple[str, str | None]] = set()
    attribute_of: dict[int, str] = {}
    for getattr_node in tree.find_all(nodes.Getattr):
        if isinstance(getattr_node.node, nodes.Name):
            attribute_of[id(getattr_node.node)] = getattr_node.attr
    for getitem in tree.find_all(nodes.Getitem):
        if isinstance(getitem.node, nodes.Name) and isinstance(getitem.arg, nodes.Const):
            if isinstance(getitem.arg.value, str):
                attribute_of[id(getitem.node)] = getitem.arg.value
    for name in tree.find_all(nodes.Name):
        if name.ctx != "load" or name.name in assigned:
            continue
        ref = (name.name, attribute_of.get(id(name)))
        if ref not in seen:
            seen.add(ref)
            yield ref


def _parse(source: str, expression: bool) -> nodes.Template:
    if expression:
        return _ENV.parse("{{ (" + expand_shorthand(_strip_braces(source)) + ") }}")
    return _ENV.parse(expand_shorthand(source))
