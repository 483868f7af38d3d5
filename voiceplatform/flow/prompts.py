"""The prompts catalogue: ``prompts/<lang>.yaml`` maps a prompt id to its text, or to
``{text: ..., audio: ...}``. Texts are templates like any other."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from voiceplatform.exceptions import FlowValidationError, Problem
from voiceplatform.flow.paths import OUTSIDE, FlowFolders, PathRefused, file_size, is_regular_file
from voiceplatform.flow.yaml_source import Locations, check_flow_size, load_yaml


@dataclass(frozen=True, slots=True)
class PromptEntry:
    text: str
    audio: str | None = None


@dataclass
class PromptCatalogue:
    directory: Path | None = None
    by_language: dict[str, dict[str, PromptEntry]] = field(default_factory=dict)
    locations: dict[str, Locations] = field(default_factory=dict)

    def lookup(self, language: str, prompt_id: str) -> PromptEntry | None:
        entries = self.by_language.get(language)
        return entries.get(prompt_id) if entries else None

    def file_for(self, language: str) -> str:
        if self.directory is None:
            return f"prompts/{language}.yaml"
        return str(self.directory / f"{language}.yaml")


EMPTY_CATALOGUE = PromptCatalogue()
_CACHE: dict[tuple[str, str, float], tuple[dict[str, PromptEntry], Locations, list[Problem]]] = {}


def load_catalogue(
    directory: Path | None, languages: tuple[str, ...], folders: FlowFolders | None = None
) -> tuple[PromptCatalogue, list[Problem]]:
    """Load the catalogue of each language that has a file. Problems are returned, not raised.
    With ``folders``, a catalogue file (a symlink, say) that resolves outside them is refused."""
    catalogue = PromptCatalogue(directory)
    problems: list[Problem] = []
    if directory is None:
        return catalogue, problems
    for language in languages:
        path = directory / f"{language}.yaml"
        if folders is not None:
            try:
                path = folders.confine(path.name, directory)
            except PathRefused:
                problems.append(Problem(str(directory / path.name), 1, 1, f"prompts file {OUTSIDE}"))
                continue
        if not is_regular_file(path):
            continue
        entries, locations, found = _load_file(path)
        catalogue.by_language[language] = entries
        catalogue.locations[language] = locations
        problems.extend(found)
    return catalogue, problems


def _load_file(path: Path) -> tuple[dict[str, PromptEntry], Locations, list[Problem]]:
    key = (str(path.resolve()), path.name, path.stat().st_mtime)
    cached = _CACHE.get(key)
    if cached is not None:
        return cached
    file = str(path)
    entries: dict[str, PromptEntry] = {}
    problems: list[Problem] = []
    locations = Locations(file)
    try:
        check_flow_size(file_size(path), file)
        data, locations = load_yaml(path.read_text(encoding="utf-8"), file)
    except FlowValidationError as exc:
        problems.extend(exc.problems)
        data = {}
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(Problem(file, 1, 1, f"cannot read prompts: {exc}"))
        data = {}
    if not isinstance(data, dict):
        problems.append(Problem(file, 1, 1, "a prompts file maps prompt ids to texts"))
        data = {}
    for prompt_id, raw in data.items():
        entry = _entry(raw)
        if entry is None:
            problems.append(locations.problem((prompt_id,), f"prompt {prompt_id!r} needs a text (or text and audio)"))
            continue
        entries[str(prompt_id)] = entry
    result = (entries, locations, problems)
    _CACHE[key] = result
    return result


def _entry(raw: Any) -> PromptEntry | None:
    if isinstance(raw, str) and raw.strip():
        return PromptEntry(raw)
    if isinstance(raw, dict) and set(raw) <= {"text", "audio"}:
        text, audio = raw.get("text"), raw.get("audio")
        if isinstance(text, str) and (audio is None or isinstance(audio, str)):
            return PromptEntry(text, audio)
    return None


def find_prompts_directory(
    flow_file: Path, declared: str | None, folders: FlowFolders | None = None
) -> Path | None:
    """The prompts directory of a flow: the declared one, else ``prompts/`` beside the flow file
    or in one of its two parent directories. With ``folders``, a declared directory outside them
    raises PathRefused (the same message whether or not it exists)."""
    base = flow_file.parent
    if declared is not None:
        if folders is not None:
            return folders.confine(declared, base)
        return (base / declared).resolve()
    return search_prompts_directory(flow_file)


def search_prompts_directory(flow_file: Path) -> Path | None:
    """``prompts/`` beside the flow file or in one of its two parent directories, if any."""
    base = flow_file.parent
    for candidate in (base / "prompts", base.parent / "prompts", base.parent.parent / "prompts"):
        if candidate.is_dir():
            return candidate
    return None
