"""The recordings list (filters, transcript search, sort, pages, CSV export) and a recording's
page (player, waveform, transcript, the caller's path, call facts, QA form, download).

The caller's path is rendered from the call's session rows (voiceplatform.sessions.transcript,
the renderer the sessions API uses too). A call with no session rows (made before sessions were
stored, or placed outside the dialler) shows its stored transcript lines as they are, unparsed.
"""

from __future__ import annotations

from collections.abc import Iterator

from flask import Blueprint, Response, abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from sqlalchemy import select

from voiceplatform.db.request_session import db
from voiceplatform.models import Account, Call, Campaign, FlowSession, FlowVersion, Recording, User
from voiceplatform.review.search import find_recordings, iter_recordings
from voiceplatform.calls.outcomes import CallOutcome
from voiceplatform.sessions import store, transcript
from voiceplatform.web import audit
from voiceplatform.web.export import csv_lines
from voiceplatform.web.listing import PER_PAGE, QA_STATUSES, ListQuery, parse_list_args
from voiceplatform.web.people import REVIEWERS
from voiceplatform.web.qa import STATUSES, parse_form, review_of, save_review
from voiceplatform.web.rubric import rubric_for
from voiceplatform.web.viewer import Viewer, requires, viewer
from voiceplatform.web.views.media import media_url, url_seconds

blueprint = Blueprint("recordings", __name__)
OUTCOMES = tuple(outcome.value for outcome in CallOutcome)


def _visible_recording(recording_id: int) -> Recording:
    """The recording, if the signed-in person may see it; else 404 (another tenant's recording is
    not even admitted to exist)."""
    recording = db().get(Recording, recording_id)
    if recording is None or not viewer().sees(recording.account_id):
        abort(404)
    return recording


def _call_path(call: Call | None) -> list[transcript.PathPart]:
    """The call's journey, part by part, from its session's rows; empty when it has none."""
    if call is None or call.session_id is None:
        return []
    session = db().get(FlowSession, call.session_id)
    if session is None or session.account_id != call.account_id:
        return []
    return transcript.path(store.history(db(), session.id))


def _choices(person: Viewer) -> tuple[list[tuple[int, str]], list[str]]:
    """Campaigns and flow names to offer in the filters (small tables, not the calls)."""
    accounts = list(person.account_ids)
    campaigns = db().execute(select(Campaign.id, Campaign.name).where(Campaign.account_id.in_(accounts))
                             .order_by(Campaign.id.desc()).limit(500)).all()
    flows = db().scalars(select(FlowVersion.name).where(FlowVersion.account_id.in_(accounts)).distinct()
                         .order_by(FlowVersion.name)).all()
    return list(campaigns), list(flows)


@blueprint.route("/recordings")
@requires(REVIEWERS)
def listing() -> tuple[str, int]:
    """The list; a query string with values that do not parse is answered 400 (the page still
    shows the list without them, and says what was wrong)."""
    person = viewer()
    query = parse_list_args(request.args)
    page = find_recordings(db(), list(person.account_ids), query.filters, sort=query.sort, page=query.page,
                           per_page=query.per_page)
    campaigns, flows = _choices(person)
    pages = max(1, -(-page.total // page.per_page))
    return render_template("recordings.html", query=query, page=page, pages=pages, campaigns=campaigns, flows=flows,
                           outcomes=OUTCOMES, qa_statuses=QA_STATUSES, per_page_choices=PER_PAGE,
                           viewer=person), 400 if query.problems else 200


@blueprint.route("/recordings.csv")
@requires(REVIEWERS)
def export_csv() -> Response:
    person = viewer()
    query: ListQuery = parse_list_args(request.args)
    if query.problems:  # never export another list than the one asked for
        abort(400, "; ".join(query.problems))
    rubric = rubric_for(db(), person.account_id)
    audit.record(db(), audit.EXPORT, person.account_id, person.user_id, details={"filters": query.values, "sort": query.sort})
    db().commit()
    sessions = current_app.extensions["vp_sessions"]
    accounts = list(person.account_ids)

    def stream() -> Iterator[str]:
        with sessions() as session:  # its own session: the request's is closed before the body is sent
            rows = iter_recordings(session, accounts, query.filters, sort=query.sort)
            yield from csv_lines(session, rows, rubric)

    return Response(stream(), mimetype="text/csv", headers={
        "Content-Disposition": 'attachment; filename="recordings.csv"', "Cache-Control": "no-store"})


@blueprint.route("/recordings/<int:recording_id>")
@requires(REVIEWERS)
def recording_page(recording_id: int) -> str:
    person = viewer()
    recording = _visible_recording(recording_id)
    call = db().get(Call, recording.call_id)
    account = db().get(Account, recording.account_id)
    review = review_of(db(), recording.id)
    reviewer = db().get(User, review.reviewer_id) if review and review.reviewer_id else None
    campaign = db().get(Campaign, call.campaign_id) if call and call.campaign_id else None
    audio = recording.audio_deleted_at is None
    return render_template(
        "recording.html", recording=recording, call=call, account=account, campaign=campaign, review=review,
        reviewer=reviewer, rubric=rubric_for(db(), recording.account_id), statuses=STATUSES, viewer=person,
        parts=_call_path(call), stored_lines=(call.transcript or []) if call else [],
        segments=recording.transcript_segments or [],
        peaks=recording.peaks or [],
        listen_url=media_url(recording.id, "listen", person.user_id) if audio else None,
        download_url=media_url(recording.id, "download", person.user_id) if audio else None,
        url_seconds=url_seconds(), back=request.args.get("back") or "")


@blueprint.route("/recordings/<int:recording_id>/listen-url", methods=["POST"])
@requires(REVIEWERS)
def fresh_listen_url(recording_id: int) -> Response:
    """A new signed URL for the player, when the page's one has expired (a JavaScript POST)."""
    recording = _visible_recording(recording_id)
    if recording.audio_deleted_at is not None:
        abort(410)
    return jsonify({"url": media_url(recording.id, "listen", viewer().user_id), "seconds": url_seconds()})


@blueprint.route("/recordings/<int:recording_id>/qa", methods=["POST"])
@requires(REVIEWERS)
def save_qa(recording_id: int) -> Response | tuple[str, int]:
    person = viewer()
    recording = _visible_recording(recording_id)
    form, problems = parse_form(request.form, rubric_for(db(), recording.account_id))
    if problems:
        for problem in problems:
            flash(problem, "error")
    elif save_review(db(), recording, form, person.user_id):
        flash("Review saved.", "ok")
    else:
        flash("Nothing changed.", "ok")
    return redirect(url_for("web.recordings.recording_page", recording_id=recording_id) + "#qa")  # type: ignore[return-value]

