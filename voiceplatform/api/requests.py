"""Reading request bodies: JSON objects only, with clear 400s."""

from __future__ import annotations

from typing import Any

from flask import request

from voiceplatform.api.errors import bad_request


def json_body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise bad_request("the body must be a JSON object (Content-Type: application/json)")
    return body


def field(body: dict[str, Any], name: str, kind: type, *, required: bool = True, default: Any = None) -> Any:
    if name not in body or body[name] is None:
        if required:
            raise bad_request(f"{name!r} is required", {"field": name})
        return default
    value = body[name]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise bad_request(f"{name!r} must be {kind.__name__}", {"field": name})
    return value
