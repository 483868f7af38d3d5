"""Jasmin's own virtualenv: created once, pinned, patched, then reused.

``ensure_jasmin`` is idempotent and cheap when the virtualenv is complete: a marker file in it
records the requirements and the patch it was built with, and is written last, so a build that
was interrupted is rebuilt from scratch. Two processes never build at once (a file lock).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from voiceplatform.exceptions import SmscError
from voiceplatform.lab.locking import exclusive_lock
from voiceplatform.smsc import defaults, dlr_patch


@dataclass(frozen=True)
class InstallReport:
    venv: Path
    built: bool  # False when the cached virtualenv was complete
    seconds: float
    version: str


def _wanted() -> dict[str, object]:
    return {"requirements": list(defaults.JASMIN_REQUIREMENTS), "patch": dlr_patch.PATCH_ID}


def _marker(venv: Path) -> Path:
    return venv / defaults.VENV_MARKER


def is_ready(venv: Path) -> bool:
    try:
        found = json.loads(_marker(venv).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return bool(found == _wanted()) and (venv / "bin" / "python").exists()


def site_packages(venv: Path) -> Path:
    """Where Jasmin is installed in ``venv`` (asked of its own interpreter)."""
    code = "import os, jasmin; print(os.path.dirname(os.path.dirname(jasmin.__file__)))"
    return Path(_run([str(venv / "bin" / "python"), "-c", code], timeout=60).strip())


def _run(command: list[str], timeout: float) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SmscError(f"`{' '.join(command)}` failed: {exc}") from exc
    if done.returncode != 0:
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-15:])
        raise SmscError(f"`{' '.join(command)}` exited with {done.returncode}:\n{tail}")
    return done.stdout


def _base_python() -> str:
    """The interpreter the platform's own virtualenv was made from (a venv of a venv is fine,
    but its base is the honest one)."""
    return getattr(sys, "_base_executable", None) or sys.executable


def ensure_jasmin(venv: Path) -> InstallReport:
    """Jasmin installed and patched in ``venv``, building it if it is missing or incomplete."""
    started = time.monotonic()
    venv.parent.mkdir(parents=True, exist_ok=True)
    with exclusive_lock(venv.parent / f"{venv.name}.lock"):
        if is_ready(venv):
            return InstallReport(venv, False, time.monotonic() - started, defaults.JASMIN_VERSION)
        if venv.exists():
            shutil.rmtree(venv)
        _run([_base_python(), "-m", "venv", str(venv)], timeout=120)
        python = str(venv / "bin" / "python")
        _run([python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
              *defaults.JASMIN_REQUIREMENTS], timeout=defaults.INSTALL_TIMEOUT)
        dlr_patch.apply(site_packages(venv))
        _marker(venv).write_text(json.dumps(_wanted()) + "\n", encoding="utf-8")
    return InstallReport(venv, True, time.monotonic() - started, defaults.JASMIN_VERSION)
