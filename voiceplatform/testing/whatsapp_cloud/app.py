"""Meta's HTTP surface (Graph API paths under ``/{version}``) on a :class:`CloudAccount`.

- ``POST /{version}/{phone-number-id}/messages``: send, or mark a message read
- ``POST /{version}/{phone-number-id}/media``: upload (multipart ``file``) → ``{"id"}``
- ``GET /{version}/{media-id}``: ``{url, mime_type, sha256, file_size, id}``
- ``GET /whatsapp_business/attachments/?mid=…``: the media bytes (bearer token)
- ``GET /{version}/{waba-id}/message_templates``: the registry (``data[]``, ``paging``)

Every refusal is Meta's error body, never a 500: a bad or missing bearer token is 401 code
190, a body over :data:`MAX_BODY_BYTES` or that is not JSON is 400 code 100, unknown paths are
code 100 as Graph answers them.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from voiceplatform.testing.whatsapp_cloud.account import CloudAccount
from voiceplatform.testing.whatsapp_cloud.control import control_blueprint
from voiceplatform.testing.whatsapp_cloud.errors import CloudApiError, error_body

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024
MAX_MEDIA_BYTES = 16 * 1024 * 1024
_VERSION = re.compile(r"^v\d{1,2}\.\d$")
_NODE_ID = re.compile(r"^\d{1,20}$")


def json_response(payload: Any, status: int = 200) -> Response:
    return Response(json.dumps(payload, ensure_ascii=True, separators=(",", ":")), status=status,
                    mimetype="application/json")


def meta_error(exc: CloudApiError) -> Response:
    response = json_response(exc.body(), exc.http_status)
    if exc.code == 190:
        response.headers["WWW-Authenticate"] = 'OAuth "Facebook Platform" "invalid_token" "Invalid OAuth access token."'
    return response


def create_app(account: CloudAccount) -> Flask:
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = MAX_MEDIA_BYTES + 64 * 1024

    def check_version(version: str) -> None:
        if not _VERSION.match(version):
            raise CloudApiError(100, f"Unknown path components: /{version[:32]}")

    def check_token() -> None:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            token = request.args.get("access_token", "")
        if token.strip() != account.token:
            raise CloudApiError(190, "Invalid OAuth access token - Cannot parse access token")

    def json_body() -> Any:
        raw = request.get_data(cache=True)
        if len(raw) > MAX_BODY_BYTES:
            raise CloudApiError(100, f"The request body is larger than {MAX_BODY_BYTES} bytes.")
        try:
            return json.loads(raw)
        except (ValueError, RecursionError) as exc:
            raise CloudApiError(100, "The request body is not valid JSON.") from exc

    @app.errorhandler(CloudApiError)
    def on_cloud_error(exc: CloudApiError) -> Response:
        return meta_error(exc)

    @app.errorhandler(HTTPException)
    def on_http_error(exc: HTTPException) -> Response:
        if isinstance(exc, RequestEntityTooLarge):
            return meta_error(CloudApiError(100, "The request body is too large.", http_status=413))
        status = exc.code or 400
        return json_response(error_body(100, f"Unsupported request: {exc.name}"), status if status < 500 else 400)

    @app.errorhandler(Exception)
    def on_bug(exc: Exception) -> Response:  # the emulator's own bug: still Meta's shape
        log.exception("contract server error")
        return json_response(error_body(1, f"An unknown error occurred ({exc.__class__.__name__})"), 500)

    @app.post("/<version>/<phone_number_id>/messages")
    def send(version: str, phone_number_id: str) -> Response:
        check_version(version)
        check_token()
        return json_response(account.send(phone_number_id, json_body()))

    @app.post("/<version>/<phone_number_id>/media")
    def upload(version: str, phone_number_id: str) -> Response:
        check_version(version)
        check_token()
        account.number(phone_number_id)
        if request.form.get("messaging_product") != "whatsapp":
            raise CloudApiError(131008, "The parameter messaging_product is required.")
        upload = request.files.get("file")
        if upload is None:
            raise CloudApiError(131008, "The parameter file is required.")
        data = upload.read(MAX_MEDIA_BYTES + 1)
        if len(data) > MAX_MEDIA_BYTES:
            raise CloudApiError(131053, f"Media file is larger than {MAX_MEDIA_BYTES} bytes.")
        mime = request.form.get("type") or upload.mimetype or "application/octet-stream"
        with account._lock:
            media = account.media.add(data, mime)
        return json_response({"id": media.id})

    @app.get("/<version>/<media_id>")
    def media_info(version: str, media_id: str) -> Response:
        check_version(version)
        check_token()
        media = account.media.get(media_id) if _NODE_ID.match(media_id) else None
        if media is None:
            raise CloudApiError(100, f"Unsupported get request. Object with ID '{media_id[:64]}' does not exist, "
                                     "cannot be loaded due to missing permissions, or does not support this operation.")
        return json_response(account.media.describe(account.base_url, media))

    @app.get("/whatsapp_business/attachments/")
    def media_bytes() -> Response:
        check_token()
        media = account.media.get(request.args.get("mid", ""))
        if media is None:
            return json_response(error_body(100, "Unknown media"), 404)
        return Response(media.data, mimetype=media.mime_type.split(";")[0],
                        headers={"Content-Disposition": f"attachment; filename={media.id}"})

    @app.get("/<version>/<waba_id>/message_templates")
    def templates(version: str, waba_id: str) -> Response:
        check_version(version)
        check_token()
        if not any(n.waba_id == waba_id for n in account.registry.numbers.values()):
            raise CloudApiError(100, f"Unsupported get request. Object with ID '{waba_id[:64]}' does not exist.")
        rows = [t.listing() for t in account.registry.waba_templates(waba_id)]
        for key in ("name", "status", "category", "language"):
            wanted = request.args.get(key)
            if wanted:
                rows = [r for r in rows if str(r[key]).lower() == wanted.lower()
                        or key == "name" and wanted.lower() in str(r[key]).lower()]
        limit_arg = request.args.get("limit", "25")
        after_arg = request.args.get("after", "0")
        if not limit_arg.isdigit() or not 1 <= int(limit_arg) <= 1000 or not after_arg.isdigit():
            raise CloudApiError(100, "Param limit must be an integer 1..1000 and after a cursor from paging.")
        start, limit = int(after_arg), int(limit_arg)
        page = rows[start:start + limit]
        paging: dict[str, Any] = {"cursors": {"before": str(start), "after": str(start + len(page))}}
        if start + limit < len(rows):
            paging["next"] = (f"{account.base_url}/{version}/{waba_id}/message_templates"
                              f"?limit={limit}&after={start + len(page)}")
        return json_response({"data": page, "paging": paging})

    app.register_blueprint(control_blueprint(account))
    return app
