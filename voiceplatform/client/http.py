"""A small client for the platform's HTTP API, over the standard library's urllib.

    client = ApiClient.from_env()                 # --api / VOICEPLATFORM_API_URL, --token / VOICEPLATFORM_TOKEN
    client.post("/campaigns/7/start")             # -> the campaign as a dict
    client.get("/campaigns", status="running")    # query parameters; None values are left out

Errors:

    VoicePlatformError
    └── ApiClientError                 the API answered with an error (status, code, message, details)
        ├── ApiConnectionError         the server cannot be reached, or did not answer in time (status 0)
        └── MissingTokenError          no token in the argument, the environment or .state/api-token

Every answer is JSON. An error answer is ``{"error": {"code", "message", "details"?}}``; one that
is not (a proxy's HTML page) still becomes an ``ApiClientError`` with the HTTP status.
"""

from __future__ import annotations

import json
import os
import socket
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import voiceplatform
from voiceplatform.exceptions import VoicePlatformError
from voiceplatform.settings import paths

DEFAULT_URL = "http://127.0.0.1:8080"
URL_ENV = "VOICEPLATFORM_API_URL"
TOKEN_ENV = "VOICEPLATFORM_TOKEN"
TOKEN_FILE = paths().token_file  # the instance's .state/api-token, written by the embedded server on its first start

__all__ = ["ApiClient", "ApiClientError", "ApiConnectionError", "MissingTokenError", "DEFAULT_URL", "TOKEN_FILE"]


class ApiClientError(VoicePlatformError):
    """The API refused a request. ``status`` is the HTTP status (0 when there was no answer)."""

    def __init__(self, status: int, code: str, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details


class ApiConnectionError(ApiClientError):
    """No answer: the server is down, the address is wrong, or it timed out."""

    def __init__(self, message: str) -> None:
        super().__init__(0, "unreachable", message)


class MissingTokenError(ApiClientError):
    """No API token was given and none was found."""

    def __init__(self) -> None:
        super().__init__(0, "no_token", (
            f"no API token: pass --token, set {TOKEN_ENV}, or start the embedded server once "
            f"(`voiceplatform serve` writes an admin token to {TOKEN_FILE}); an admin can issue more with POST /tokens"))


class ApiClient:
    """Bearer-token JSON client for one API base URL. Methods return the decoded JSON object."""

    def __init__(self, base_url: str, token: str, timeout: float = 10) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = timeout

    @classmethod
    def from_env(cls, api: str | None = None, token: str | None = None, timeout: float = 10) -> ApiClient:
        """The URL from ``api``, else ``$VOICEPLATFORM_API_URL``, else http://127.0.0.1:8080; the token
        from ``token``, else ``$VOICEPLATFORM_TOKEN``, else ``.state/api-token`` in the instance folder."""
        base_url = api or os.environ.get(URL_ENV) or DEFAULT_URL
        secret = (token or os.environ.get(TOKEN_ENV) or _token_from_file(TOKEN_FILE) or "").strip()
        if not secret:
            raise MissingTokenError()
        return cls(base_url, secret, timeout)

    def url(self, path: str, params: dict[str, Any] | None = None) -> str:
        url = f"{self.base_url}/{path.lstrip('/')}"
        query = {key: value for key, value in (params or {}).items() if value is not None}
        return f"{url}?{urllib.parse.urlencode(query)}" if query else url

    def get(self, path: str, **params: Any) -> dict[str, Any]:
        return self._send("GET", self.url(path, params))

    def post(self, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        return self._send("POST", self.url(path), body)

    def _send(self, method: str, url: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "application/json",
                   "User-Agent": f"voiceplatform-cli/{voiceplatform.__version__}"}
        data = None
        if body is not None or method == "POST":
            data = json.dumps(body or {}).encode()
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(url, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as exc:
            raise _error_from(exc.code, exc.read()) from exc
        except (TimeoutError, socket.timeout) as exc:
            raise ApiConnectionError(f"{self.base_url} did not answer within {self.timeout:g} s") from exc
        except urllib.error.URLError as exc:
            raise ApiConnectionError(f"cannot reach the API at {self.base_url}: {_reason(exc)} "
                                     f"(is the server running? see --api or {URL_ENV})") from exc
        except OSError as exc:  # a connection reset mid-answer
            raise ApiConnectionError(f"the connection to {self.base_url} failed: {exc}") from exc
        try:
            decoded = json.loads(raw)
        except ValueError as exc:
            raise ApiClientError(status, "bad_response", f"{method} {url}: the answer is not JSON") from exc
        if not isinstance(decoded, dict):
            raise ApiClientError(status, "bad_response", f"{method} {url}: expected a JSON object")
        return decoded


def _token_from_file(path: Path) -> str | None:
    try:
        return path.read_text().strip() or None
    except FileNotFoundError:
        return None


def _reason(exc: urllib.error.URLError) -> str:
    reason = exc.reason
    return reason.strerror if isinstance(reason, OSError) and reason.strerror else str(reason)


def _error_from(status: int, raw: bytes) -> ApiClientError:
    try:
        error = json.loads(raw)["error"]
        return ApiClientError(status, str(error["code"]), str(error["message"]), error.get("details"))
    except (ValueError, KeyError, TypeError):
        text = raw.decode("utf-8", "replace").strip()
        return ApiClientError(status, "http_error", f"HTTP {status}" + (f": {text[:200]}" if text else ""))
