"""The HTTP API: ``init_app(app)`` adds one blueprint per resource to the app that
``voiceplatform.app.create_app`` builds. Importing this package starts nothing and connects to
nothing; it never imports the web UI (an import-linter contract, tests/test_architecture.py)."""

from __future__ import annotations

from flask import Flask


#: Endpoints that take a file upload: their body may be max_upload_bytes, not max_request_bytes
#: (voiceplatform.api.body_limits). A new upload route adds its endpoint name here.
UPLOAD_ENDPOINTS = frozenset({"contacts.import_file", "personalised.send_personalised"})


def init_app(app: Flask) -> None:
    """Add the API to ``app`` (built by ``voiceplatform.app.create_app``, which installs the database
    first): JSON errors, body limits, rates, the job queue, one blueprint per resource and the
    OpenAPI document. The API knows nothing of the web UI."""
    from voiceplatform.api import body_limits, errors
    from voiceplatform.api.blueprints import calls, campaigns, contacts, dnc, flows, health, numbers, tokens, webhooks
    from voiceplatform.api.blueprints import sessions as sessions_api
    from voiceplatform.api.blueprints import engagement, links, surveys
    from voiceplatform.api.blueprints import messages, personalised, senders
    from voiceplatform.api.openapi import DOCUMENT
    from voiceplatform.campaigns.pricing import Rates
    from voiceplatform.dialer.jobs import NoJobs

    errors.init_app(app)
    body_limits.init_app(app, upload_endpoints=UPLOAD_ENDPOINTS)  # 413 past max_request_bytes (uploads: max_upload_bytes)
    app.extensions["vp_rates"] = Rates.from_mapping(app.config["RATES"]) if app.config.get("RATES") else Rates.from_env()
    app.extensions["vp_jobs"] = app.config.get("JOBS") or NoJobs()  # the embedded server and rq pass theirs
    for blueprint in (health.blueprint, flows.blueprint, tokens.blueprint, dnc.blueprint, calls.blueprint, contacts.blueprint,
                      webhooks.blueprint, campaigns.blueprint, numbers.blueprint, sessions_api.blueprint,
                      engagement.blueprint, surveys.blueprint, links.blueprint,  # links: the public /l/<token>
                      messages.blueprint, personalised.blueprint, senders.blueprint):
        app.register_blueprint(blueprint)
    from voiceplatform.channels.dev import dev_channel_enabled

    if app.config.get("DEV_CHANNEL", dev_channel_enabled()):  # the designers' test channel; off in production
        from voiceplatform.channels.dev.routes import blueprint as dev_blueprint

        app.register_blueprint(dev_blueprint)
    app.add_url_rule("/openapi.json", "openapi", lambda: DOCUMENT)
