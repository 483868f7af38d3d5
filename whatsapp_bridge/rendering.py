"""An engine ``Send`` output as the Cloud API messages that carry it (:func:`render`).

The engine's WhatsApp renderer (``voiceplatform.flow.render.whatsapp``) already chose the form:
up to 3 choices as ``buttons``, more as ``list_rows`` (10 a page, the last row "More", id
``__more``), else text; a node's ``template:`` rides along on ``Send.template`` (name, language,
params, quick_replies). The bridge knows what the engine does not, whether the contact's 24-hour
window is open, and chooses:

===========================  ====================  ==========================================
the Send carries             window open           window closed
===========================  ====================  ==========================================
free-form only               free-form             the caller's ``template_for_fallback``, else
                                                   :class:`OutsideWindowError`
a template only              the template          the template
free-form and a template     free-form             the template (the node's declared fallback)
===========================  ====================  ==========================================

Free-form is: buttons → a button message (an image, video or document as its header); a list →
a list message (one section); media → a media message with the text as caption; text → text.

**Long texts are split, never cut.** :func:`render` gives a *list* of messages, in sending order:
a text over 4096 characters becomes several text messages (split at a paragraph, else a line,
else a space, else between characters but not inside an emoji sequence or before a combining
mark); an interactive body over its limit (1024 for buttons, 4096 for a list) sends its
beginning as text messages first and keeps the last part as the body; a caption over 1024, or
media that cannot carry one (audio, a sticker), goes as the media and then the text.
"""

from __future__ import annotations

import unicodedata
from typing import Any, Callable, Mapping, Sequence

from voiceplatform.flow.outputs import Button, Send
from voiceplatform.flow.render.whatsapp import fit
from whatsapp_bridge.errors import OutsideWindowError, WhatsAppPayloadError
from whatsapp_bridge.messages import (BUTTON_TITLE_CHARS, CAPTION_CHARS, CAPTIONED, HEADER_MEDIA,
                                      INTERACTIVE_BODY_CHARS, LIST_BODY_CHARS, LIST_BUTTON_CHARS, MEDIA_KINDS,
                                      ROW_TITLE_CHARS, TEXT_BODY_CHARS, ButtonMessage, ListMessage, ListRow,
                                      ListSection, MediaHeader, MediaKind, MediaMessage, MediaRef, Message,
                                      ReplyButton, TemplateMessage, TextMessage)

DEFAULT_LIST_BUTTON = "Choose"  # only when a Send has rows but no list_button (the engine always gives one)
MediaResolver = Callable[[str], "tuple[MediaKind, MediaRef]"]
TemplateSpec = Mapping[str, Any] | TemplateMessage

_EXTENSIONS: dict[str, MediaKind] = {
    "jpg": "image", "jpeg": "image", "png": "image",
    "mp4": "video", "3gp": "video",
    "mp3": "audio", "ogg": "audio", "opus": "audio", "aac": "audio", "amr": "audio", "m4a": "audio",
    "webp": "sticker",
}


def render(send: Send, *, window_open: bool, template_for_fallback: TemplateSpec | None = None,
           resolve_media: MediaResolver | None = None) -> list[Message]:
    """The messages that carry ``send`` (at least one), as the module's table says.
    ``template_for_fallback`` (a ``Send.template``-shaped mapping or a :class:`TemplateMessage`)
    is sent outside the window when ``send`` has no template of its own; ``resolve_media`` turns
    ``Send.media`` into a media kind and reference (default :func:`media_ref`: an https link or
    ``kind:id``; the runtime passes one that uploads local files). Raises
    :class:`OutsideWindowError`, or :class:`WhatsAppPayloadError` naming what does not fit."""
    free_form = bool(send.text.strip() or send.buttons or send.list_rows or send.media)
    if send.template is not None and (not window_open or not free_form):
        return [template_message(send.template)]
    if not free_form:
        raise WhatsAppPayloadError("the message has neither text, buttons, a list, media nor a template", "text")
    if not window_open:
        if template_for_fallback is not None:
            if isinstance(template_for_fallback, TemplateMessage):
                return [template_for_fallback]
            return [template_message(template_for_fallback)]
        raise OutsideWindowError(
            "the contact's 24-hour WhatsApp window is closed and this message has no template: outside the window "
            "WhatsApp delivers only approved templates (give the node a template: to send instead)")
    media = (resolve_media or media_ref)(send.media) if send.media else None
    if send.buttons:
        return _buttons(send.text, send.buttons, media)
    if send.list_rows:
        return _list(send.text, send.list_button, send.list_rows, media)
    if media is not None:
        return _media(send.text, *media)
    return [TextMessage(part) for part in split_text(send.text, TEXT_BODY_CHARS)]


def _buttons(text: str, buttons: Sequence[Button], media: tuple[MediaKind, MediaRef] | None) -> list[Message]:
    before: list[Message] = []
    header: MediaHeader | None = None
    if media is not None:
        kind, ref = media
        if kind in HEADER_MEDIA:
            header = MediaHeader(kind, ref)  # type: ignore[arg-type]  # kind is image, video or document here
        else:
            before.append(MediaMessage(kind, ref))
    *lead, body = split_text(text, INTERACTIVE_BODY_CHARS) or [""]
    before.extend(TextMessage(part) for part in lead)
    replies = tuple(ReplyButton(button.id, fit(button.title, BUTTON_TITLE_CHARS)) for button in buttons)
    return [*before, ButtonMessage(body, replies, header=header)]


