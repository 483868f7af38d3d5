"""Health checks (no token needed)."""

from __future__ import annotations

from flask import Blueprint
from sqlalchemy import text

from voiceplatform.db.request_session import db

blueprint = Blueprint("health", __name__)


@blueprint.get("/health")
def health():  # type: ignore[no-untyped-def]
    db().execute(text("SELECT 1"))
    return {"status": "ok"}
