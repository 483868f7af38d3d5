"""A pause point inside a running import, for the test that kills an import half-way.

With ``VOICEPLATFORM_TEST_IMPORT_PAUSE=<rows>:<path>`` in its environment, an import that has
written at least ``<rows>`` rows (inside its still uncommitted transaction) creates ``<path>``
and waits there for ever. The test waits for the file, so it knows the import is mid-way, and
kills the process: no timing is guessed. Unset (always, outside that test), it costs one
dictionary look-up per batch.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

VARIABLE = "VOICEPLATFORM_TEST_IMPORT_PAUSE"


def maybe_pause(rows_written: int) -> None:
    setting = os.environ.get(VARIABLE)
    if not setting:
        return
    rows, _, path = setting.partition(":")
    if rows_written < int(rows):
        return
    Path(path).write_text(f"{rows_written}\n")
    threading.Event().wait()  # until the test's SIGKILL
