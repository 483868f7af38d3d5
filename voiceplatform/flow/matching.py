"""Matching what a contact typed, said or pressed against a gather's choices.

A reply matches a choice by its key, its label or one of its synonyms, ignoring case, accents of
punctuation and spacing ("  Pay-Now! " matches "pay now"). Spoken digits match keys ("one" is 1).
When no whole reply matches, a reply that contains exactly one choice's label or synonym as whole
words matches it ("yes please" matches "yes").

Arabic is matched as Gulf callers type and say it: Arabic-Indic digits (٠–٩) and Extended
Arabic-Indic digits (۰–۹, as typed on Persian/Urdu keyboards) are the digits 0–9, Arabic number
words ("واحد", "اثنين") are spoken digits, and the usual spelling variants are folded: harakat and
hamza carriers are dropped (أ إ آ → ا), ى → ي, ة → ه, and the tatweel (ـ) is removed.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Sequence

_NON_WORD = re.compile(r"[^\w*#]+", re.UNICODE)

# Arabic-Indic (U+0660..) and Extended Arabic-Indic (U+06F0..) digits, and the Arabic spelling
# variants folded before matching.
_FOLD = str.maketrans(
    {**{chr(0x0660 + d): str(d) for d in range(10)}, **{chr(0x06F0 + d): str(d) for d in range(10)},
     "\u0649": "\u064a", "\u0629": "\u0647", "\u0640": None}
)
_DIGITS_ONLY = str.maketrans({**{chr(0x0660 + d): str(d) for d in range(10)}, **{chr(0x06F0 + d): str(d) for d in range(10)}})


def ascii_digits(text: str) -> str:
    """``text`` with Arabic-Indic and Extended Arabic-Indic digits as 0–9 (for ``validate``,
    ``max_digits`` and stored answers: "٠٥٥١٢٣" is stored as "055123")."""
    return text.translate(_DIGITS_ONLY)


def normalise(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text.casefold())
    folded = "".join(ch for ch in folded if not unicodedata.combining(ch)).translate(_FOLD)
    return " ".join(_NON_WORD.sub(" ", folded).split())


_SPOKEN_DIGITS = {
    "en": ("zero oh", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"),
    "ar": ("صفر", "واحد واحده", "اثنان اثنين إثنين ثنين", "ثلاثة ثلاث", "أربعة أربع اربعه",
           "خمسة خمس", "ستة ست", "سبعة سبع", "ثمانية ثمان ثماني", "تسعة تسع"),
}
NUMBER_WORDS = {
    normalise(word): str(digit)
    for words in _SPOKEN_DIGITS.values()
    for digit, spellings in enumerate(words)
    for word in spellings.split()
}


def _number(word: str) -> str | None:
    """A whole number the word is: digits, or a number word ("eight"; not "oh" in a sentence)."""
    if word.isdecimal():
        return word
    if word == "oh":
        return None
    return NUMBER_WORDS.get(word)


@dataclass(frozen=True, slots=True)
class ChoiceIndex:
    """A precomputed lookup from normalised phrases to choice positions."""

    exact: dict[str, int]
    phrases: tuple[tuple[str, int], ...]  # (phrase, choice) for containment matching
    keys: dict[str, int] = field(default_factory=dict)  # normalised key -> choice, for "8 please"

    @classmethod
    def build(cls, choices: Sequence[tuple[str, str, Sequence[str]]]) -> ChoiceIndex:
        exact: dict[str, int] = {}
        phrases: list[tuple[str, int]] = []
        keys: dict[str, int] = {}
        for position, (key, label, synonyms) in enumerate(choices):
            keys.setdefault(normalise(key), position)
            for phrase in (key, label, *synonyms):
                norm = normalise(phrase)
                if norm and norm not in exact:
                    exact[norm] = position
                if norm and phrase is not key:
                    phrases.append((norm, position))
        return cls(exact, tuple(phrases), keys)

    def match(self, reply: str) -> int | None:
        norm = normalise(reply)
        if not norm:
            return None
        found = self.exact.get(norm)
        if found is not None:
            return found
        spoken_digits = "".join(NUMBER_WORDS.get(word, "?") for word in norm.split())
        if "?" not in spoken_digits:
            found = self.exact.get(spoken_digits)
            if found is not None:
                return found
        padded = f" {norm} "
        hits = {position for phrase, position in self.phrases if f" {phrase} " in padded}
        # A number inside a longer reply ("8 please", "I'd say eight") is that key. Two different
        # numbers ("8 or 9") are ambiguous and match nothing; so is a number that points at one
        # choice while the words point at another ("Morning, 2"): the contact is asked again.
        numbers = {_number(word) for word in norm.split()} - {None}
        if len(numbers) == 1:
            found = self.keys.get(numbers.pop())  # type: ignore[arg-type]
            if found is not None:
                hits.add(found)
        if len(hits) == 1:
            return hits.pop()
        return None
