"""Templates and conditions, on Jinja2's sandboxed environment.

- Text fields are Jinja2 templates: ``"Hello {{ contact.first_name }}"``.
- The brief's ``@column`` placeholder is shorthand for ``{{ contact.column }}``; write ``@@`` for a
  literal ``@``. An ``@`` inside a word (``jo@example.com``) is left alone.
- Conditions (``branch`` cases) are Jinja2 expressions: ``results.rating|int >= 4``. Braces around
  them are accepted and ignored.

Compiled templates are cached by source text, so a flow pays for compilation once per process.
A variable that is undefined at run time renders as an empty string, and is reported so the
engine can emit an error event (the run goes on).

Every render and evaluation runs under the limits of :mod:`voiceplatform.flow.template_guard`
(output length, loop iterations, ``**`` and ``*`` operands, integer size, time); a limit that is
hit is a :class:`TemplateFailure` like any other. Validation also folds each template's constant
parts under the same limits, so ``{{ 9 ** (9 ** 9) }}`` is refused before it is published.
"""

from __future__ import annotations

import difflib
import re
import threading
from functools import lru_cache
from typing import Any, Callable, Iterator

from jinja2 import ChainableUndefined, nodes
from jinja2.exceptions import SecurityError, TemplateError, TemplateSyntaxError
from jinja2.nodes import EvalContext, Impossible
from jinja2.parser import Parser

from voiceplatform import limits as resource_limits
from voiceplatform.flow import template_functions
from voiceplatform.flow.template_guard import (
    LOOP_GUARD,
    GuardedEnvironment,
    TemplateLimitError,
    budget,
    check_size,
    guarded_binop,
    render_limited,
)

KNOWN_ROOTS = frozenset({"contact", "results", "vars", "call", "message", "session", "response", "now", "today"})

_AT_COLUMN = re.compile(r"(?<![\w@.])@([A-Za-z_][A-Za-z0-9_]*)")
_TEMPLATE_MARKERS = ("{{", "{%", "{#", "@")

_sink = threading.local()


class _ReportingUndefined(ChainableUndefined):
    """Renders as empty text, and notes the name so the engine can report it."""

    __slots__ = ()

    def __str__(self) -> str:
        missed = getattr(_sink, "names", None)
        if missed is not None:
            missed.append(_undefined_label(self._undefined_name))
        return ""


def _undefined_label(name: object) -> str:
    """How a missing name reads in the error event: an index past the end of a list is
    ``[5] (no such item)``, not the bare number (or a crash joining it)."""
    if name is None:
        return "?"
    if isinstance(name, int) and not isinstance(name, bool):
        return f"[{name}] (no such item)"
    return str(name)


_ENV = GuardedEnvironment(
    undefined=_ReportingUndefined,
    autoescape=False,
    keep_trailing_newline=False,
    trim_blocks=True,
    lstrip_blocks=True,
)


_ENV.filters.update(template_functions.FILTERS)
_ENV.globals.update(template_functions.GLOBALS)
_ENV.tests.update(template_functions.TESTS)
GLOBAL_NAMES = frozenset(_ENV.globals)  # range, namespace, days, business_hours...: not variables


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
    render_func = template.root_render_func

    def render_text(context: dict[str, Any]) -> str:
        with budget() as current:
            return render_limited(render_func, template.new_context(context), current.limits)

    return render_text


def _strip_braces(expression: str) -> str:
    text = expression.strip()
    if text.startswith("{{") and text.endswith("}}"):
        text = text[2:-2].strip()
    return text


@lru_cache(maxsize=20_000)
def compile_condition(source: str) -> Callable[[dict[str, Any]], Any]:
    expression = _ENV.compile_expression(expand_shorthand(_strip_braces(source)), undefined_to_none=True)

    def evaluate_condition(context: dict[str, Any]) -> Any:
        with budget() as current:
            return check_size(expression(context), current.limits, "the condition's value")

    return evaluate_condition


_FAILURES = (TemplateError, SecurityError, ArithmeticError, TypeError, ValueError, RecursionError)


def render(source: str, context: dict[str, Any]) -> tuple[str, list[str]]:
    """Render a text template. Returns the text and the names that were undefined."""
    missed: list[str] = []
    _sink.names = missed
    try:
        return compile_text(source)(context), missed
    except _FAILURES as exc:
        raise TemplateFailure(f"cannot render {source!r}: {exc}") from exc
    finally:
        _sink.names = None


