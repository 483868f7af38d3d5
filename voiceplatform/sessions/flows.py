"""Parsed flow versions, by id. A session names the version it started on (``flow_version_id``),
and a stored version never changes, so a parsed one is kept (bounded, least recently used; the
sweeper's lanes share it from their threads)."""

from __future__ import annotations

import threading
from collections import OrderedDict

from sqlalchemy.orm import Session

from voiceplatform.exceptions import StateError
from voiceplatform.flow import Flow, load_flow_text
from voiceplatform.models import FlowVersion

CACHE_SIZE = 256


class FlowCache:
    def __init__(self, size: int = CACHE_SIZE) -> None:
        self.size = size
        self._flows: OrderedDict[int, Flow] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, db: Session, flow_version_id: int) -> Flow:
        with self._lock:
            flow = self._flows.get(flow_version_id)
            if flow is not None:
                self._flows.move_to_end(flow_version_id)
                return flow
        row = db.get(FlowVersion, flow_version_id)
        if row is None:
            raise StateError(f"flow version {flow_version_id} no longer exists")
        flow = load_flow_text(row.definition, f"{row.name} v{row.version}")
        with self._lock:
            self._flows[flow_version_id] = flow
            while len(self._flows) > self.size:
                self._flows.popitem(last=False)
        return flow
