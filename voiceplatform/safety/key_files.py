"""Keys kept in files of the instance's state folder (``.state/``): the web UI's signing key
(``.state/secret-key``) and the data key that encrypts secrets at rest (``.state/data-key``).

One way to make them, so every key file of an installation is created the same safe way: on first
use, atomically, mode 0600 from the start (never readable by others, not even briefly), and when
several processes start at once, exactly one key wins and all of them use it.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Callable

from voiceplatform.settings import paths

STATE_DIR = paths().state_dir  # the instance folder's .state/ (voiceplatform.settings), read at import


def new_text_key() -> str:
    return secrets.token_urlsafe(48)


def persisted_key(path: Path, make: Callable[[], str] = new_text_key) -> str:
    """The key in ``path``, written there first (atomically, 0600) from ``make()`` if there is none."""
    try:
        existing = path.read_text().strip()
    except FileNotFoundError:
        existing = ""
    if existing:
        return existing
    path.parent.mkdir(parents=True, exist_ok=True)
    scratch = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    descriptor = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(make() + "\n")
    try:
        os.link(scratch, path)  # fails if another process won the race: then its key is the key
    except FileExistsError:
        pass
    finally:
        scratch.unlink()
    return path.read_text().strip()
