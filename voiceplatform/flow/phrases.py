"""Words the engine itself says: menu instructions and retry messages, per language.

A prompts catalogue may override any of them with the same id (``system.press_for`` ...). Each is a
Python format string with the fields shown. The session's language picks the set (``ar-SA`` uses
``ar``); a language with no built-in set uses English unless its catalogue overrides the phrase.
Arabic is first-class: the Arabic set is written for Gulf callers, not machine-translated.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from voiceplatform.flow.run import Run

SYSTEM_PHRASES: dict[str, dict[str, str]] = {
    "en": {
        "system.press_for": "Press {key} for {label}.",
        "system.say_for": "Say {label}.",
        "system.press_or_say": "For {label}, press {key} or say {label}.",
        "system.reply_or": 'Reply {key} or "{label}"',
        "system.list_button": "Choose",
        "system.more_choices": "More options",
        "system.no_match": "Sorry, I didn't understand that.",
        "system.no_input_voice": "Sorry, I didn't hear anything.",
        "system.no_input_messaging": "We haven't heard back from you.",
    },
    "ar": {
        "system.press_for": "{label}، اضغط {key}.",
        "system.say_for": "قل {label}.",
        "system.press_or_say": "{label}، اضغط {key} أو قل {label}.",
        "system.reply_or": "أرسل {key} أو «{label}»",
        "system.list_button": "اختر",
        "system.more_choices": "خيارات أخرى",
        "system.no_match": "عذرًا، لم أفهم ذلك.",
        "system.no_input_voice": "عذرًا، لم أسمع شيئًا.",
        "system.no_input_messaging": "لم يصلنا ردّك بعد.",
    },
}


def builtin_phrase(language: str, phrase_id: str) -> str:
    """The engine's own phrase in ``language`` (or its primary subtag), else English."""
    table = SYSTEM_PHRASES.get(language) or SYSTEM_PHRASES.get(language.split("-")[0].split("_")[0], {})
    return table.get(phrase_id) or SYSTEM_PHRASES["en"][phrase_id]


def phrase(run: Run, phrase_id: str, **fields: str) -> str:
    entry = run.flow.prompts.lookup(run.language, phrase_id)
    template = entry.text if entry is not None else None
    if template is None:
        template = builtin_phrase(run.language, phrase_id)
    try:
        return template.format(**fields)
    except (KeyError, IndexError, ValueError):
        run.error("bad_phrase", f"phrase {phrase_id!r} has unknown fields: {template!r}")
        return SYSTEM_PHRASES["en"][phrase_id].format(**fields)
