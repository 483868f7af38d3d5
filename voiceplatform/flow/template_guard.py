"""The Jinja2 sandbox with resource limits, so no template can hang or exhaust a worker.

Jinja2's sandbox stops templates from reaching Python internals, but not from asking for a
billion iterations or a ten-gigabyte string. This environment adds, per render (one
:func:`budget` around each render or condition evaluation):

- ``max_template_loop_iterations``: every ``{% for %}`` iterable is wrapped (at parse time) in a
  counting iterator, so nested loops share one total; ``range()`` is capped the same way, and
  recursive loops (``loop(...)``) are refused at parse time because they escape the count;
- ``max_template_power_exponent`` and ``max_template_int_bits``: ``**`` and ``*`` are intercepted
  (``intercepted_binops``), which also stops Jinja's optimiser folding ``9**(9**9)`` while a
  template compiles;
- ``max_template_repeat_size``: ``*`` on a string or list is checked before it allocates;
- ``max_template_output_chars``: the render stops when its output passes the limit, and ``+``,
  filters and methods that grow text (``center``, ``indent``, ``replace``, ``join``, ``format``,
  ``%``, ...) are checked before they run, as are values stored in a ``namespace``;
- ``max_template_seconds``: a deadline checked at every loop iteration, call and operator.

The immutable sandbox is used, so ``list.append`` cannot grow a list in a loop. A limit that is
hit raises :class:`TemplateLimitError` (a Jinja2 SecurityError), which the engine reports as an
error event like any other template failure.
"""

from __future__ import annotations

import functools
import re
import string
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator

from jinja2 import nodes, pass_context
from jinja2.exceptions import SecurityError, TemplateSyntaxError
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import Namespace

from voiceplatform import limits as resource_limits
from voiceplatform.limits import ResourceLimits

LOOP_GUARD = "_vp_counted"
_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?")
_DIGITS = re.compile(r"\d+")
_SIZED = (str, bytes, list, tuple, dict, set, frozenset)


class TemplateLimitError(SecurityError):
    """A template went past one of the limits in :mod:`voiceplatform.limits`."""

    def __init__(self, what: str, name: str, limits: ResourceLimits) -> None:
        value = getattr(limits, name)
        setting = f"{resource_limits.ENV_PREFIX}{name.upper()}"
        super().__init__(f"{what}: past the limit of {value:,} ({name}, set by {setting})")
        self.limit = name


@dataclass(slots=True)
class Budget:
    """What one render may still spend."""

    limits: ResourceLimits
    deadline: float
    iterations: int = 0

    def tick(self) -> None:
        if time.monotonic() > self.deadline:
            raise TemplateLimitError("the template took too long", "max_template_seconds", self.limits)

    def iteration(self) -> None:
        self.iterations += 1
        if self.iterations > self.limits.max_template_loop_iterations:
            raise TemplateLimitError("too many loop iterations", "max_template_loop_iterations", self.limits)
        self.tick()


_active = threading.local()


@contextmanager
def budget(limits: ResourceLimits | None = None) -> Iterator[Budget]:
    """A fresh budget for one render (an enclosing render's budget is shared, not renewed)."""
    outer: Budget | None = getattr(_active, "budget", None)
    if outer is not None:
        yield outer
        return
    limits = limits or resource_limits.current()
    _active.budget = current = Budget(limits, time.monotonic() + limits.max_template_seconds)
    try:
        yield current
    finally:
        _active.budget = None


def _budget() -> Budget:
    current: Budget | None = getattr(_active, "budget", None)
    if current is None:  # evaluated outside budget() (compile-time folding): limits, no clock
        limits = resource_limits.current()
        return Budget(limits, time.monotonic() + limits.max_template_seconds)
    return current


# ---- checks -----------------------------------------------------------------------------------


def check_size(value: Any, limits: ResourceLimits, what: str = "a value the template built") -> Any:
    if isinstance(value, _SIZED) and len(value) > limits.max_template_output_chars:
        raise TemplateLimitError(f"{what} is {len(value):,} long", "max_template_output_chars", limits)
    return value


