"""``/media/recordings/<id>``: a recording's audio, only through a signed URL issued to the
signed-in person (see ``voiceplatform.web.signing``), streamed in chunks with HTTP Range support
so the player seeks without fetching the whole file.

403 for a missing, altered, expired or somebody else's signature; 404 for a recording the person
may not see (or whose file is gone); 410 once retention deleted the audio; 403 for a row whose
path lies outside the media root; 416 (``Content-Range: bytes */<size>``) for a bad range.
The first request served through a URL writes a ``listen`` (or ``download``) audit event.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from flask import Blueprint, Response, abort, current_app, request

from voiceplatform.db.request_session import db
from voiceplatform.models import Recording
from voiceplatform.web import audit, signing
from voiceplatform.web.media_files import media_root, read_chunks, recording_file
from voiceplatform.web.people import REVIEWERS
from voiceplatform.web.ranges import NotSatisfiable, parse_range
from voiceplatform.web.secret import derived_key
from voiceplatform.web.viewer import current_viewer

blueprint = Blueprint("media", __name__)


def media_key() -> bytes:
    return derived_key(str(current_app.secret_key), "media-url")


def url_seconds() -> int:
    return int(current_app.config.get("MEDIA_URL_SECONDS", signing.DEFAULT_SECONDS))


def media_url(recording_id: int, purpose: str, user_id: int) -> str:
    """A fresh signed URL for the signed-in ``user_id``."""
    from flask import url_for

    grant = signing.issue(media_key(), recording_id, purpose, user_id, time.time(), url_seconds())
    query: dict[str, Any] = grant.query(media_key())
    return url_for("web.media.recording_audio", recording_id=recording_id, **query)


@blueprint.route("/media/recordings/<int:recording_id>")
def recording_audio(recording_id: int) -> Response:
    try:
        grant = signing.verify(media_key(), recording_id, request.args, time.time())
    except signing.Expired:
        abort(403, "this audio link has expired: reload the page")
    except signing.BadSignature:
        abort(403, "this audio link is not valid")
    viewer = current_viewer()
    if viewer is None or viewer.user_id != grant.user_id or viewer.role not in REVIEWERS:
        abort(403, "this audio link was issued to somebody else")
    recording = db().get(Recording, recording_id)
    if recording is None or not viewer.sees(recording.account_id):
        abort(404)
    if recording.audio_deleted_at is not None:
        abort(410, "the audio of this recording was deleted under the account's retention policy")
    path = recording_file(recording.path, media_root(current_app.config))
    if path is None:
        abort(403, "the recording's file is outside the media folder")
    if not path.is_file():
        abort(404, "the recording's file is missing")
    size = path.stat().st_size
    try:
        wanted = parse_range(request.headers.get("Range"), size)
    except NotSatisfiable:
        return Response(status=416, headers={"Content-Range": f"bytes */{size}", "Accept-Ranges": "bytes"})
    action = audit.LISTEN if grant.purpose == "listen" else audit.DOWNLOAD
    if request.method == "GET" and not audit.url_already_used(db(), action, recording_id, viewer.user_id, grant.nonce,
                                                               timedelta(seconds=url_seconds() + 60)):
        audit.record(db(), action, recording.account_id, viewer.user_id, recording_id=recording_id,
                     details={"nonce": grant.nonce, "range": request.headers.get("Range")})
    db().commit()  # the audit event is saved before the first byte leaves
    headers: dict[str, Any] = {"Accept-Ranges": "bytes", "Content-Type": "audio/wav", "Cache-Control": "private, no-store",
                               "ETag": f'"{recording.sha256}"' if recording.sha256 else None}
    if grant.purpose == "download":
        headers["Content-Disposition"] = f'attachment; filename="recording-{recording_id}.wav"'
    start, length, status = 0, size, 200
    if wanted is not None:
        start, length, status = wanted.start, wanted.length, 206
        headers["Content-Range"] = wanted.content_range(size)
    headers["Content-Length"] = str(length)
    body = read_chunks(path, start, length)
    return Response(body, status=status, headers={k: v for k, v in headers.items() if v is not None},
                    direct_passthrough=True)
