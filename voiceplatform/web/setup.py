"""Wiring the web UI into the Flask app: the secret key, the session cookie's flags, the
blueprints, template helpers and the security headers of every page.

Config (all optional): ``SECRET_KEY`` (else ``VOICEPLATFORM_SECRET_KEY``, else
``.state/secret-key``), ``PLAIN_HTTP`` (else ``VOICEPLATFORM_PLAIN_HTTP=1``: no ``Secure`` cookie
and no HSTS, for development on http://; see ``voiceplatform.web.transport``), ``HSTS_SECONDS``
(default one year), ``MEDIA_DIR`` (else ``VOICEPLATFORM_MEDIA_DIR``, else ``media/``),
``MEDIA_URL_SECONDS`` (how long a signed media URL works, default 300), ``WEB_SESSION_HOURS``
(a session's absolute lifetime, default 12) and ``WEB_SESSION_IDLE_MINUTES`` (idle timeout,
default 60), each of the last two also read from ``VOICEPLATFORM_<NAME>``; ``WEB_CLOCK`` replaces
the clock in tests.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from flask import Flask

from voiceplatform.web.secret import secret_key


def configure(app: Flask) -> None:
    from voiceplatform.web import csrf, session_store, transport
    from voiceplatform.web.views import blueprint

    app.secret_key = secret_key(app.config)
    app.config["SESSION_COOKIE_NAME"] = app.config.get("WEB_SESSION_COOKIE", "vp_session")
    transport.configure(app)
    session_store.resolve_settings(app.config)
    app.jinja_env.globals["csrf_token"] = csrf.token
    app.jinja_env.filters["clock"] = clock
    app.jinja_env.filters["when"] = when
    app.register_blueprint(blueprint)


def clock(seconds: float | Decimal | None) -> str:
    """``83.4`` -> ``1:23``; an hour or more -> ``1:02:03``."""
    if seconds is None:
        return ""
    total = int(float(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC") if moment else ""
