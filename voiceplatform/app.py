"""The one application factory: ``create_app(config=None)`` builds the Flask app that serves the
HTTP API (``voiceplatform.api``) and the supervisors' web UI (``voiceplatform.web``) together.

It is the only module that knows both: the API and the web UI never import each other (an
import-linter contract in tests/test_architecture.py), and what they share, the request's database
session, lives in ``voiceplatform.db.request_session``. Building the app starts nothing but the
schema migration (``MIGRATE_ON_START``, on by default).
"""

from __future__ import annotations

import os
from typing import Any

from flask import Flask
from werkzeug.routing import IntegerConverter


class DatabaseId(IntegerConverter):
    """A path id: a whole number that fits the databases' INTEGER ids (else 404, not a crash).
    PostgreSQL's INTEGER is 32-bit: a larger id fails the query ("integer out of range")."""

    def __init__(self, url_map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(url_map, *args, **kwargs)


def create_app(config: dict[str, Any] | None = None) -> Flask:
    from voiceplatform import api, web
    from voiceplatform.db import database_url, request_session

    app = Flask("voiceplatform", static_folder=None)
    app.url_map.converters["int"] = DatabaseId  # <int:...> in the API and the web UI never exceeds an INTEGER id
    app.config.update(DATABASE_URL=database_url(os.environ.get("DATABASE_URL")), MIGRATE_ON_START=True, JSON_SORT_KEYS=False)
    app.config.update(config or {})
    request_session.init_app(app)
    api.init_app(app)
    web.init_app(app)  # HTML pages, endpoints named web.* (not in the OpenAPI document)
    return app
