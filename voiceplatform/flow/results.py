"""How session data looks inside templates.

``contact``, ``vars``, ``call`` and ``message`` are :class:`Fields`: ``contact.first_name`` and
``contact["first name"]`` both work, and a field may be called ``items`` or ``keys`` without
clashing with dict methods. ``results.menu`` is the answer's value, and ``results.menu.label``,
``.input`` and ``.confidence`` its details.
"""

from __future__ import annotations

from typing import Any, Iterator


class Fields:
    """Attribute and item access to a dict, with no dict methods in the way."""

    __slots__ = ("_data",)

    def __init__(self, data: dict[str, Any]) -> None:
        self._data = data

    def __getitem__(self, name: str) -> Any:
        value = self._data[name]
        return Fields(value) if type(value) is dict else value

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __contains__(self, name: object) -> bool:
        return name in self._data

    def __str__(self) -> str:
        return str(self._data)


class ResultValue(str):
    """A result as templates see it: the value as text, with details as attributes."""

    __slots__ = ("label", "input", "confidence", "details")

    label: str | None
    input: str | None
    confidence: float | None
    details: dict[str, Any]


def as_template_value(entry: dict[str, Any]) -> ResultValue:
    value = ResultValue("" if entry.get("value") is None else entry["value"])
    value.label = entry.get("label")
    value.input = entry.get("input")
    value.confidence = entry.get("confidence")
    value.details = entry
    return value


class ResultsView(Fields):
    """Read-only view of the session's results; each entry becomes a :class:`ResultValue`."""

    __slots__ = ("_cache",)

    def __init__(self, entries: dict[str, dict[str, Any]]) -> None:
        super().__init__(entries)
        self._cache: dict[str, tuple[int, ResultValue]] = {}

    def __getitem__(self, name: str) -> ResultValue:
        entry = self._data[name]
        cached = self._cache.get(name)
        if cached is not None and cached[0] == id(entry):
            return cached[1]
        value = as_template_value(entry)
        self._cache[name] = (id(entry), value)
        return value


def plain(value: Any) -> Any:
    """A template value as plain JSON data (views unwrapped, undefined as None)."""
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, ResultValue):
        return str(value)
    if isinstance(value, str):
        return value
    if isinstance(value, Fields):
        return plain(value._data)
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if type(value).__name__.endswith("Undefined"):
        return None
    return str(value)
