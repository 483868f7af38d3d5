"""One SQLAlchemy session per request, committed when the view succeeds. Shared by the API and the
web UI (both read it through ``db()``); ``voiceplatform.app.create_app`` installs it."""

from __future__ import annotations

from flask import Flask, g
from sqlalchemy.orm import Session

from voiceplatform.db import make_engine, session_factory, upgrade


def init_app(app: Flask) -> None:
    url = app.config["DATABASE_URL"]
    if app.config.get("MIGRATE_ON_START", True):
        upgrade(url)
    engine = make_engine(url)
    app.extensions["vp_engine"] = engine
    app.extensions["vp_sessions"] = session_factory(engine)

    @app.teardown_request
    def close_session(error: BaseException | None) -> None:
        session: Session | None = g.pop("db", None)
        if session is None:
            return
        try:
            if error is None:
                session.commit()
            else:
                session.rollback()
        finally:
            session.close()


def db() -> Session:
    """The request's session."""
    if "db" not in g:
        from flask import current_app

        g.db = current_app.extensions["vp_sessions"]()
    return g.db
