"""Secrets the platform must read back (webhook signing secrets) stored encrypted, so a copy of the
database (a backup, a stolen SQLite file, a read-only SQL injection) does not hand them out.

AES-256-GCM under the installation's **data key**: ``VOICEPLATFORM_DATA_KEY`` (32 bytes, base64),
else a random key kept in ``.state/data-key`` (made on first use, mode 0600, by
:mod:`voiceplatform.safety.key_files`; ``VOICEPLATFORM_DATA_KEY_FILE`` moves it). Keep the key
apart from database backups: without it the stored secrets cannot be read, with it they can.

A stored value is ``v1:`` + base64url(12-byte random nonce + ciphertext + 16-byte tag). The
column it belongs to (its *purpose*, e.g. ``webhook_subscriptions.secret``) is authenticated as
associated data, so a value copied into another column does not decrypt.

:class:`EncryptedString` is the SQLAlchemy column type: models read and write plain text, the
database only ever sees ciphertext.
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import String
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from voiceplatform.exceptions import SecretsAtRestError
from voiceplatform.safety.key_files import STATE_DIR, persisted_key

KEY_ENV = "VOICEPLATFORM_DATA_KEY"
KEY_FILE_ENV = "VOICEPLATFORM_DATA_KEY_FILE"
KEY_FILE = STATE_DIR / "data-key"
KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16
VERSION = "v1:"


def ciphertext_length(plaintext_chars: int) -> int:
    """The longest stored value for a plain text of ``plaintext_chars`` characters (4 UTF-8 bytes
    each at worst): what an encrypted column must hold."""
    raw = NONCE_BYTES + 4 * plaintext_chars + TAG_BYTES
    return len(VERSION) + 4 * ((raw + 2) // 3)


def new_key_text() -> str:
    """A new data key, as ``VOICEPLATFORM_DATA_KEY`` and the key file hold it."""
    return base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode("ascii")


def _decoded(text: str, source: str) -> bytes:
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SecretsAtRestError(f"{source} is not base64") from exc
    if len(key) != KEY_BYTES:
        raise SecretsAtRestError(f"{source} must be {KEY_BYTES} bytes of base64 (it is {len(key)} bytes)")
    return key


def data_key(path: Path | None = None) -> bytes:
    """The data key: ``VOICEPLATFORM_DATA_KEY``, else the key file (``path``, else
    ``VOICEPLATFORM_DATA_KEY_FILE``, else ``.state/data-key``), created 0600 if there is none."""
    configured = os.environ.get(KEY_ENV, "").strip()
    if configured and path is None:
        return _decoded(configured, KEY_ENV)
    where = path or Path(os.environ.get(KEY_FILE_ENV) or KEY_FILE)
    return _decoded(persisted_key(where, new_key_text), str(where))


@lru_cache(maxsize=4)
def _cipher(key: bytes) -> AESGCM:
    return AESGCM(key)


def encrypt(plaintext: str, purpose: str, key: bytes | None = None) -> str:
    """``plaintext`` sealed for the column ``purpose`` (see the module docstring for the format)."""
    nonce = secrets.token_bytes(NONCE_BYTES)
    sealed = _cipher(key or data_key()).encrypt(nonce, plaintext.encode("utf-8"), purpose.encode("utf-8"))
    return VERSION + base64.urlsafe_b64encode(nonce + sealed).decode("ascii")


def decrypt(stored: str, purpose: str, key: bytes | None = None) -> str:
    """The plain text of a value :func:`encrypt` made; SecretsAtRestError if it is not one, or was
    sealed under another key or for another column."""
    if not stored.startswith(VERSION):
        raise SecretsAtRestError(f"a {purpose} value is not encrypted ({VERSION} prefix missing)")
    try:
        raw = base64.urlsafe_b64decode(stored[len(VERSION):].encode("ascii"))
    except (binascii.Error, ValueError) as exc:
        raise SecretsAtRestError(f"a {purpose} value is not valid base64") from exc
    if len(raw) < NONCE_BYTES + TAG_BYTES:
        raise SecretsAtRestError(f"a {purpose} value is too short to be encrypted")
    try:
        plain = _cipher(key or data_key()).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], purpose.encode("utf-8"))
    except InvalidTag as exc:
        raise SecretsAtRestError(f"a {purpose} value cannot be decrypted: was the data key ({KEY_ENV} or "
                                 f"{KEY_FILE.name}) changed?") from exc
    return plain.decode("utf-8")


class EncryptedString(TypeDecorator[str]):
    """A string column stored encrypted; ``length`` is the plain text's longest, in characters."""

    impl = String
    cache_ok = True

    def __init__(self, length: int, purpose: str) -> None:
        super().__init__(ciphertext_length(length))
        self.purpose = purpose

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else encrypt(str(value), self.purpose)

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else decrypt(str(value), self.purpose)
