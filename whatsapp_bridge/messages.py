"""Cloud API messages as typed, immutable values: built once, checked once, serialised per recipient.

Every builder checks the Cloud API's limits when it is constructed and raises
:class:`~whatsapp_bridge.errors.WhatsAppPayloadError` (an ``InputRejectedError``) naming the field
(``buttons[2].title``), so a message that exists can be sent; ``to_json(recipient)`` gives the
body of ``POST /{phone-number-id}/messages`` for a phone number (``to``, digits without ``+``) or
a BSUID (``recipient``). Lengths are counted in characters (code points), as the limits are stated.

=================  =========================================================================
builder            limits (docs/whatsapp-bridge.md, "Sending")
=================  =========================================================================
TextMessage        body 1-4096, preview_url
ButtonMessage      body ≤1024, 1-3 reply buttons (id ≤256, title ≤20, both unique), header
                   text ≤60 or media, footer ≤60
ListMessage        button ≤20, body ≤4096, header text ≤60, footer ≤60, 1-10 sections with
                   ≤10 rows in total (id ≤200 unique, title ≤24, description ≤72), section
                   title ≤24 (needed when there are several sections)
MediaMessage       image/audio/document/video/sticker by id or https link, caption ≤1024
                   (image, video, document), filename (document)
TemplateMessage    name, language code (policy deterministic), body parameters, a header
                   media parameter, quick-reply button payloads
MarkRead           the id of an inbound message (``to_json()`` needs no recipient)
=================  =========================================================================
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, Union

from whatsapp_bridge.errors import WhatsAppPayloadError
from whatsapp_bridge.identity import recipient_field

TEXT_BODY_CHARS = 4096
INTERACTIVE_BODY_CHARS = 1024  # a button message's body
LIST_BODY_CHARS = 4096
CAPTION_CHARS = 1024
HEADER_CHARS = 60
FOOTER_CHARS = 60
MAX_BUTTONS = 3
BUTTON_ID_CHARS = 256
BUTTON_TITLE_CHARS = 20
LIST_BUTTON_CHARS = 20
MAX_LIST_ROWS = 10  # in all sections together
MAX_SECTIONS = 10
ROW_ID_CHARS = 200
ROW_TITLE_CHARS = 24
ROW_DESCRIPTION_CHARS = 72
SECTION_TITLE_CHARS = 24
TEMPLATE_NAME = re.compile(r"[a-z0-9_]{1,512}")
TEMPLATE_LANGUAGE = re.compile(r"[a-z]{2,3}(?:_[A-Za-z0-9]{2,4})?")
# The bridge's own guards (Meta states none that we found): a parameter cannot be longer than the
# 1024-character template body it lands in; ten buttons is a template's maximum.
TEMPLATE_PARAM_CHARS = 1024
MAX_TEMPLATE_PARAMS = 100
MAX_QUICK_REPLIES = 10
QUICK_REPLY_PAYLOAD_CHARS = 256
FILENAME_CHARS = 240
MEDIA_ID_CHARS = 128
LINK_CHARS = 2048
MESSAGE_ID_CHARS = 256

MediaKind = Literal["image", "audio", "document", "video", "sticker"]
MEDIA_KINDS: frozenset[str] = frozenset({"image", "audio", "document", "video", "sticker"})
CAPTIONED: frozenset[str] = frozenset({"image", "video", "document"})
HEADER_MEDIA: frozenset[str] = frozenset({"image", "video", "document"})


def _text(value: object, field: str, limit: int, *, required: bool = True) -> None:
    """``value`` must be a string of at most ``limit`` characters, encodable (no lone surrogate),
    and not blank when ``required``."""
    if not isinstance(value, str):
        raise WhatsAppPayloadError(f"{field} must be text, not {type(value).__name__}", field)
    if required and not value.strip():
        raise WhatsAppPayloadError(f"{field} must not be empty", field)
    if len(value) > limit:
        raise WhatsAppPayloadError(f"{field} must be at most {limit} characters (got {len(value)})", field)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise WhatsAppPayloadError(f"{field} holds a lone surrogate at {exc.start}", field) from exc


def _optional(value: object, field: str, limit: int) -> None:
    if value is not None:
        _text(value, field, limit)


def _envelope(recipient: str, kind: str, content: dict[str, Any]) -> dict[str, Any]:
    where, address = recipient_field(recipient)
    return {"messaging_product": "whatsapp", "recipient_type": "individual", where: address, "type": kind,
            kind: content}


# ---- text ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TextMessage:
    type: ClassVar[str] = "text"
    free_form: ClassVar[bool] = True

    body: str
    preview_url: bool = False

    def __post_init__(self) -> None:
        _text(self.body, "text.body", TEXT_BODY_CHARS)
        if not isinstance(self.preview_url, bool):
            raise WhatsAppPayloadError("text.preview_url must be true or false", "text.preview_url")

    def to_json(self, recipient: str) -> dict[str, Any]:
        return _envelope(recipient, "text", {"body": self.body, "preview_url": self.preview_url})


# ---- media -----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MediaRef:
    """Uploaded media (``id``) or media Meta fetches (``link``, https only): exactly one."""

    id: str | None = None
    link: str | None = None

    def __post_init__(self) -> None:
        if (self.id is None) == (self.link is None):
            raise WhatsAppPayloadError("media needs exactly one of id and link", "media")
        if self.id is not None:
            _text(self.id, "media.id", MEDIA_ID_CHARS)
            if not self.id.isascii() or any(ch.isspace() for ch in self.id):
                raise WhatsAppPayloadError("media.id must be an id (no spaces)", "media.id")
        if self.link is not None:
            _text(self.link, "media.link", LINK_CHARS)
            if not self.link.startswith("https://") or len(self.link) <= len("https://") or any(
                    ch.isspace() for ch in self.link):
                raise WhatsAppPayloadError("media.link must be an https:// address", "media.link")

    def to_json(self) -> dict[str, str]:
        return {"id": self.id} if self.id is not None else {"link": self.link or ""}


def _media_kind(kind: object, field: str, allowed: frozenset[str]) -> None:
    if not isinstance(kind, str) or kind not in allowed:
        raise WhatsAppPayloadError(f"{field} must be one of {', '.join(sorted(allowed))}", field)


@dataclass(frozen=True, slots=True)
class MediaMessage:
    type: ClassVar[str] = "media"
    free_form: ClassVar[bool] = True

    kind: MediaKind
    media: MediaRef
    caption: str | None = None
    filename: str | None = None

    def __post_init__(self) -> None:
        _media_kind(self.kind, "media.type", MEDIA_KINDS)
        if not isinstance(self.media, MediaRef):
            raise WhatsAppPayloadError("media must be a MediaRef", "media")
        if self.caption is not None:
            if self.kind not in CAPTIONED:
                raise WhatsAppPayloadError(f"a {self.kind} message carries no caption", f"{self.kind}.caption")
            _text(self.caption, f"{self.kind}.caption", CAPTION_CHARS)
        if self.filename is not None:
            if self.kind != "document":
                raise WhatsAppPayloadError("only a document has a filename", f"{self.kind}.filename")
            _text(self.filename, "document.filename", FILENAME_CHARS)

    def to_json(self, recipient: str) -> dict[str, Any]:
        content: dict[str, Any] = self.media.to_json()
        if self.caption is not None:
            content["caption"] = self.caption
        if self.filename is not None:
            content["filename"] = self.filename
        return _envelope(recipient, self.kind, content)


# ---- interactive: reply buttons ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReplyButton:
    id: str
    title: str


@dataclass(frozen=True, slots=True)
class MediaHeader:
    kind: Literal["image", "video", "document"]
    media: MediaRef


Header = Union[str, MediaHeader]


def _header_json(header: Header) -> dict[str, Any]:
    if isinstance(header, str):
        return {"type": "text", "text": header}
    return {"type": header.kind, header.kind: header.media.to_json()}


def _check_header(header: object, *, media_allowed: bool) -> None:
    if header is None or isinstance(header, str):
        _optional(header, "header.text", HEADER_CHARS)
        return
    if not media_allowed or not isinstance(header, MediaHeader):
        raise WhatsAppPayloadError("header must be text" + (" or media" if media_allowed else ""), "header")
    _media_kind(header.kind, "header.type", HEADER_MEDIA)
    if not isinstance(header.media, MediaRef):
        raise WhatsAppPayloadError("header media must be a MediaRef", "header")


def _unique(values: list[str], field: str) -> None:
    seen: set[str] = set()
    for position, value in enumerate(values):
        if value in seen:
            raise WhatsAppPayloadError(f"{field.format(position)} {value!r} is used twice", field.format(position))
        seen.add(value)


def _interactive(header: Header | None, body: str, footer: str | None, kind: str,
                 action: dict[str, Any]) -> dict[str, Any]:
    content: dict[str, Any] = {"type": kind}
    if header is not None:
        content["header"] = _header_json(header)
    content["body"] = {"text": body}
    if footer is not None:
        content["footer"] = {"text": footer}
    content["action"] = action
    return content


@dataclass(frozen=True, slots=True)
class ButtonMessage:
    type: ClassVar[str] = "button"
    free_form: ClassVar[bool] = True

    body: str
    buttons: tuple[ReplyButton, ...]
    header: Header | None = None
    footer: str | None = None

    def __post_init__(self) -> None:
        _text(self.body, "body.text", INTERACTIVE_BODY_CHARS)
        if not isinstance(self.buttons, tuple) or not 1 <= len(self.buttons) <= MAX_BUTTONS:
            raise WhatsAppPayloadError(f"a button message needs 1 to {MAX_BUTTONS} buttons", "buttons")
        for position, button in enumerate(self.buttons):
            if not isinstance(button, ReplyButton):
                raise WhatsAppPayloadError("each button must be a ReplyButton", f"buttons[{position}]")
            _text(button.id, f"buttons[{position}].id", BUTTON_ID_CHARS)
            _text(button.title, f"buttons[{position}].title", BUTTON_TITLE_CHARS)
        _unique([button.id for button in self.buttons], "buttons[{}].id")
        _unique([button.title for button in self.buttons], "buttons[{}].title")
        _check_header(self.header, media_allowed=True)
        _optional(self.footer, "footer.text", FOOTER_CHARS)

    def to_json(self, recipient: str) -> dict[str, Any]:
        buttons = [{"type": "reply", "reply": {"id": button.id, "title": button.title}} for button in self.buttons]
        return _envelope(recipient, "interactive",
                         _interactive(self.header, self.body, self.footer, "button", {"buttons": buttons}))


# ---- interactive: list -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ListRow:
    id: str
    title: str
    description: str | None = None


@dataclass(frozen=True, slots=True)
class ListSection:
    rows: tuple[ListRow, ...]
    title: str | None = None


@dataclass(frozen=True, slots=True)
class ListMessage:
    type: ClassVar[str] = "list"
    free_form: ClassVar[bool] = True

    button: str
    body: str
    sections: tuple[ListSection, ...]
    header: str | None = None
    footer: str | None = None

    def __post_init__(self) -> None:
        _text(self.button, "action.button", LIST_BUTTON_CHARS)
        _text(self.body, "body.text", LIST_BODY_CHARS)
        _check_header(self.header, media_allowed=False)
        _optional(self.footer, "footer.text", FOOTER_CHARS)
        if not isinstance(self.sections, tuple) or not 1 <= len(self.sections) <= MAX_SECTIONS:
            raise WhatsAppPayloadError(f"a list needs 1 to {MAX_SECTIONS} sections", "sections")
        ids: list[str] = []
        for number, section in enumerate(self.sections):
            where = f"sections[{number}]"
            if not isinstance(section, ListSection) or not isinstance(section.rows, tuple) or not section.rows:
                raise WhatsAppPayloadError(f"{where} must be a ListSection with at least one row", where)
            if section.title is None and len(self.sections) > 1:
                raise WhatsAppPayloadError(f"{where}.title is needed when a list has several sections",
                                           f"{where}.title")
            _optional(section.title, f"{where}.title", SECTION_TITLE_CHARS)
            for position, row in enumerate(section.rows):
                at = f"{where}.rows[{position}]"
                if not isinstance(row, ListRow):
                    raise WhatsAppPayloadError(f"{at} must be a ListRow", at)
                _text(row.id, f"{at}.id", ROW_ID_CHARS)
                _text(row.title, f"{at}.title", ROW_TITLE_CHARS)
                _optional(row.description, f"{at}.description", ROW_DESCRIPTION_CHARS)
                ids.append(row.id)
        if len(ids) > MAX_LIST_ROWS:
            raise WhatsAppPayloadError(f"a list holds at most {MAX_LIST_ROWS} rows in all (got {len(ids)})", "sections")
        if len(set(ids)) != len(ids):
            raise WhatsAppPayloadError("the rows' ids must be unique across the list", "sections")

    def to_json(self, recipient: str) -> dict[str, Any]:
        sections = []
        for section in self.sections:
            rows = []
            for row in section.rows:
                item = {"id": row.id, "title": row.title}
                if row.description is not None:
                    item["description"] = row.description
                rows.append(item)
            sections.append({"title": section.title, "rows": rows} if section.title is not None else {"rows": rows})
        action = {"button": self.button, "sections": sections}
        return _envelope(recipient, "interactive", _interactive(self.header, self.body, self.footer, "list", action))


# ---- template --------------------------------------------------------------------------------------


def template_language(code: object) -> str:
    """A template language code as Meta spells it (``en``, ``en_US``, ``pt_BR``); ``pt-BR`` is
    accepted and written with the underscore. Raises :class:`WhatsAppPayloadError` otherwise."""
    if isinstance(code, str):
        spelled = code.replace("-", "_")
        if TEMPLATE_LANGUAGE.fullmatch(spelled):
            return spelled
    raise WhatsAppPayloadError("template.language must be a code such as en or en_US", "template.language")


@dataclass(frozen=True, slots=True)
class TemplateMessage:
    """An approved template: ``body_params`` fill ``{{1}}``, ``{{2}}``… in order; ``header_media``
    fills a media header; ``quick_replies`` are the payloads of its quick-reply buttons, by index
    (what the webhook gives back when one is tapped)."""

    type: ClassVar[str] = "template"
    free_form: ClassVar[bool] = False

    name: str
    language: str
    body_params: tuple[str, ...] = ()
    header_media: MediaHeader | None = None
    quick_replies: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not TEMPLATE_NAME.fullmatch(self.name):
            raise WhatsAppPayloadError("template.name must be 1-512 lowercase letters, digits or _", "template.name")
        object.__setattr__(self, "language", template_language(self.language))
        if not isinstance(self.body_params, tuple) or len(self.body_params) > MAX_TEMPLATE_PARAMS:
            raise WhatsAppPayloadError(f"template body parameters: a tuple of at most {MAX_TEMPLATE_PARAMS}",
                                       "template.params")
        for position, param in enumerate(self.body_params):
            _text(param, f"template.params[{position}]", TEMPLATE_PARAM_CHARS)
        if self.header_media is not None:
            _check_header(self.header_media, media_allowed=True)
        if not isinstance(self.quick_replies, tuple) or len(self.quick_replies) > MAX_QUICK_REPLIES:
            raise WhatsAppPayloadError(f"template buttons: a tuple of at most {MAX_QUICK_REPLIES} payloads",
                                       "template.buttons")
        for position, payload in enumerate(self.quick_replies):
            _text(payload, f"template.buttons[{position}]", QUICK_REPLY_PAYLOAD_CHARS)

    def to_json(self, recipient: str) -> dict[str, Any]:
        components: list[dict[str, Any]] = []
        if self.header_media is not None:
            kind = self.header_media.kind
            components.append({"type": "header",
                               "parameters": [{"type": kind, kind: self.header_media.media.to_json()}]})
        if self.body_params:
            components.append({"type": "body",
                               "parameters": [{"type": "text", "text": param} for param in self.body_params]})
        for index, payload in enumerate(self.quick_replies):
            components.append({"type": "button", "sub_type": "quick_reply", "index": str(index),
                               "parameters": [{"type": "payload", "payload": payload}]})
        content: dict[str, Any] = {"name": self.name, "language": {"policy": "deterministic", "code": self.language}}
        if components:
            content["components"] = components
        return _envelope(recipient, "template", content)


# ---- mark as read ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MarkRead:
    """Marks the inbound message ``message_id`` (a wamid) read: the user sees blue ticks."""

    message_id: str

    def __post_init__(self) -> None:
        _text(self.message_id, "message_id", MESSAGE_ID_CHARS)

    def to_json(self, recipient: str | None = None) -> dict[str, Any]:
        return {"messaging_product": "whatsapp", "status": "read", "message_id": self.message_id}


Message = Union[TextMessage, ButtonMessage, ListMessage, MediaMessage, TemplateMessage]