def _check_length(size: int, limits: ResourceLimits, what: str) -> None:
    if size > limits.max_template_output_chars:
        raise TemplateLimitError(f"{what} would be {size:,} long", "max_template_output_chars", limits)


def guarded_binop(operator: str, left: Any, right: Any, limits: ResourceLimits) -> Any:
    """``**``, ``*``, ``+`` and ``%`` after checking that the result stays small."""
    if operator == "**":
        if isinstance(left, (int, float)) and isinstance(right, (int, float)):
            if abs(right) > limits.max_template_power_exponent:
                raise TemplateLimitError(f"exponent {right:,}", "max_template_power_exponent", limits)
            if isinstance(left, int) and isinstance(right, int) and right > 0:
                if abs(left).bit_length() * right > limits.max_template_int_bits:
                    raise TemplateLimitError(f"{left} ** {right}", "max_template_int_bits", limits)
        return left ** right
    if operator == "*":
        if isinstance(left, int) and isinstance(right, int) and not isinstance(left, bool):
            if abs(left).bit_length() + abs(right).bit_length() > limits.max_template_int_bits:
                raise TemplateLimitError("an integer product", "max_template_int_bits", limits)
        for sequence, count in ((left, right), (right, left)):
            if isinstance(sequence, (str, bytes, list, tuple)) and isinstance(count, int):
                if len(sequence) * count > limits.max_template_repeat_size:
                    raise TemplateLimitError(
                        f"repeating {len(sequence):,} items {count:,} times", "max_template_repeat_size", limits
                    )
        return left * right
    if operator == "+":
        if isinstance(left, (str, bytes, list, tuple)) and isinstance(right, (str, bytes, list, tuple)):
            _check_length(len(left) + len(right), limits, "a sum")
        return left + right
    if operator == "%":
        if isinstance(left, str):
            _check_percent_format(left, limits)
        return left % right
    raise SecurityError(f"operator {operator!r} is not intercepted")


def _check_percent_format(fmt: str, limits: ResourceLimits) -> None:
    for match in _PERCENT_SPEC.finditer(fmt):
        for part in match.groups():
            if part == "*":
                raise SecurityError("'*' widths are not allowed in % formats")
            if part is not None and int(part) > limits.max_template_output_chars:
                _check_length(int(part), limits, "a formatted field")


def _check_format_method(fmt: str, limits: ResourceLimits) -> None:
    for _literal, _field, spec, _conversion in string.Formatter().parse(fmt):
        if not spec:
            continue
        if "{" in spec:
            raise SecurityError("nested replacement fields are not allowed in format specs")
        for digits in _DIGITS.findall(spec):
            _check_length(int(digits), limits, "a formatted field")


def _estimate_replace(text: Any, old: Any, new: Any, count: Any, limits: ResourceLimits) -> None:
    if isinstance(text, str) and isinstance(old, str) and isinstance(new, str):
        found = text.count(old) if old else len(text) + 1
    elif isinstance(text, bytes) and isinstance(old, bytes) and isinstance(new, bytes):
        found = text.count(old) if old else len(text) + 1
    else:
        return
    if isinstance(count, int) and 0 <= count < found:
        found = count
    _check_length(len(text) + found * max(0, len(new) - len(old)), limits, "a replacement")


def _joined_length(items: list[Any], separator: Any) -> int:
    parts = sum(len(item) for item in items if isinstance(item, (str, bytes)))
    return parts + len(separator if isinstance(separator, (str, bytes)) else "") * max(0, len(items) - 1)


