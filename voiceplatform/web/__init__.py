"""The supervisors' web UI: server-rendered pages where people (not API tokens) sign in, find
recordings, listen, read transcripts and score calls. ``init_app(app)`` adds it to the app that
``voiceplatform.app.create_app`` builds; it never imports the API. Importing it starts nothing. See docs/recordings.md ("Web UI")."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask


def init_app(app: Flask) -> None:
    from voiceplatform.web.setup import configure

    configure(app)
