"""A CSV download of one campaign's data, streamed a line at a time from a database session of
its own (the request's session is closed before the body is sent), so a 150,000-row export never
sits in memory. The caller has checked that the campaign is visible."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from flask import Response, current_app
from sqlalchemy.orm import Session

from voiceplatform.models import Campaign


def campaign_csv(campaign_id: int, filename: str, lines: Callable[[Session, Campaign], Iterator[str]]) -> Response:
    sessions = current_app.extensions["vp_sessions"]

    def stream() -> Iterator[str]:
        with sessions() as session:
            campaign = session.get(Campaign, campaign_id)
            if campaign is not None:
                yield from lines(session, campaign)

    return Response(stream(), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"})
