"""``Idempotency-Key`` on POSTs: the first answer is stored and replayed for a retry with the same
key and the same request; the same key with a different request is refused (422)."""

from __future__ import annotations

import hashlib
from functools import wraps
from typing import Any, Callable, TypeVar

from flask import Response, jsonify, request
from sqlalchemy import select

from voiceplatform.api.auth import account_id
from voiceplatform.db.request_session import db
from voiceplatform.api.errors import ApiError
from voiceplatform.models import IdempotencyKey

F = TypeVar("F", bound=Callable[..., Any])
HEADER = "Idempotency-Key"


def idempotent(view: F) -> F:
    """Apply after @requires (the account must be known)."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        key = request.headers.get(HEADER)
        if not key:
            return view(*args, **kwargs)
        if len(key) > 200:
            raise ApiError(400, "bad_idempotency_key", f"{HEADER} is longer than 200 characters")
        fingerprint = hashlib.sha256(b"\n".join([request.method.encode(), request.path.encode(), request.get_data()])).hexdigest()
        session = db()
        seen = session.scalars(select(IdempotencyKey).where(IdempotencyKey.account_id == account_id(), IdempotencyKey.key == key)).first()
        if seen is not None:
            if seen.request_hash != fingerprint:
                raise ApiError(422, "idempotency_key_reused", f"{HEADER} {key!r} was used for a different request")
            replay = jsonify(seen.response)
            replay.status_code = seen.status
            replay.headers["Idempotent-Replayed"] = "true"
            return replay
        result = view(*args, **kwargs)
        response: Response = result if isinstance(result, Response) else _response(result)
        if response.status_code < 500 and response.is_json:
            session.add(IdempotencyKey(account_id=account_id(), key=key, request_hash=fingerprint,
                                       status=response.status_code, response=response.get_json()))
        return response

    return wrapper  # type: ignore[return-value]


def _response(result: Any) -> Response:
    if isinstance(result, tuple):
        body, status = result[0], result[1]
        response = body if isinstance(body, Response) else jsonify(body)
        response.status_code = status
        return response
    return jsonify(result)
