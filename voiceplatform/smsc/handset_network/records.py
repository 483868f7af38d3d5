"""What the handset network saw and sent, for assertions: one JSON object a line, appended to a
file that outlives the process (a test reads it after a restart, a fault test counts submits),
and kept in memory for the control port.

Every record has ``n`` (its position in the file, from 0; a restarted network goes on counting), ``at`` (Unix time) and ``kind``:

- ``bind``: ``system_id``, ``mode`` (receiver, transmitter, transceiver), ``status``;
- ``submit_sm``: ``message_id`` (None when refused or unanswered), ``status``, ``attempt``,
  ``script``, ``source``, ``destination``, ``data_coding``, ``esm_class``,
  ``registered_delivery``, ``text``, ``udh``, ``reference``, ``total``, ``index``,
  ``short_message`` (hex), ``system_id``;
- ``receipt``: ``message_id``, ``stat``, ``err``, ``source`` (the handset), ``destination``
  (when it is made: it is then sent, or held until a gateway binds);
- ``mo``: ``source`` (the handset), ``destination``, ``text``, ``data_coding``, ``total``,
  ``index``;
- ``deliver_sm_resp``: ``sequence``, ``status`` (the gateway's answer to a receipt or an MO);
- ``redelivery``: ``of`` (``receipt`` or ``mo``), ``message_id`` (a receipt's), ``attempt``,
  ``system_id``: a deliver_sm sent again, its gateway gone before answering, or answered with a
  temporary error (handset_network.forwarding).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import IO, Any


class Recorder:
    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.records: list[dict[str, Any]] = []
        self._file: IO[str] | None = None
        #: records already in the file from earlier runs
        self.offset = 0
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.offset = len(read_file(path))
            self._file = open(path, "a", encoding="utf-8", buffering=1)  # a line at a time

    def add(self, kind: str, **fields: Any) -> dict[str, Any]:
        record = {"n": self.offset + len(self.records), "at": time.time(), "kind": kind, **fields}
        self.records.append(record)
        if self._file is not None:
            self._file.write(json.dumps(record, ensure_ascii=False) + "\n")
        return record

    def query(self, kind: str | None = None, after: int = 0, **equal: Any) -> list[dict[str, Any]]:
        """Records of this run from position ``after`` on, of ``kind``, whose fields equal ``equal``."""
        return [
            record for record in self.records[max(0, after - self.offset):]
            if (kind is None or record["kind"] == kind)
            and all(record.get(name) == value for name, value in equal.items())
        ]

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def read_file(path: Path) -> list[dict[str, Any]]:
    """The records a handset network wrote to ``path`` (every run appended to it)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []
    return [json.loads(line) for line in lines if line.strip()]