def evaluate(expression: str, context: dict[str, Any]) -> Any:
    """Evaluate a condition expression."""
    try:
        return compile_condition(expression)(context)
    except _FAILURES as exc:
        raise TemplateFailure(f"cannot evaluate {expression!r}: {exc}") from exc


# ---- static analysis, for validation -------------------------------------------------------


def syntax_error(source: str, *, expression: bool = False) -> str | None:
    """The syntax problem in a template or expression, or None when it parses. A condition is
    parsed as the engine compiles it, so the message never mentions the parentheses the
    analysis wraps it in ("unexpected ')'" for a trailing ``and``)."""
    try:
        if expression:
            _check_condition_syntax(source)
        _parse(source, expression)
    except TemplateSyntaxError as exc:
        return f"template syntax error: {exc.message}"
    except RecursionError:
        return "template syntax error: nested too deeply"
    return None


_OPERATOR_WORDS = frozenset({"and", "or", "not", "in", "is", "if", "else", "==", "!=", "<", ">", "<=", ">=", "+", "-", "*", "/", "//", "%", "~", "|", "("})


def _check_condition_syntax(source: str) -> None:
    text = expand_shorthand(_strip_braces(source))
    parser = Parser(_ENV, text, state="variable")
    try:
        parser.parse_expression()
    except TemplateSyntaxError as exc:
        if "end of template" in (exc.message or ""):
            words = text.split()
            last = words[-1] if words else ""
            if last in _OPERATOR_WORDS or last.endswith(("(", "|")):
                raise TemplateSyntaxError(f"the condition ends with {last!r}: something must follow it", exc.lineno) from None
            raise TemplateSyntaxError("the condition ends too early: a bracket or quote is not closed", exc.lineno) from None
        raise
    if not parser.stream.eos:
        token = parser.stream.current
        raise TemplateSyntaxError(f"unexpected {token.value!r} after the end of the condition", token.lineno)


