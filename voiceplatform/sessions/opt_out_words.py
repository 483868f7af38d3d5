"""Opt-out words: STOP, UNSUBSCRIBE and their Arabic equivalents (each account may set its own),
recognised in an inbound message *before* any flow sees it.

A message is an opt-out when, normalised, it is one of the words: case and surrounding
punctuation ignored, Arabic diacritics and tatweel removed, the alef forms (أ إ آ) read as ا, so
"Stop!", "إلغاء" and "الغاء" all match. Only the whole message counts: "don't stop" is a reply.
The confirmation is sent in Arabic when the message was written in Arabic script, else in
English (the account's texts, else the defaults below).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Iterable

from sqlalchemy.orm import Session

from voiceplatform.models.sessions import OptOutSettings

DEFAULT_WORDS: tuple[str, ...] = (
    "stop", "stopall", "unsubscribe",
    "إلغاء", "الغاء", "توقف", "إيقاف", "الغاء الاشتراك", "إلغاء الاشتراك",
)
DEFAULT_CONFIRMATION: dict[str, str] = {
    "en": "You have been unsubscribed and will get no more messages from us here.",
    "ar": "تم إلغاء اشتراكك، ولن تصلك منا رسائل أخرى هنا.",
}
_DIACRITICS = re.compile("[\u064b-\u065f\u0670\u0640]")  # harakat, superscript alef, tatweel
_ALEF = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا"})
_EDGES = re.compile(r"^[\W_]+|[\W_]+$")
_SPACES = re.compile(r"\s+")
_ARABIC = re.compile("[\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff]")


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    text = _DIACRITICS.sub("", text).translate(_ALEF)
    return _SPACES.sub(" ", _EDGES.sub("", text.strip()))


def is_opt_out(text: str, words: Iterable[str]) -> bool:
    return normalise(text) in {normalise(word) for word in words}


def script_language(text: str) -> str:
    """``ar`` for a message written in Arabic script, else ``en``."""
    return "ar" if _ARABIC.search(text) else "en"


@dataclass(frozen=True, slots=True)
class OptOutWords:
    """An account's opt-out words, normalised once, and its confirmation texts by language
    (defaults filled in). The router keeps one per account for a few seconds
    (voiceplatform.sessions.ttl_cache): a changed list applies within that bound."""

    words: frozenset[str]
    confirmation: dict[str, str]

    def matches(self, text: str) -> bool:
        return normalise(text) in self.words

    def confirmation_for(self, text: str) -> str:
        """The confirmation in the message's script (Arabic or English)."""
        return confirmation_text(self.confirmation, text)


def settings_for(db: Session, account_id: int) -> OptOutWords:
    """The account's words and confirmation texts, defaults filled in."""
    row = db.get(OptOutSettings, account_id)
    words = tuple(row.words) if row is not None and row.words else DEFAULT_WORDS
    confirmation = {**DEFAULT_CONFIRMATION, **(row.confirmation if row is not None and row.confirmation else {})}
    return OptOutWords(frozenset(normalise(word) for word in words), confirmation)


def confirmation_text(confirmation: dict[str, str], text: str) -> str:
    return confirmation.get(script_language(text)) or confirmation["en"]
