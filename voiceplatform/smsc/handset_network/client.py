"""A client of the handset network's control port, for tests, the benchmark and the manager.

    network = HandsetNetworkClient("http://127.0.0.1:8081")
    network.inject_mo("+12025550700", "+15550100", "hello")      # -> parts sent
    network.wait_for("receipt", count=1, destination="15550100")   # -> the records
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlencode

from voiceplatform.exceptions import SmscError
from voiceplatform.lab.polling import poll


class HandsetNetworkClient:
    def __init__(self, url: str, timeout: float = 5.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode("utf-8")
        request = urllib.request.Request(self.url + path, data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode("utf-8", "replace")
            raise SmscError(f"handset network {method} {path}: {exc.code} {detail}") from exc
        except (OSError, ValueError) as exc:
            raise SmscError(f"handset network at {self.url} does not answer: {exc}") from exc

    def health(self) -> dict[str, Any]:
        answer: dict[str, Any] = self._call("GET", "/health")
        return answer

    def messages(self, kind: str | None = None, after: int = 0, **equal: str) -> list[dict[str, Any]]:
        query = {"after": str(after), **equal}
        if kind is not None:
            query["kind"] = kind
        records: list[dict[str, Any]] = self._call("GET", "/messages?" + urlencode(query))["records"]
        return records

    def position(self) -> int:
        """The number of the next record: pass it as ``after`` to see only what comes next."""
        return int(self.health()["records"])

    def inject_mo(self, source: str, destination: str, text: str) -> int:
        """The handset ``source`` sends ``text`` to ``destination``; returns the parts sent."""
        answer = self._call("POST", "/mo", {"source": source, "destination": destination, "text": text})
        return int(answer["parts"])

    def wait_for(self, kind: str, count: int = 1, timeout: float = 10.0, after: int = 0,
                 **equal: str) -> list[dict[str, Any]]:
        """Wait until ``count`` records of ``kind`` match; SmscError at the deadline."""
        def check() -> list[dict[str, Any]] | None:
            found = self.messages(kind, after, **equal)
            return found if len(found) >= count else None

        found = poll(check, timeout)
        if found is None:
            raise SmscError(f"the handset network recorded fewer than {count} {kind} records "
                            f"matching {equal} within {timeout} s: "
                            f"{self.messages(kind, after, **equal)}")
        return found
