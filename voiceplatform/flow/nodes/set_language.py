"""``set_language``: switch the session's language mid-flow ("Press 2 for Arabic").

From this node on, prompts come from the new language's catalogue, the engine's own phrases are
in that language, and every Say and Send carries it, so the voice driver picks that language's
TTS voice and speech model and the SMS side sends Arabic as UCS-2. ``language`` is a language
code or a template (``"{{ results.lang }}"``); it must be one of the root flow's ``language`` or
``languages`` (a literal is checked by ``validate``; a rendered value that is not is an
``unknown_language`` error event and the language stays as it was).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterator, Literal

from pydantic import Field

from voiceplatform.flow.nodes.base import NodeBase, Outcome, Path, register

if TYPE_CHECKING:
    from voiceplatform.flow.run import Run


def pick_language(wanted: str, allowed: tuple[str, ...]) -> str | None:
    """``wanted`` if allowed, else its primary subtag (``ar-SA`` → ``ar``) if allowed."""
    if wanted in allowed:
        return wanted
    primary = wanted.replace("_", "-").split("-")[0].lower()
    return primary if primary in allowed else None


@register
class SetLanguageNode(NodeBase):
    type: Literal["set_language"] = "set_language"
    language: str = Field(min_length=1, max_length=200)

    def texts(self) -> Iterator[tuple[Path, str, bool]]:
        if "{" in self.language:
            yield ("language",), self.language, False

    @property
    def literal(self) -> str | None:
        return None if "{" in self.language else self.language

    def enter(self, run: Run) -> Outcome:
        wanted = run.text(self.language) if self.literal is None else self.language
        allowed = run.root.definition.all_languages
        chosen = pick_language(wanted, allowed)
        if chosen is None:
            run.error("unknown_language", f"language {wanted!r} is not one of this flow's languages ({', '.join(allowed)})")
        else:
            run.set_language(chosen)
        return "next"
