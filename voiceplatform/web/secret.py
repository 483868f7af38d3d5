"""The key that signs session cookies and media URLs.

In order: the app's ``SECRET_KEY`` config, the ``VOICEPLATFORM_SECRET_KEY`` environment variable,
else a random key kept in ``.state/secret-key`` (mode 0600; ``SECRET_KEY_FILE`` moves it), made
on first use (by :mod:`voiceplatform.safety.key_files`, which makes every key file), so that
sessions and signed URLs survive a restart and every process of one installation agrees on it.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from pathlib import Path
from typing import Any, Mapping

from voiceplatform.safety.key_files import STATE_DIR, persisted_key

KEY_FILE = STATE_DIR / "secret-key"
ENV = "VOICEPLATFORM_SECRET_KEY"


def secret_key(config: Mapping[str, Any]) -> str:
    configured = config.get("SECRET_KEY") or os.environ.get(ENV)
    if configured:
        return str(configured)
    return persisted_key(Path(config.get("SECRET_KEY_FILE") or KEY_FILE))


def derived_key(secret: str, purpose: str) -> bytes:
    """A separate key per use (media URLs, ...), so one signature can never pass for another."""
    return hmac.new(secret.encode(), f"voiceplatform:{purpose}".encode(), hashlib.sha256).digest()
