"""Every error the API returns is JSON: ``{"error": {"code": ..., "message": ..., "details": ...}}``
with a 4xx status for anything the client sent wrong.

Domain errors raised below the routes are translated here, once, so every route inherits them:
:class:`~voiceplatform.exceptions.HostileJsonError` is 400 ``bad_json``,
:class:`~voiceplatform.exceptions.ValueTooLongError` (a string longer than its column) is 422
``too_long`` naming the field, any other
:class:`~voiceplatform.exceptions.InputRejectedError` is 422 with its own code; a body over its
size limit is 413 ``request_entity_too_large``."""

from __future__ import annotations

from typing import Any

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException

from voiceplatform.exceptions import HostileJsonError, InputRejectedError, ValueTooLongError, VoicePlatformError


class ApiError(VoicePlatformError):
    def __init__(self, status: int, code: str, message: str, details: Any = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.headers = headers or {}  # sent with the answer (a 429's Retry-After)


def bad_request(message: str, details: Any = None, code: str = "bad_request") -> ApiError:
    return ApiError(400, code, message, details)


def not_found(what: str) -> ApiError:
    return ApiError(404, "not_found", f"{what} not found")


def _body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        error["details"] = details
    return {"error": error}


def init_app(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def api_error(error: ApiError):  # type: ignore[no-untyped-def]
        return jsonify(_body(error.code, error.message, error.details)), error.status, error.headers

    @app.errorhandler(InputRejectedError)
    def input_rejected(error: InputRejectedError):  # type: ignore[no-untyped-def]
        details: dict[str, Any] | None = {"field": error.field} if error.field else None
        if isinstance(error, ValueTooLongError):
            details = {"field": error.column, "table": error.table, "max_length": error.max_length}
        status = 400 if isinstance(error, HostileJsonError) else 422
        return jsonify(_body(error.code, error.message, details)), status

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):  # type: ignore[no-untyped-def]
        code = (error.name or "error").lower().replace(" ", "_")
        return jsonify(_body(code, error.description or error.name)), error.code or 500
