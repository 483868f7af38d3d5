"""A contact file made seekable, measured and fingerprinted before anything reads it as contacts.

The size is counted while the bytes are read (a ``Content-Length`` header, or a file's size on
disk, may lie or be absent): reading stops at the first chunk past ``max_upload_bytes`` and the
import is refused before a single contact is written. The SHA-256 computed on the way keys the
import for retries (voiceplatform.contacts.importer).
"""

from __future__ import annotations

import hashlib
import tempfile
from dataclasses import dataclass
from typing import IO, cast

from voiceplatform.exceptions import UploadTooLargeError

CHUNK = 1_048_576
#: Uploads are kept in memory up to this size, then spill to a temporary file.
IN_MEMORY_BYTES = 1_048_576


@dataclass(frozen=True, slots=True)
class Upload:
    """The file, positioned at its start; its size and SHA-256 (hex)."""

    file: IO[bytes]
    size: int
    sha256: str


def measure(stream: IO[bytes], max_bytes: int) -> Upload:
    """Read ``stream`` once, counting and hashing. A seekable stream at its start (a file on disk,
    werkzeug's spooled upload) is read in place and rewound; any other is copied to a spooled temporary file.
    More than ``max_bytes`` raises UploadTooLargeError, having read at most one chunk past it."""
    seekable = _seekable(stream) and stream.tell() == 0
    copy: IO[bytes] = stream if seekable else cast("IO[bytes]", tempfile.SpooledTemporaryFile(IN_MEMORY_BYTES))
    digest, size = hashlib.sha256(), 0
    while True:
        chunk = stream.read(CHUNK)
        if not chunk:
            break
        size += len(chunk)
        if size > max_bytes:
            raise UploadTooLargeError(f"the file is larger than {max_bytes:,} bytes, the most an import accepts "
                                      f"(VOICEPLATFORM_LIMIT_MAX_UPLOAD_BYTES)")
        digest.update(chunk)
        if not seekable:
            copy.write(chunk)
    copy.seek(0)
    return Upload(copy, size, digest.hexdigest())


def _seekable(stream: IO[bytes]) -> bool:
    try:
        return bool(stream.seekable())
    except (AttributeError, ValueError):
        return False


