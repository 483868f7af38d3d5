"""Matching what a contact typed, said or pressed against a gather's choices.

A reply matches a choice by its key, its label or one of its synonyms, ignoring case, accents of
punctuation and spacing ("  Pay-Now! " matches "pay now"). Spoken digits match keys ("one" is 1).
When no whole reply matches, a reply that contains exactly one choice's label or synonym as whole
words matches it ("yes please" matches "yes").
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Sequence

_NON_WORD = re.compile(r"[^\w*#]+", re.UNICODE)

NUMBER_WORDS = {
    "zero": "0", "oh": "0", "one": "1", "two": "2", "three": "3", "four": "4",
    "five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9",
}


def normalise(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text.casefold())
    folded = "".join(ch for ch in folded if not unicodedata.combining(ch))
    return " ".join(_NON_WORD.sub(" ", folded).split())


@dataclass(frozen=True, slots=True)
class ChoiceIndex:
    """A precomputed lookup from normalised phrases to choice positions."""

    exact: dict[str, int]
    phrases: tuple[tuple[str, int], ...]  # (phrase, choice) for containment matching

    @classmethod
    def build(cls, choices: Sequence[tuple[str, str, Sequence[str]]]) -> ChoiceIndex:
        exact: dict[str, int] = {}
        phrases: list[tuple[str, int]] = []
        for position, (key, label, synonyms) in enumerate(choices):
            for phrase in (key, label, *synonyms):
                norm = normalise(phrase)
                if norm and norm not in exact:
                    exact[norm] = position
                if norm and phrase is not key:
                    phrases.append((norm, position))
        return cls(exact, tuple(phrases))

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
        if len(hits) == 1:
            return hits.pop()
        return None
