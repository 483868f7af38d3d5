"""The key that signs session cookies and media URLs.

In order: the app's ``SECRET_KEY`` config, the ``VOICEPLATFORM_SECRET_KEY`` environment variable,
else a random key kept in ``.state/secret-key`` (mode 0600; ``SECRET_KEY_FILE`` moves it), made
on first use, so that sessions and signed URLs survive a restart and every process of one
installation agrees on it.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path
from typing import Any, Mapping

PROJECT = Path(__file__).resolve().parent.parent.parent
KEY_FILE = PROJECT / ".state" / "secret-key"
ENV = "VOICEPLATFORM_SECRET_KEY"


def secret_key(config: Mapping[str, Any]) -> str:
    configured = config.get("SECRET_KEY") or os.environ.get(ENV)
    if configured:
        return str(configured)
    return persisted_key(Path(config.get("SECRET_KEY_FILE") or KEY_FILE))


def persisted_key(path: Path) -> str:
    """The key in ``path``, written there first (atomically, 0600) if there is none."""
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
        handle.write(secrets.token_urlsafe(48) + "\n")
    try:
        os.link(scratch, path)  # fails if another process won the race: then its key is the key
    except FileExistsError:
        pass
    finally:
        scratch.unlink()
    return path.read_text().strip()


def derived_key(secret: str, purpose: str) -> bytes:
    """A separate key per use (media URLs, ...), so one signature can never pass for another."""
    return hmac.new(secret.encode(), f"voiceplatform:{purpose}".encode(), hashlib.sha256).digest()
