"""Request body size, capped for every route in one place, before the body is read.

Every request (API and web UI) may carry at most ``max_request_bytes`` (1 MiB by default,
``VOICEPLATFORM_LIMIT_MAX_REQUEST_BYTES``). Routes that take a file upload get
``max_upload_bytes`` instead (20 MiB, ``VOICEPLATFORM_LIMIT_MAX_UPLOAD_BYTES``): they are named
by endpoint in ``init_app(app, upload_endpoints=...)`` (``voiceplatform.api.init_app`` names them; a new upload
route adds its endpoint there, nothing else).

How: a ``before_request`` hook sets Flask's per-request ``request.max_content_length`` to the
route's limit and answers 413 at once when ``Content-Length`` already says more. A body without
a length (``Transfer-Encoding: chunked``) is read through werkzeug's stream, which
``max_content_length`` caps: reading past the limit raises 413 instead of buffering the rest.
Every 413 is JSON, like every other error (voiceplatform.api.errors).
"""

from __future__ import annotations

from collections.abc import Iterable

from flask import Flask, request
from werkzeug.exceptions import RequestEntityTooLarge

from voiceplatform import limits


def limit_for(endpoint: str | None, upload_endpoints: frozenset[str]) -> int:
    """The largest body, in bytes, that the route ``endpoint`` accepts."""
    current = limits.current()
    return current.max_upload_bytes if endpoint in upload_endpoints else current.max_request_bytes


def init_app(app: Flask, upload_endpoints: Iterable[str] = ()) -> None:
    uploads = frozenset(upload_endpoints)
    app.extensions["vp_upload_endpoints"] = uploads

    @app.before_request
    def cap_body() -> None:
        limit = limit_for(request.endpoint, uploads)
        request.max_content_length = limit  # caps form parsing and the (chunked) input stream
        if request.content_length is not None and request.content_length > limit:
            raise RequestEntityTooLarge(f"the request body is {request.content_length:,} bytes; "
                                        f"this route accepts at most {limit:,}")


def read_body() -> bytes:
    """The request body, at most the route's limit. werkzeug's capped stream stops quietly at the
    limit for a body without a length (chunked): reaching it then means more was sent, a 413."""
    data = request.get_data(cache=True)
    limit = request.max_content_length
    if request.content_length is None and limit is not None and len(data) >= limit:
        raise RequestEntityTooLarge(f"the request body is more than this route's {limit:,} bytes")
    return data