def semantic_errors(source: str, *, expression: bool = False) -> Iterator[tuple[str, str]]:
    """Problems the parser accepts but a run would hit: unknown filters and tests (which
    Jinja reports only when the template is compiled or the test is evaluated), and constant
    arguments that cannot work (a bad regex in ``is matching``, bad ``business_hours``). Each
    is ``(message, text to point at)``."""
    try:
        tree = _parse(source, expression)
    except (TemplateSyntaxError, RecursionError):
        return
    for node in tree.find_all((nodes.Filter, nodes.Test)):
        is_filter = isinstance(node, nodes.Filter)
        known = _ENV.filters if is_filter else _ENV.tests
        if node.name in known or node.name == LOOP_GUARD:
            continue
        kind = "filter" if is_filter else "test"
        public = [name for name in known if not name.startswith("_")]
        close = difflib.get_close_matches(node.name, public, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        yield f"unknown {kind} {node.name!r}{hint}", node.name
    for call in tree.find_all((nodes.Call, nodes.Test)):
        name: str | None
        if isinstance(call, nodes.Test):
            name, args = call.name, call.args
        elif isinstance(call, nodes.Call):
            name, args = getattr(call.node, "name", None), call.args
        else:
            continue
        check = template_functions.CONSTANT_CHECKS.get(name or "")
        if check is None or not args or not isinstance(args[0], nodes.Const):
            continue
        try:
            check(args[0].value)
        except re.error as exc:
            yield f"{name}: not a valid regular expression ({exc})", str(args[0].value)[:40] or name or ""
        except (ValueError, TypeError) as exc:
            yield f"{name}: {exc}", str(args[0].value)[:40] or name or ""


def error_line(lines: list[str], *, expression: bool = False) -> int:
    """Which of a multi-line text's source lines a syntax error is on (0-based): the first
    line from which no prefix of the text parses any more. Works for folded (``>-``) texts,
    whose template line numbers say nothing about the file's lines."""
    first_bad = len(lines) - 1
    for count in range(len(lines), 0, -1):
        if syntax_error(" ".join(lines[:count]), expression=expression) is None:
            break
        first_bad = count - 1
    return first_bad


def limit_error(source: str, *, expression: bool = False) -> str | None:
    """The limit a template's constant parts already break, or None (also when it does not
    parse: syntax_error reports that). Constant operations are folded under the guard, constant
    loops are counted (nested ones multiply) and constant output is measured, so ``9**(9**9)``,
    ``'a' * 10**10`` and nested loops over ``'x' * 60000`` are refused by validation."""
    try:
        tree = _parse(source, expression)
    except (TemplateSyntaxError, RecursionError):
        return None
    limits = resource_limits.current()
    if len(source) <= limits.max_template_output_chars and not any(
        True for _ in tree.find_all((nodes.BinExpr, nodes.For, nodes.Macro))
    ):
        return None  # nothing to fold or count, and its constant text is shorter than the source
    folder = _Folder(limits)
    try:
        with budget(limits):
            for binary in tree.find_all(nodes.BinExpr):
                folder.fold(binary)
            output = folder.cost(tree.body, 1)
    except TemplateLimitError as exc:
        return f"template limit: {exc}"
    except RecursionError:
        return "template syntax error: nested too deeply"
    if output > limits.max_template_output_chars:
        return f"template limit: {TemplateLimitError('the constant output', 'max_template_output_chars', limits)}"
    return None


class _Folder:
    """Constant folding under the guard's limits (Jinja's optimiser leaves intercepted
    operators alone, so they are folded here, bottom-up, with the guarded operators)."""

    def __init__(self, limits: resource_limits.ResourceLimits) -> None:
        self.limits = limits
        self.context = EvalContext(_ENV)
        self.known: dict[int, tuple[bool, Any]] = {}

    def fold(self, node: nodes.Node) -> tuple[bool, Any]:
        found = self.known.get(id(node))
        if found is not None:
            return found
        result: tuple[bool, Any] = (False, None)
        if isinstance(node, nodes.BinExpr) and node.operator in _ENV.intercepted_binops:
            (left_known, left), (right_known, right) = self.fold(node.left), self.fold(node.right)
            if left_known and right_known:
                try:
                    result = (True, guarded_binop(node.operator, left, right, self.limits))
                except TemplateLimitError:
                    raise
                except (ArithmeticError, TypeError, ValueError, SecurityError):
                    result = (False, None)
        elif isinstance(node, nodes.Filter) and node.name == LOOP_GUARD and node.node is not None:
            result = self.fold(node.node)
        elif isinstance(node, nodes.Expr) and not any(
            isinstance(n, nodes.BinExpr) and n.operator in _ENV.intercepted_binops for n in node.find_all(nodes.BinExpr)
        ):
            try:
                result = (True, node.as_const(self.context))
            except (Impossible, ArithmeticError, TypeError, ValueError):  # as_const raises these too
                result = (False, None)
        self.known[id(node)] = result
        return result

    def cost(self, body: list[nodes.Node], times: int) -> int:
        """Constant output characters of ``body`` run ``times`` times; constant loops multiply
        ``times`` (an iteration count past the limit raises)."""
        total = 0
        for node in body:
            if isinstance(node, nodes.Output):
                for child in node.nodes:
                    if isinstance(child, nodes.TemplateData):
                        total += len(child.data) * times
                    else:
                        known, value = self.fold(child)
                        total += len(str(value)) * times if known else 0
            elif isinstance(node, nodes.For):
                known, value = self.fold(node.iter)
                count = len(value) if known and hasattr(value, "__len__") else 1
                inner = times * count
                if inner > self.limits.max_template_loop_iterations:
                    raise TemplateLimitError(f"constant loops of {inner:,} iterations", "max_template_loop_iterations", self.limits)
                total += self.cost(node.body, inner) + self.cost(node.else_, times)
            else:
                for attribute in ("body", "else_", "elif_"):
                    children = getattr(node, attribute, None)
                    if isinstance(children, list):
                        total += self.cost(children, times)
        return total


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


def parse_tree(source: str, expression: bool = False) -> nodes.Template:
    """The parsed (cached, read-only) tree of a template or condition, for static analysis."""
    return _parse(source, expression)


@lru_cache(maxsize=4_096)
def _parse(source: str, expression: bool) -> nodes.Template:
    """The parsed tree (cached: validation reads each text three times; trees are only read)."""
    if expression:
        return _ENV.parse("{{ (" + expand_shorthand(_strip_braces(source)) + ") }}")
    return _ENV.parse(expand_shorthand(source))