def check_call(obj: Any, args: tuple[Any, ...], kwargs: dict[str, Any], limits: ResourceLimits) -> tuple[Any, ...]:
    """Refuse method calls on text that would build something huge. Returns the arguments to
    call with (a join's iterable is read once into a list, to measure it)."""
    owner = getattr(obj, "__self__", None)
    name = getattr(obj, "__name__", "")
    if isinstance(owner, (str, bytes)):
        if name in ("center", "ljust", "rjust", "zfill"):
            width = args[0] if args else kwargs.get("width", 0)
            if isinstance(width, int):
                _check_length(width, limits, f"{name}()")
        elif name == "expandtabs":
            tabsize = args[0] if args else kwargs.get("tabsize", 8)
            tab = "\t" if isinstance(owner, str) else b"\t"
            if isinstance(tabsize, int):
                _check_length(len(owner) + owner.count(tab) * tabsize, limits, "expandtabs()")  # type: ignore[arg-type]
        elif name == "replace" and len(args) >= 2:
            _estimate_replace(owner, args[0], args[1], args[2] if len(args) > 2 else -1, limits)
        elif name == "join" and args:
            items = list(args[0])
            _check_length(_joined_length(items, owner), limits, "join()")
            args = (items, *args[1:])
        elif name == "translate" and args and isinstance(args[0], dict):
            longest = max((len(v) for v in args[0].values() if isinstance(v, (str, bytes))), default=1)
            _check_length(len(owner) * max(1, longest), limits, "translate()")
    elif isinstance(owner, int) and name == "to_bytes":
        length = args[0] if args else kwargs.get("length", 1)
        if isinstance(length, int):
            _check_length(length, limits, "to_bytes()")
    for value in (*args, *kwargs.values()):
        check_size(value, limits, "an argument")
    return args


# ---- filters ----------------------------------------------------------------------------------

Pre = Callable[[list[Any], dict[str, Any], ResourceLimits], None]


def _arg(args: list[Any], kwargs: dict[str, Any], position: int, name: str, default: Any) -> Any:
    return args[position] if len(args) > position else kwargs.get(name, default)


def _pre_center(args: list[Any], kwargs: dict[str, Any], limits: ResourceLimits) -> None:
    width = _arg(args, kwargs, 1, "width", 80)
    if isinstance(width, int):
        _check_length(width, limits, "center")


def _pre_indent(args: list[Any], kwargs: dict[str, Any], limits: ResourceLimits) -> None:
    text = _arg(args, kwargs, 0, "s", "")
    width = _arg(args, kwargs, 1, "width", 4)
    lines = (text.count("\n") + 1) if isinstance(text, str) else 1
    size = len(width) if isinstance(width, str) else width if isinstance(width, int) else 0
    _check_length((len(text) if isinstance(text, str) else 0) + lines * size, limits, "indent")


def _pre_replace(args: list[Any], kwargs: dict[str, Any], limits: ResourceLimits) -> None:
    _estimate_replace(str(_arg(args, kwargs, 0, "s", "")), _arg(args, kwargs, 1, "old", ""),
                      _arg(args, kwargs, 2, "new", ""), _arg(args, kwargs, 3, "count", None), limits)


def _pre_join(args: list[Any], kwargs: dict[str, Any], limits: ResourceLimits) -> None:
    if args and _arg(args, kwargs, 2, "attribute", None) is None:
        args[0] = items = list(args[0])
        _check_length(_joined_length(items, _arg(args, kwargs, 1, "d", "")), limits, "join")


def _pre_sum(args: list[Any], kwargs: dict[str, Any], limits: ResourceLimits) -> None:
    start = _arg(args, kwargs, 2, "start", 0)
    if args and isinstance(start, (str, list, tuple)) and _arg(args, kwargs, 1, "attribute", None) is None:
        args[0] = items = list(args[0])
        size = len(start) + sum(len(item) for item in items if isinstance(item, (str, list, tuple)))
        _check_length(size, limits, "sum")


def _pre_count(position: int, name: str) -> Pre:
    def pre(args: list[Any], kwargs: dict[str, Any], limits: ResourceLimits) -> None:
        count = _arg(args, kwargs, position, name, 0)
        if isinstance(count, int):
            _check_length(count, limits, name)
    return pre


def _pre_format(args: list[Any], kwargs: dict[str, Any], limits: ResourceLimits) -> None:
    if args and isinstance(args[0], str):
        _check_percent_format(args[0], limits)