def _list(text: str, list_button: str | None, rows: Sequence[Button],
          media: tuple[MediaKind, MediaRef] | None) -> list[Message]:
    before: list[Message] = [MediaMessage(*media)] if media is not None else []  # a list's header is text only
    *lead, body = split_text(text, LIST_BODY_CHARS) or [""]
    before.extend(TextMessage(part) for part in lead)
    section = ListSection(tuple(ListRow(row.id, fit(row.title, ROW_TITLE_CHARS)) for row in rows))
    label = fit(list_button or DEFAULT_LIST_BUTTON, LIST_BUTTON_CHARS)
    return [*before, ListMessage(label, body, (section,))]


def _media(text: str, kind: MediaKind, ref: MediaRef) -> list[Message]:
    text = text.strip()
    if text and kind in CAPTIONED and len(text) <= CAPTION_CHARS:
        return [MediaMessage(kind, ref, caption=text)]
    return [MediaMessage(kind, ref), *(TextMessage(part) for part in split_text(text, TEXT_BODY_CHARS))]


# ---- templates -------------------------------------------------------------------------------------


def _strings(value: Any, field: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, (list, tuple)) or not all(isinstance(item, str) for item in value):
        raise WhatsAppPayloadError(f"{field} must be a list of texts", field)
    return tuple(value)


def template_message(spec: Mapping[str, Any]) -> TemplateMessage:
    """A ``Send.template`` (``{"name", "language", "params", "quick_replies"}``; ``buttons`` is
    another name for ``quick_replies``, the payloads of the quick-reply buttons in order;
    ``header``: ``{"type": "image", "link": …}`` or ``{"type": …, "id": …}``) as a message."""
    if not isinstance(spec, Mapping):
        raise WhatsAppPayloadError("template must be an object", "template")
    header = spec.get("header")
    header_media: MediaHeader | None = None
    if header is not None:
        if not isinstance(header, Mapping):
            raise WhatsAppPayloadError("template.header must be an object", "template.header")
        kind = header.get("type")
        if kind not in HEADER_MEDIA:
            raise WhatsAppPayloadError("template.header.type must be image, video or document", "template.header.type")
        header_media = MediaHeader(kind, MediaRef(id=header.get("id"), link=header.get("link")))
    quick_replies = spec.get("quick_replies", spec.get("buttons"))
    return TemplateMessage(name=spec.get("name"),  # type: ignore[arg-type]  # checked by TemplateMessage
                           language=spec.get("language", "en"),
                           body_params=_strings(spec.get("params"), "template.params"),
                           header_media=header_media,
                           quick_replies=_strings(quick_replies, "template.quick_replies"))


# ---- media -----------------------------------------------------------------------------------------


def media_ref(value: str) -> tuple[MediaKind, MediaRef]:
    """``Send.media`` as a kind and a reference: ``https://…/x.jpg`` (the kind from the
    extension; a document when it says nothing), ``image:https://…``, or ``image:<media id>``.
    Anything else (a local file) must be uploaded first: :class:`WhatsAppPayloadError`."""
    kind: str | None = None
    rest = value
    head, colon, tail = value.partition(":")
    if colon and head in MEDIA_KINDS:
        kind, rest = head, tail
    if rest.startswith("https://"):
        if kind is None:
            path = rest.split("?", 1)[0].split("#", 1)[0]
            last = path.rsplit("/", 1)[-1]
            extension = last.rsplit(".", 1)[-1].lower() if "." in last else ""
            kind = _EXTENSIONS.get(extension, "document")
        return kind, MediaRef(link=rest)  # type: ignore[return-value]  # kind is one of MEDIA_KINDS
    if kind is not None and rest:
        return kind, MediaRef(id=rest)  # type: ignore[return-value]
    raise WhatsAppPayloadError(
        f"media {value[:60]!r} is neither an https:// link nor kind:id (a local file must be uploaded first)", "media")


# ---- splitting long texts --------------------------------------------------------------------------


def _joins_previous(ch: str) -> bool:
    """Whether ``ch`` belongs to the character before it (a combining mark, a zero-width joiner,
    a variation selector, an emoji skin tone)."""
    code = ord(ch)
    return (unicodedata.combining(ch) != 0 or ch == "\u200d" or 0xFE00 <= code <= 0xFE0F
            or 0x1F3FB <= code <= 0x1F3FF or 0xE0020 <= code <= 0xE007F)


def _cut(text: str, limit: int) -> int:
    """Where to end the first part of ``text`` (longer than ``limit``)."""
    for separator in ("\n\n", "\n", " "):
        at = text.rfind(separator, 0, limit + 1)
        if at > limit // 2:
            return at
    at = limit
    while at > 1 and (_joins_previous(text[at]) or text[at - 1] == "\u200d"):
        at -= 1
    return at if at > 1 else limit


def split_text(text: str, limit: int) -> list[str]:
    """``text`` in parts of at most ``limit`` characters, none blank (``[]`` for a blank text);
    the whitespace a split falls on is dropped, nothing else is."""
    parts: list[str] = []
    rest = text.strip()
    while len(rest) > limit:
        at = _cut(rest, limit)
        head = rest[:at].rstrip()
        if head:
            parts.append(head)
        rest = rest[at:].lstrip()
    if rest:
        parts.append(rest)
    return parts
