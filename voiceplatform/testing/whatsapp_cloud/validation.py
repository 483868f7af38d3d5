"""Request validation for ``POST /{version}/{phone-number-id}/messages``, as Meta validates.

Which code answers what (Meta's error-codes page and the limits pages it cites):

- the body is not a JSON object, a field has the wrong type, an unknown ``type`` or enum value,
  ``messaging_product`` is not ``whatsapp``, ``text.body`` or a caption is too long: **100**;
- a required field is missing or empty: **131008**;
- a value breaks an interactive limit (buttons: 1-3, unique ids and titles, title ≤20, id ≤256;
  lists: button ≤20, ≤10 rows in total, row title ≤24, description ≤72, id ≤200, section title
  ≤24; body ≤1024 for buttons and ≤4096 for lists; header/footer ≤60) or a phone number is not
  one: **131009**.

Template names, languages, approval states and parameter counts are checked against the
registry by :func:`check_template` (132000, 132001, 132015, 132016).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from voiceplatform.testing.whatsapp_cloud.errors import CloudApiError
from voiceplatform.testing.whatsapp_cloud.registry import Registry, Template

MAX_TEXT_BODY = 4096
MAX_CAPTION = 1024
MAX_BUTTON_BODY = 1024
MAX_LIST_BODY = 4096
MAX_HEADER_FOOTER = 60
MAX_BUTTONS = 3
MAX_BUTTON_TITLE = 20
MAX_BUTTON_ID = 256
MAX_LIST_BUTTON = 20
MAX_LIST_SECTIONS = 10
MAX_LIST_ROWS = 10
MAX_ROW_ID = 200
MAX_ROW_TITLE = 24
MAX_ROW_DESCRIPTION = 72
MAX_SECTION_TITLE = 24
MAX_FILENAME = 240
MAX_TEMPLATE_PARAM = 32768
MEDIA_TYPES = ("image", "audio", "document", "video", "sticker")
MESSAGE_TYPES = ("text", "template", "interactive") + MEDIA_TYPES
_PHONE = re.compile(r"^\+?[0-9][0-9 ()\-]{4,30}$")
_BSUID = re.compile(r"^[A-Z]{2}\.[0-9A-Za-z]{5,64}$")


@dataclass(frozen=True)
class TemplateRequest:
    name: str
    language: str
    #: parameters given per component: ("body", None) → n, ("header", None) → n, ("button", i) → n
    parameter_counts: dict[tuple[str, int | None], int] = field(default_factory=dict)
    button_sub_types: dict[int, str] = field(default_factory=dict)


@dataclass(frozen=True)
class OutboundRequest:
    type: str
    body: dict[str, Any]
    to: str | None = None
    recipient: str | None = None
    template: TemplateRequest | None = None
    #: ``to`` or ``recipient`` as the request gave it (the success body's ``contacts[].input``)
    given: str = ""

    @property
    def recipient_input(self) -> str:
        return self.given or (self.to if self.to is not None else str(self.recipient))


@dataclass(frozen=True)
class MarkReadRequest:
    message_id: str
    typing_indicator: bool = False


# ---------------------------------------------------------------- helpers
def _invalid(details: str) -> CloudApiError:
    return CloudApiError(100, details)


def _missing(param: str) -> CloudApiError:
    return CloudApiError(131008, f"The parameter {param} is required.")


def _bad_value(details: str) -> CloudApiError:
    return CloudApiError(131009, details)


def _object(parent: dict[str, Any], key: str, path: str, *, required: bool = True) -> dict[str, Any] | None:
    value = parent.get(key)
    if value is None:
        if required:
            raise _missing(path)
        return None
    if not isinstance(value, dict):
        raise _invalid(f"Param {path} must be a JSON object.")
    return value


def _string(parent: dict[str, Any], key: str, path: str, *, required: bool = True,
            limit: int | None = None, limit_code: int = 131009, numeric_ok: bool = False) -> str | None:
    value = parent.get(key)
    if value is None or value == "":
        if required:
            raise _missing(path)
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int) if numeric_ok else str):
        raise _invalid(f"Param {path} must be a string.")
    text = str(value)
    if limit is not None and len(text) > limit:
        raise CloudApiError(limit_code, f"Param {path} must be at most {limit} characters long.")
    return text


def _list(parent: dict[str, Any], key: str, path: str) -> list[Any]:
    value = parent.get(key)
    if value is None or value == []:
        raise _missing(path)
    if not isinstance(value, list):
        raise _invalid(f"Param {path} must be an array.")
    return value


def _media_object(value: dict[str, Any], path: str) -> None:
    media_id = _string(value, "id", f"{path}['id']", required=False, limit=128)
    link = _string(value, "link", f"{path}['link']", required=False, limit=2000)
    if media_id is None and link is None:
        raise _missing(f"{path}['id'] or {path}['link']")
    if media_id is not None and link is not None:
        raise _bad_value(f"Param {path} must have either 'id' or 'link', not both.")
    if link is not None and not re.match(r"^https?://[^\s/]+", link):
        raise _bad_value(f"Param {path}['link'] is not a valid http or https URL.")


# ---------------------------------------------------------------- the request
def validate_request(body: Any) -> OutboundRequest | MarkReadRequest:
    if not isinstance(body, dict):
        raise _invalid("The request body must be a JSON object.")
    product = body.get("messaging_product")
    if product is None:
        raise _missing("messaging_product")
    if product != "whatsapp":
        raise _invalid("Param messaging_product must be one of {WHATSAPP} - got \"%s\"." % str(product)[:40])
    if body.get("status") is not None:
        if body.get("status") != "read":
            raise _invalid("Param status must be one of {READ}.")
        message_id = _string(body, "message_id", "message_id", limit=256)
        indicator = body.get("typing_indicator")
        if indicator is not None and not (isinstance(indicator, dict) and indicator.get("type") == "text"):
            raise _invalid("Param typing_indicator['type'] must be one of {TEXT}.")
        return MarkReadRequest(str(message_id), typing_indicator=indicator is not None)
    recipient_type = body.get("recipient_type", "individual")
    if recipient_type != "individual":
        raise _invalid("Param recipient_type must be one of {INDIVIDUAL}.")
    to = _string(body, "to", "to", required=False, limit=40, numeric_ok=True)
    recipient = _string(body, "recipient", "recipient", required=False, limit=80)
    if to is None and recipient is None:
        raise _missing("to")
    if to is not None and not _PHONE.match(to):
        raise _bad_value(f"The parameter to is not a valid phone number: {to!r}.")
    if to is None and recipient is not None and not _BSUID.match(recipient):
        raise _bad_value(f"The parameter recipient is not a valid business-scoped user id: {recipient!r}.")
    kind = body.get("type", "text")
    if not isinstance(kind, str) or kind not in MESSAGE_TYPES:
        raise _invalid("Param type must be one of {%s}." % ", ".join(t.upper() for t in MESSAGE_TYPES))
    context = _object(body, "context", "context", required=False)
    if context is not None:
        _string(context, "message_id", "context['message_id']", limit=256)
    _string(body, "biz_opaque_callback_data", "biz_opaque_callback_data", required=False, limit=512)
    template: TemplateRequest | None = None
    if kind == "text":
        _validate_text(body)
    elif kind == "interactive":
        _validate_interactive(body)
    elif kind == "template":
        template = _validate_template(body)
    else:
        _validate_media(body, kind)
    return OutboundRequest(kind, body, to=None if to is None else re.sub(r"\D", "", to),
                           recipient=recipient if to is None else None, template=template,
                           given=to if to is not None else str(recipient))


def _validate_text(body: dict[str, Any]) -> None:
    text = _object(body, "text", "text")
    assert text is not None
    _string(text, "body", "text['body']", limit=MAX_TEXT_BODY, limit_code=100)
    preview = text.get("preview_url")
    if preview is not None and not isinstance(preview, bool):
        raise _invalid("Param text['preview_url'] must be a boolean.")


def _validate_media(body: dict[str, Any], kind: str) -> None:
    media = _object(body, kind, kind)
    assert media is not None
    _media_object(media, kind)
    if media.get("caption") is not None:
        if kind in ("audio", "sticker"):
            raise _invalid(f"Param {kind}['caption'] is not supported for {kind} messages.")
        _string(media, "caption", f"{kind}['caption']", limit=MAX_CAPTION, limit_code=100)
    if media.get("filename") is not None:
        if kind != "document":
            raise _invalid(f"Param {kind}['filename'] is only supported for documents.")
        _string(media, "filename", "document['filename']", limit=MAX_FILENAME)


def _validate_interactive(body: dict[str, Any]) -> None:
    interactive = _object(body, "interactive", "interactive")
    assert interactive is not None
    kind = interactive.get("type")
    if kind is None:
        raise _missing("interactive['type']")
    if kind not in ("button", "list"):
        raise _invalid("Param interactive['type'] must be one of {BUTTON, LIST}.")
    content = _object(interactive, "body", "interactive['body']")
    assert content is not None
    _string(content, "text", "interactive['body']['text']",
            limit=MAX_BUTTON_BODY if kind == "button" else MAX_LIST_BODY)
    footer = _object(interactive, "footer", "interactive['footer']", required=False)
    if footer is not None:
        _string(footer, "text", "interactive['footer']['text']", limit=MAX_HEADER_FOOTER)
    header = _object(interactive, "header", "interactive['header']", required=False)
    if header is not None:
        _validate_interactive_header(header, kind)
    action = _object(interactive, "action", "interactive['action']")
    assert action is not None
    if kind == "button":
        _validate_buttons(action)
    else:
        _validate_list(action)


def _validate_interactive_header(header: dict[str, Any], kind: str) -> None:
    header_type = header.get("type")
    allowed = ("text", "image", "video", "document") if kind == "button" else ("text",)
    if header_type not in allowed:
        raise _bad_value("Param interactive['header']['type'] must be one of {%s} for %s messages."
                         % (", ".join(a.upper() for a in allowed), kind))
    if header_type == "text":
        _string(header, "text", "interactive['header']['text']", limit=MAX_HEADER_FOOTER)
    else:
        media = _object(header, str(header_type), f"interactive['header']['{header_type}']")
        assert media is not None
        _media_object(media, f"interactive['header']['{header_type}']")


def _validate_buttons(action: dict[str, Any]) -> None:
    buttons = _list(action, "buttons", "interactive['action']['buttons']")
    if len(buttons) > MAX_BUTTONS:
        raise _bad_value(f"Param interactive['action']['buttons'] must have at most {MAX_BUTTONS} elements.")
    ids: set[str] = set()
    titles: set[str] = set()
    for i, button in enumerate(buttons):
        path = f"interactive['action']['buttons'][{i}]"
        if not isinstance(button, dict):
            raise _invalid(f"Param {path} must be a JSON object.")
        if button.get("type") != "reply":
            raise _invalid(f"Param {path}['type'] must be one of {{REPLY}}.")
        reply = _object(button, "reply", f"{path}['reply']")
        assert reply is not None
        button_id = _string(reply, "id", f"{path}['reply']['id']", limit=MAX_BUTTON_ID)
        title = _string(reply, "title", f"{path}['reply']['title']", limit=MAX_BUTTON_TITLE)
        assert button_id is not None and title is not None
        if button_id in ids:
            raise _bad_value(f"Duplicate button id {button_id!r}: button ids must be unique.")
        if title.strip().lower() in titles:
            raise _bad_value(f"Duplicate button title {title!r}: button titles must be unique.")
        ids.add(button_id)
        titles.add(title.strip().lower())


def _validate_list(action: dict[str, Any]) -> None:
    _string(action, "button", "interactive['action']['button']", limit=MAX_LIST_BUTTON)
    sections = _list(action, "sections", "interactive['action']['sections']")
    if len(sections) > MAX_LIST_SECTIONS:
        raise _bad_value(f"Param interactive['action']['sections'] must have at most {MAX_LIST_SECTIONS} elements.")
    rows_total = 0
    row_ids: set[str] = set()
    for i, section in enumerate(sections):
        path = f"interactive['action']['sections'][{i}]"
        if not isinstance(section, dict):
            raise _invalid(f"Param {path} must be a JSON object.")
        _string(section, "title", f"{path}['title']", required=len(sections) > 1, limit=MAX_SECTION_TITLE)
        rows = _list(section, "rows", f"{path}['rows']")
        rows_total += len(rows)
        if rows_total > MAX_LIST_ROWS:
            raise _bad_value(f"Total row count exceeded: a list has at most {MAX_LIST_ROWS} rows across all sections.")
        for j, row in enumerate(rows):
            row_path = f"{path}['rows'][{j}]"
            if not isinstance(row, dict):
                raise _invalid(f"Param {row_path} must be a JSON object.")
            row_id = _string(row, "id", f"{row_path}['id']", limit=MAX_ROW_ID)
            _string(row, "title", f"{row_path}['title']", limit=MAX_ROW_TITLE)
            _string(row, "description", f"{row_path}['description']", required=False, limit=MAX_ROW_DESCRIPTION)
            assert row_id is not None
            if row_id in row_ids:
                raise _bad_value(f"Duplicate row id {row_id!r}: row ids must be unique.")
            row_ids.add(row_id)


_PARAM_TYPES = ("text", "currency", "date_time", "image", "video", "document", "location", "payload", "coupon_code")


def _validate_template(body: dict[str, Any]) -> TemplateRequest:
    template = _object(body, "template", "template")
    assert template is not None
    name = _string(template, "name", "template['name']", limit=512)
    language = _object(template, "language", "template['language']")
    assert name is not None and language is not None
    code = _string(language, "code", "template['language']['code']", limit=20)
    assert code is not None
    policy = language.get("policy")
    if policy is not None and policy != "deterministic":
        raise _invalid("Param template['language']['policy'] must be one of {DETERMINISTIC}.")
    components = template.get("components", [])
    if not isinstance(components, list):
        raise _invalid("Param template['components'] must be an array.")
    counts: dict[tuple[str, int | None], int] = {}
    sub_types: dict[int, str] = {}
    for i, component in enumerate(components):
        path = f"template['components'][{i}]"
        if not isinstance(component, dict):
            raise _invalid(f"Param {path} must be a JSON object.")
        kind = component.get("type")
        if kind not in ("header", "body", "button"):
            raise _invalid(f"Param {path}['type'] must be one of {{HEADER, BODY, BUTTON}}.")
        parameters = component.get("parameters", [])
        if not isinstance(parameters, list):
            raise _invalid(f"Param {path}['parameters'] must be an array.")
        for j, parameter in enumerate(parameters):
            _validate_template_parameter(parameter, f"{path}['parameters'][{j}]")
        index: int | None = None
        if kind == "button":
            sub_type = component.get("sub_type")
            if sub_type not in ("quick_reply", "url", "copy_code", "flow", "catalog"):
                raise _invalid(f"Param {path}['sub_type'] must be one of {{QUICK_REPLY, URL, COPY_CODE, FLOW, CATALOG}}.")
            raw_index = component.get("index")
            if raw_index is None:
                raise _missing(f"{path}['index']")
            if isinstance(raw_index, bool) or not str(raw_index).isdigit() or int(str(raw_index)) > 9:
                raise _invalid(f"Param {path}['index'] must be an integer between 0 and 9.")
            index = int(str(raw_index))
            sub_types[index] = str(sub_type)
            if sub_type == "quick_reply":
                parameters = [p for p in parameters if p.get("type") != "payload"]
        key = (str(kind), index)
        if key in counts:
            raise _bad_value(f"Duplicate template component {kind}{'' if index is None else f' {index}'}.")
        counts[key] = len(parameters)
    return TemplateRequest(name, code, counts, sub_types)


def _validate_template_parameter(parameter: Any, path: str) -> None:
    if not isinstance(parameter, dict):
        raise _invalid(f"Param {path} must be a JSON object.")
    kind = parameter.get("type")
    if kind not in _PARAM_TYPES:
        raise _invalid("Param %s['type'] must be one of {%s}." % (path, ", ".join(t.upper() for t in _PARAM_TYPES)))
    if kind in ("text", "payload", "coupon_code"):
        _string(parameter, kind, f"{path}['{kind}']", limit=MAX_TEMPLATE_PARAM)
    elif kind in ("image", "video", "document"):
        media = _object(parameter, str(kind), f"{path}['{kind}']")
        assert media is not None
        _media_object(media, f"{path}['{kind}']")
    else:
        _object(parameter, str(kind), f"{path}['{kind}']")


# ---------------------------------------------------------------- against the registry
def check_template(registry: Registry, request: TemplateRequest) -> Template:
    """The approved template the request names, or Meta's refusal."""
    named = registry.templates_named(request.name)
    translation = next((t for t in named if t.language == request.language), None)
    if translation is None:
        languages = ", ".join(sorted(t.language for t in named)) or "none"
        raise CloudApiError(132001, f"template name ({request.name}) does not exist in {request.language} "
                                    f"(translations: {languages})")
    if translation.status == "PAUSED":
        raise CloudApiError(132015, f"Template {request.name} ({request.language}) is paused because of low quality.")
    if translation.status == "DISABLED":
        raise CloudApiError(132016, f"Template {request.name} ({request.language}) has been disabled.")
    if translation.status != "APPROVED":
        raise CloudApiError(132001, f"template name ({request.name}) does not exist in {request.language}: "
                                    f"its status is {translation.status}, only APPROVED templates can be sent")
    expected: dict[tuple[str, int | None], int] = {}
    if translation.header_params:
        expected[("header", None)] = translation.header_params
    if translation.body_params:
        expected[("body", None)] = translation.body_params
    for i, button in enumerate(translation.buttons):
        if translation.button_params(i):
            expected[("button", i)] = translation.button_params(i)
    given = {k: v for k, v in request.parameter_counts.items() if v or k[0] != "button"}
    given = {k: v for k, v in given.items() if v or k in expected}
    for key in set(expected) | set(given):
        if key[0] == "button" and key[1] is not None and key[1] >= len(translation.buttons):
            raise CloudApiError(132000, f"template {request.name} has no button {key[1]}")
        if expected.get(key, 0) != given.get(key, 0):
            where = key[0] if key[1] is None else f"button {key[1]}"
            raise CloudApiError(132000, f"number of localizable_params ({given.get(key, 0)}) does not match the "
                                        f"expected number of params ({expected.get(key, 0)}) in the {where}")
    for index, sub_type in request.button_sub_types.items():
        if index < len(translation.buttons):
            actual = str(translation.buttons[index].get("type", "")).lower()
            if actual != sub_type and not (actual == "url" and sub_type == "copy_code"):
                raise CloudApiError(131009, f"button {index} of template {request.name} is {actual}, not {sub_type}")
    return translation
