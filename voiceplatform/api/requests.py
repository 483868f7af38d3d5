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


def field(body: dict[str, Any], name: str, kind: type | tuple[type, ...], *, required: bool = True, default: Any = None) -> Any:
    if name not in body or body[name] is None:
        if required:
            raise bad_request(f"{name!r} is required", {"field": name})
        return default
    value = body[name]
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if not isinstance(value, kinds) or (int in kinds and isinstance(value, bool)):
        names = " or ".join("number" if k is float else k.__name__ for k in kinds)
        raise bad_request(f"{name!r} must be {names}", {"field": name})
    return value
