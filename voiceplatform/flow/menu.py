"""A gather's menu as the contact meets it: its choices with labels rendered, and the items a
``choices_from`` expression built from data (a webhook's slots, say).

A menu whose choices hold no template is built once per process. A templated or data-driven menu
is rendered when the question is asked and kept in the session's wait (``wait.menu``), so the
reply is matched against exactly what the contact heard or read, even when the data or the
clock has moved on by the time the answer comes.

How a menu is shown (read out, listed, buttons, a paged list) is its channel's renderer's concern:
``voiceplatform.flow.render``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Sequence

from voiceplatform.flow.matching import ChoiceIndex
from voiceplatform.flow.results import Fields

if TYPE_CHECKING:
    from voiceplatform.flow.run import Run

MAX_DYNAMIC_CHOICES = 100  # items a choices_from offers; the rest are dropped with an error event


@dataclass(frozen=True, slots=True)
class MenuItem:
    key: str
    label: str
    synonyms: tuple[str, ...] = ()
    exit: str = "next"  # the exit taken: "choice KEY" for a choice with its own next
    value: Any = None  # what is stored as the result (None: the key)

    @property
    def stored(self) -> Any:
        return self.key if self.value is None else self.value

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"key": self.key, "label": self.label}
        if self.synonyms:
            out["synonyms"] = list(self.synonyms)
        if self.exit != "next":
            out["exit"] = self.exit
        if self.value is not None:
            out["value"] = self.value
        return out

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> MenuItem:
        return cls(str(raw.get("key", "")), str(raw.get("label", "")), tuple(raw.get("synonyms") or ()),
                   str(raw.get("exit", "next")), raw.get("value"))


@dataclass(frozen=True, slots=True)
class Menu:
    items: tuple[MenuItem, ...]
    index: ChoiceIndex

    @classmethod
    def of(cls, items: Sequence[MenuItem]) -> Menu:
        return cls(tuple(items), ChoiceIndex.build([(i.key, i.label, i.synonyms) for i in items]))

    @property
    def digit_limit(self) -> int | None:
        return max((len(item.key) for item in self.items), default=None)

    @property
    def speech_phrases(self) -> tuple[str, ...]:
        phrases: list[str] = []
        for item in self.items:
            phrases.extend((item.label, *item.synonyms))
        return tuple(dict.fromkeys(phrases))

    def to_json(self) -> list[dict[str, Any]]:
        return [item.to_json() for item in self.items]

    @classmethod
    def from_json(cls, raw: list[dict[str, Any]]) -> Menu:
        return cls.of([MenuItem.from_json(item) for item in raw if isinstance(item, dict)])


def dynamic_items(run: Run, items_expression: str, key: str | None, label: str | None,
                  value: str | None) -> list[MenuItem]:
    """Render a choices_from: one item per element of the list ``items_expression`` gives.
    ``item`` and ``index`` (1-based) are in scope of the key, label and value templates. Keys
    default to the index, labels to ``item.label`` (or the item itself)."""
    data = run.expression(items_expression)
    if data is None:
        return []
    if not isinstance(data, list):
        run.error("bad_choices", f"choices_from gave {type(data).__name__}, not a list")
        return []
    if len(data) > MAX_DYNAMIC_CHOICES:
        run.error("too_many_choices", f"choices_from gave {len(data)} items; the first {MAX_DYNAMIC_CHOICES} are offered")
        data = data[:MAX_DYNAMIC_CHOICES]
    out: list[MenuItem] = []
    seen: set[str] = set()
    for position, element in enumerate(data, start=1):
        scope = {"item": Fields(element) if isinstance(element, dict) else element, "index": position}
        item_key = run.text(key, scope) if key is not None else str(position)
        if label is not None:
            item_label = run.text(label, scope)
        elif isinstance(element, dict) and "label" in element:
            item_label = str(element["label"])
        else:
            item_label = str(element)
        if not item_key or item_key in seen:
            run.error("bad_choice", f"choices_from item {position}: key {item_key!r} is empty or used twice; skipped")
            continue
        seen.add(item_key)
        stored = run.value(value, scope) if value is not None else None
        out.append(MenuItem(item_key, item_label or item_key, value=stored))
    return out
