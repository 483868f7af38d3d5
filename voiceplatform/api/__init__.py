"""The HTTP API: ``create_app(config=None)`` builds a Flask app with one blueprint per resource.
Importing this package starts nothing and connects to nothing."""

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


#: Endpoints that take a file upload: their body may be max_upload_bytes, not max_request_bytes
#: (voiceplatform.api.body_limits). A new upload route adds its endpoint name here.
UPLOAD_ENDPOINTS = frozenset({"contacts.import_file"})


def create_app(config: dict[str, Any] | None = None) -> Flask:
    from voiceplatform.api import body_limits, database, errors
    from voiceplatform.api.blueprints import calls, campaigns, contacts, dnc, flows, health, numbers, tokens, webhooks
    from voiceplatform.campaigns.pricing import Rates
    from voiceplatform.dialer.jobs import NoJobs
    from voiceplatform.api.openapi import DOCUMENT
    from voiceplatform.db import database_url
    from voiceplatform import web

    app = Flask("voiceplatform", static_folder=None)
    app.url_map.converters["int"] = DatabaseId  # <int:...> never exceeds a 64-bit id
    app.config.update(DATABASE_URL=database_url(os.environ.get("DATABASE_URL")), MIGRATE_ON_START=True, JSON_SORT_KEYS=False)
    app.config.update(config or {})
    errors.init_app(app)
    body_limits.init_app(app, upload_endpoints=UPLOAD_ENDPOINTS)  # 413 past max_request_bytes (uploads: max_upload_bytes)
    database.init_app(app)
    app.extensions["vp_rates"] = Rates.from_mapping(app.config["RATES"]) if app.config.get("RATES") else Rates.from_env()
    app.extensions["vp_jobs"] = app.config.get("JOBS") or NoJobs()  # the embedded server and rq pass theirs
    for blueprint in (health.blueprint, flows.blueprint, tokens.blueprint, dnc.blueprint, calls.blueprint, contacts.blueprint,
                      webhooks.blueprint, campaigns.blueprint, numbers.blueprint):
        app.register_blueprint(blueprint)
    app.add_url_rule("/openapi.json", "openapi", lambda: DOCUMENT)
    web.init_app(app)  # the supervisors' web UI: HTML pages, endpoints named web.* (not in the OpenAPI document)
    return app
