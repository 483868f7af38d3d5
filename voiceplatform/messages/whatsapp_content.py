"""What a WhatsApp message of the messages API says: a free-form ``text``, a ``template``, or
both (docs/messages-api.md, "WhatsApp"), checked when it is submitted.

- ``text``: 1 to 4,096 characters once trimmed (Meta's limit for a text message), without NUL.
  Free-form: WhatsApp delivers it only inside the contact's 24-hour window, which the WhatsApp
  bridge decides when it sends.
- ``template``: ``{"name", "language"?, "params"?}``, the approved template sent outside the
  window. ``name`` is Meta's ``[a-z0-9_]{1,512}``, ``language`` a code such as ``en`` or ``en_US``
  (default ``en``; ``pt-BR`` is taken as ``pt_BR``), ``params`` the body parameters in order
  (``{{1}}``, ``{{2}}``...): at most 100 strings (numbers are their text), each 1 to 1,024
  characters, without NUL, line break or tab, nor more than four spaces in a row (Meta refuses
  them: error 132018).
- With both, the bridge sends the text inside the window and the template outside it; with a
  template only, always the template; with a text only, outside the window nothing is sent and
  the message fails (``outside_window``).

When the account has synced its templates (voiceplatform.messages.whatsapp_catalog), the
template must be among them, APPROVED, in that language, with as many parameters as its body
has; each refusal is a 400 naming the field (``template.name``, ``template.language``,
``template.params``). Its category (marketing, utility, authentication) is then known, and
prices the message (voiceplatform.messages.whatsapp_charges).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping

from voiceplatform.exceptions import MessageRefusedError
from voiceplatform.flow.whatsapp_templates import TemplateCatalog

MAX_TEXT_CHARS = 4_096
TEMPLATE_NAME = re.compile(r"[a-z0-9_]{1,512}")
TEMPLATE_LANGUAGE = re.compile(r"[a-z]{2,3}(?:_[A-Za-z0-9]{2,4})?")
MAX_PARAMS = 100
MAX_PARAM_CHARS = 1_024
TEMPLATE_FIELDS = ("name", "language", "params")
_SPACES = re.compile(r" {5,}")


@dataclass(frozen=True)
class TemplateSpec:
    """The template to send outside the window; ``category`` (lower case) when the account's
    templates are known, else None."""

    name: str
    language: str
    params: tuple[str, ...] = ()
    category: str | None = None

    def for_send(self) -> dict[str, Any]:
        """As an engine ``Send.template`` carries it."""
        return {"name": self.name, "language": self.language, "params": list(self.params)}

    def stored(self) -> dict[str, Any]:
        """As ``api_messages.template`` keeps it."""
        return {**self.for_send(), "category": self.category}


@dataclass(frozen=True)
class WhatsAppContent:
    """``text`` ("" with a template alone) and ``template`` (None with a text alone)."""

    text: str
    template: TemplateSpec | None


def read_content(text: Any, template: Any, catalog: TemplateCatalog | None) -> WhatsAppContent:
    """The message's content from the request's ``text`` and ``template`` (None: absent),
    checked against ``catalog`` when the account has one. MessageRefusedError naming the field."""
    spec = None if template is None else check_template(read_template(template), catalog)
    body = "" if text is None else read_text(text)
    if not body and spec is None:
        raise MessageRefusedError("empty_text", "a WhatsApp message needs a text, a template or both", field="text")
    return WhatsAppContent(body, spec)


def read_text(raw: Any) -> str:
    if not isinstance(raw, str):
        raise MessageRefusedError("invalid_text", "the text must be a string", field="text", status=400)
    if "\x00" in raw:
        raise MessageRefusedError("invalid_text", "the text contains a NUL character", field="text")
    text = raw.strip()
    if len(text) > MAX_TEXT_CHARS:
        raise MessageRefusedError("too_long", f"the text is {len(text):,} characters; a WhatsApp text is at most "
                                  f"{MAX_TEXT_CHARS:,}", field="text")
    if not text:
        raise MessageRefusedError("empty_text", "the text is empty", field="text")
    return text


def read_template(raw: Any) -> TemplateSpec:
    """The template's structure (what can be checked without the account's templates)."""
    if not isinstance(raw, Mapping):
        raise _invalid("'template' must be an object: {\"name\", \"language\", \"params\"}", "template")
    unknown = sorted(str(key)[:40] for key in raw if key not in TEMPLATE_FIELDS)
    if unknown:
        raise _invalid(f"unknown template fields {unknown}; a template takes {list(TEMPLATE_FIELDS)}", "template")
    name = raw.get("name")
    if not isinstance(name, str) or not TEMPLATE_NAME.fullmatch(name):
        raise _invalid("template.name must be the template's name as approved: 1 to 512 lower-case letters, digits "
                       "and _", "template.name")
    language = raw.get("language", "en")
    spelled = language.replace("-", "_") if isinstance(language, str) else None
    if spelled is None or not TEMPLATE_LANGUAGE.fullmatch(spelled):
        raise _invalid("template.language must be a language code such as en or en_US", "template.language")
    return TemplateSpec(name, spelled, _params(raw.get("params", [])))


def _params(raw: Any) -> tuple[str, ...]:
    if not isinstance(raw, list):
        raise _invalid("template.params must be a list of the body's parameters, in order", "template.params")
    if len(raw) > MAX_PARAMS:
        raise _invalid(f"template.params has {len(raw):,} items; at most {MAX_PARAMS}", "template.params")
    params: list[str] = []
    for position, value in enumerate(raw):
        where = f"template.params[{position}]"
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str) or not value.strip():
            raise _invalid(f"{where} must be a non-empty string", where)
        if len(value) > MAX_PARAM_CHARS:
            raise _invalid(f"{where} is {len(value):,} characters; at most {MAX_PARAM_CHARS:,}", where)
        if "\x00" in value or "\n" in value or "\r" in value or "\t" in value or _SPACES.search(value):
            raise _invalid(f"{where} may not hold a NUL, a line break, a tab or more than four spaces in a row "
                           "(WhatsApp refuses such a parameter)", where)
        params.append(value)
    return tuple(params)


def check_template(spec: TemplateSpec, catalog: TemplateCatalog | None) -> TemplateSpec:
    """``spec`` against the account's templates (none synced: unchecked, category unknown)."""
    if catalog is None:
        return spec
    languages = catalog.languages(spec.name)
    if not languages:
        raise MessageRefusedError("unknown_template", f"the account has no WhatsApp template {spec.name!r} "
                                  "(its templates are synced from Meta)", field="template.name", status=400)
    info = catalog.get(spec.name, spec.language)
    if info is None:
        raise MessageRefusedError("unknown_template", f"template {spec.name!r} has no {spec.language!r} translation "
                                  f"(it has {', '.join(languages)}; the language must match exactly)",
                                  field="template.language", status=400)
    if not info.approved:
        raise MessageRefusedError("template_not_approved", f"template {spec.name!r} ({spec.language}) is "
                                  f"{info.status or 'not approved'}: only APPROVED templates can be sent",
                                  field="template.name", status=400)
    if len(spec.params) != info.body_params:
        raise MessageRefusedError("template_params", f"template {spec.name!r} takes {info.body_params} body "
                                  f"parameters; {len(spec.params)} given", field="template.params", status=400)
    return TemplateSpec(spec.name, spec.language, spec.params, info.category.lower() or None)


def _invalid(message: str, field: str) -> MessageRefusedError:
    return MessageRefusedError("invalid_template", message, field=field, status=400)
