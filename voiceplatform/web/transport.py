"""HTTPS by default: the session cookie is ``Secure``, ``HttpOnly`` and ``SameSite=Lax``, and every
response (API and web UI) carries ``Strict-Transport-Security``, on the assumption that the
platform is served behind TLS.

Plain-HTTP development (``voiceplatform serve`` on 127.0.0.1, the demo, the tests) says so
explicitly: ``PLAIN_HTTP`` in the app's config, else ``VOICEPLATFORM_PLAIN_HTTP=1``. Then the
cookie loses ``Secure`` (a browser would not send it back over http://) and no HSTS header is
sent. ``HSTS_SECONDS`` (default one year) is the header's max-age.
"""

from __future__ import annotations

import os
from typing import Any, Mapping

from flask import Flask, Response

ENV = "VOICEPLATFORM_PLAIN_HTTP"
HSTS_SECONDS = 31_536_000
FALSE = ("", "0", "false", "no", "off")


def plain_http(config: Mapping[str, Any], environ: Mapping[str, str] = os.environ) -> bool:
    """Whether this app is served over plain HTTP (the config's ``PLAIN_HTTP`` wins over the environment)."""
    if "PLAIN_HTTP" in config:
        value = config["PLAIN_HTTP"]
        return value.strip().lower() not in FALSE if isinstance(value, str) else bool(value)
    return environ.get(ENV, "").strip().lower() not in FALSE


def configure(app: Flask) -> None:
    insecure = plain_http(app.config)
    app.config["PLAIN_HTTP"] = insecure
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.config["SESSION_COOKIE_SECURE"] = not insecure
    if insecure:
        return
    header = f"max-age={int(app.config.get('HSTS_SECONDS', HSTS_SECONDS))}"

    @app.after_request
    def strict_transport_security(response: Response) -> Response:
        response.headers.setdefault("Strict-Transport-Security", header)
        return response