def _pre_wordwrap(args: list[Any], kwargs: dict[str, Any], limits: ResourceLimits) -> None:
    text, wrapstring = _arg(args, kwargs, 0, "s", ""), _arg(args, kwargs, 3, "wrapstring", None)
    if isinstance(text, str) and isinstance(wrapstring, str) and len(wrapstring) > 1:
        _check_length(len(text) * len(wrapstring), limits, "wordwrap")


_FILTER_CHECKS: dict[str, Pre] = {
    "center": _pre_center, "indent": _pre_indent, "replace": _pre_replace, "join": _pre_join,
    "sum": _pre_sum, "batch": _pre_count(1, "linecount"), "slice": _pre_count(1, "slices"),
    "format": _pre_format, "wordwrap": _pre_wordwrap,
}


def _guard_filter(original: Callable[..., Any], pre: Pre) -> Callable[..., Any]:
    skip = 1 if hasattr(original, "jinja_pass_arg") else 0  # the context/environment argument

    @functools.wraps(original)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        current = _budget()
        current.tick()
        values = list(args[skip:])
        pre(values, kwargs, current.limits)
        return check_size(original(*args[:skip], *values, **kwargs), current.limits, "a filter's result")

    return guarded


@pass_context
def _counted(_context: Context, iterable: Iterable[Any]) -> Iterator[Any]:
    """Wraps every for loop's iterable: each iteration spends the render's budget. (A
    context-passing filter, so the optimiser never calls it at compile time.)"""
    current = _budget()
    for item in iterable:
        current.iteration()
        yield item


def _range(*args: int) -> range:
    numbers = range(*args)
    limits = _budget().limits
    if len(numbers) > limits.max_template_loop_iterations:
        raise TemplateLimitError(f"range of {len(numbers):,}", "max_template_loop_iterations", limits)
    return numbers


class _Namespace(Namespace):
    """``namespace()`` whose attributes cannot hold huge values (a loop could double one)."""

    def __setitem__(self, name: str, value: Any) -> None:
        check_size(value, _budget().limits, f"namespace attribute {name!r}")
        super().__setitem__(name, value)


class GuardedEnvironment(ImmutableSandboxedEnvironment):
    """The sandbox with the limits above (see the module docstring)."""

    intercepted_binops = frozenset({"**", "*", "+", "%"})

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        for name, pre in _FILTER_CHECKS.items():
            self.filters[name] = _guard_filter(self.filters[name], pre)
        self.filters[LOOP_GUARD] = _counted
        self.globals["range"] = _range
        self.globals["namespace"] = _Namespace

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        current = _budget()
        current.tick()
        return guarded_binop(operator, left, right, current.limits)

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
        current = _budget()
        current.tick()
        args = check_call(__obj, args, kwargs, current.limits)
        result = super().call(__context, __obj, *args, **kwargs)
        return check_size(result, current.limits, "a call's result")

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        # The sandbox replaces str.format when it is read (not when called): check the format
        # string's widths there, before any call can allocate them.
        owner = getattr(value, "__self__", None)
        if isinstance(owner, str) and getattr(value, "__name__", "") in ("format", "format_map"):
            _check_format_method(owner, _budget().limits)
        return super().wrap_str_format(value)

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        # Jinja2 has no public hook between parsing and compiling; this is where every loop's
        # iterable gets its counter (before the optimiser, which must not fold it).
        tree = super()._parse(source, name, filename)
        for loop in tree.find_all(nodes.For):
            if loop.recursive:
                raise TemplateSyntaxError("recursive loops are not allowed in flow templates", loop.lineno, name, filename)
            loop.iter = nodes.Filter(loop.iter, LOOP_GUARD, [], [], None, None, lineno=loop.lineno)
        return tree


def render_limited(render_func: Callable[[Context], Iterator[str]], context: Context, limits: ResourceLimits) -> str:
    """Join a template's output, stopping as soon as it passes ``max_template_output_chars``."""
    parts: list[str] = []
    total = 0
    maximum = limits.max_template_output_chars
    for chunk in render_func(context):
        total += len(chunk)
        if total > maximum:
            raise TemplateLimitError("the output", "max_template_output_chars", limits)
        parts.append(chunk)
    return "".join(parts)
