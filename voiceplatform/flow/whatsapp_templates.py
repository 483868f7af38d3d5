"""An account's WhatsApp templates as validation sees them: a pure catalog, (name, language) ->
what Meta says of the template (category, status, how many body parameters, its quick-reply
buttons).

The engine reads no database: the catalog is built by the caller, from the ``whatsapp_templates``
table (``voiceplatform.messages.whatsapp_catalog.catalog_for``) or from a file of Graph API
``message_templates`` records (:func:`catalog_from_graph`: ``voiceplatform flow validate
--templates FILE.json``), and handed to ``voiceplatform.flow.template_checks``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterable, Iterator, Mapping

APPROVED = "APPROVED"
#: The categories Meta gives templates (and prices by: voiceplatform.campaigns.pricing).
CATEGORIES = ("MARKETING", "UTILITY", "AUTHENTICATION")
_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")


@dataclass(frozen=True)
class TemplateInfo:
    """One translation of a template: ``status`` and ``category`` as Meta gives them (upper case:
    ``APPROVED``, ``PAUSED``; ``MARKETING``, ``UTILITY``), ``body_params`` the number of its body's
    parameters, ``quick_replies`` its quick-reply buttons' texts in order."""

    name: str
    language: str
    category: str
    status: str
    body_params: int = 0
    quick_replies: tuple[str, ...] = ()

    @property
    def approved(self) -> bool:
        return self.status == APPROVED


class TemplateCatalog:
    """The templates of one account (or one file), by name and language."""

    def __init__(self, templates: Iterable[TemplateInfo] = ()) -> None:
        self._by_key: dict[tuple[str, str], TemplateInfo] = {}
        for info in templates:
            self._by_key[(info.name, info.language)] = info

    def get(self, name: str, language: str) -> TemplateInfo | None:
        return self._by_key.get((name, language))

    def languages(self, name: str) -> tuple[str, ...]:
        """The languages ``name`` has a translation in (sorted; empty: no such template)."""
        return tuple(sorted(language for known, language in self._by_key if known == name))

    def names(self) -> tuple[str, ...]:
        return tuple(sorted({name for name, _language in self._by_key}))

    def __iter__(self) -> Iterator[TemplateInfo]:
        return iter(self._by_key.values())

    def __len__(self) -> int:
        return len(self._by_key)


class TemplateRecordError(ValueError):
    """A template record that is not the Graph API's ``message_templates`` shape."""


def catalog_from_graph(document: Any) -> TemplateCatalog:
    """A catalog from Graph API ``message_templates`` records: a list of them, or the API's
    answer (``{"data": [...]}``). Raises :class:`TemplateRecordError` naming the bad record."""
    records = document.get("data") if isinstance(document, Mapping) else document
    if not isinstance(records, list):
        raise TemplateRecordError("templates are a list of message_templates records (or {\"data\": [...]})")
    return TemplateCatalog(template_from_graph(record, position) for position, record in enumerate(records))


def template_from_graph(record: Any, position: int = 0) -> TemplateInfo:
    """One ``message_templates`` record (``name``, ``language``, ``status``, ``category``,
    ``components``) as a :class:`TemplateInfo`: body parameters counted from the BODY component's
    ``{{1}}`` / ``{{name}}`` placeholders (each distinct one once), quick replies from its
    BUTTONS component's ``QUICK_REPLY`` buttons."""
    where = f"template {position + 1}"
    if not isinstance(record, Mapping):
        raise TemplateRecordError(f"{where} is not an object")
    name, language = record.get("name"), record.get("language")
    if not isinstance(name, str) or not name:
        raise TemplateRecordError(f"{where} has no name")
    if not isinstance(language, str) or not language:
        raise TemplateRecordError(f"{where} ({name}) has no language")
    components = record.get("components")
    components = [] if components is None else components
    if not isinstance(components, list):
        raise TemplateRecordError(f"{where} ({name}): components is not a list")
    body_params = 0
    quick_replies: list[str] = []
    for component in components:
        if not isinstance(component, Mapping):
            raise TemplateRecordError(f"{where} ({name}): a component is not an object")
        kind = str(component.get("type", "")).upper()
        if kind == "BODY":
            body_params = len(set(_PLACEHOLDER.findall(str(component.get("text") or ""))))
        elif kind == "BUTTONS":
            for button in component.get("buttons") or []:
                if isinstance(button, Mapping) and str(button.get("type", "")).upper() == "QUICK_REPLY":
                    quick_replies.append(str(button.get("text") or ""))
    return TemplateInfo(name, language, str(record.get("category") or "").upper(),
                        str(record.get("status") or "").upper(), body_params, tuple(quick_replies))
