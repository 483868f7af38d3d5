"""The phrases the scripted callees say, spoken by espeak-ng and made telephone-ready by sox.

They are written into the chroot (8 kHz, mono, 16-bit WAV), once: a manifest of the phrases
beside them says whether they are current.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path

from voiceplatform.exceptions import LabError
from voiceplatform.lab import defaults

MANIFEST = "phrases.json"


def _run(args: list[str]) -> None:
    try:
        subprocess.run(args, check=True, capture_output=True, text=True, timeout=120)
    except FileNotFoundError as exc:
        raise LabError(f"{args[0]} is not installed (bash scripts/setup.sh installs it)") from exc
    except subprocess.CalledProcessError as exc:
        raise LabError(f"{' '.join(args[:2])} failed: {exc.stderr.strip()}") from exc
    except subprocess.TimeoutExpired as exc:
        raise LabError(f"{args[0]} took too long") from exc


def speak(text: str, target: Path) -> None:
    """Say ``text`` into ``target`` as an 8 kHz mono 16-bit WAV."""
    with tempfile.TemporaryDirectory() as temp:
        raw = Path(temp) / "raw.wav"
        _run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(raw), text])
        _run(["sox", str(raw), "-r", "8000", "-c", "1", "-b", "16", "-e", "signed-integer",
              str(target)])


def ensure_phrases(root: Path, phrases: dict[str, str] = defaults.PHRASES) -> Path:
    """Make sure every phrase exists as ROOT/<sounds>/<name>.wav; returns that directory."""
    directory = root / defaults.SOUNDS_SUBDIR
    manifest = directory / MANIFEST
    try:
        current = json.loads(manifest.read_text(encoding="utf-8"))
    except FileNotFoundError:
        current = None
    except (OSError, ValueError) as exc:
        raise LabError(f"cannot read {manifest}: {exc}") from exc
    if current == phrases and all((directory / f"{n}.wav").exists() for n in phrases):
        return directory
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in phrases.items():
        speak(text, directory / f"{name}.wav")
    manifest.write_text(json.dumps(phrases, indent=2), encoding="utf-8")
    return directory
