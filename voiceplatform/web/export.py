"""The recordings list as CSV, with each recording's QA review: streamed a row at a time (the
search is iterated, the reviews are fetched a batch at a time), so a long list never sits in
memory. Cells that a spreadsheet would run as a formula are prefixed with a quote
(voiceplatform.safety.spreadsheet_cells)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice

from sqlalchemy import select
from sqlalchemy.orm import Session

from voiceplatform.models import QaReview, User
from voiceplatform.safety.spreadsheet_cells import CsvLines, safe_cell
from voiceplatform.review.search import RecordingRow
from voiceplatform.web.rubric import RubricItem

BATCH = 500
COLUMNS = ("recording_id", "call_id", "created_at", "duration", "to", "flow", "campaign_id", "outcome",
           "transcription_status", "audio_deleted", "qa_status", "score", "tags", "reviewer", "reviewed_at", "notes",
           "scores")  # every score as key=value;... then one column per item of the viewer's rubric
__all__ = ["COLUMNS", "csv_lines", "safe_cell"]  # safe_cell: voiceplatform.safety.spreadsheet_cells


def csv_lines(session: Session, rows: Iterable[RecordingRow], rubric: tuple[RubricItem, ...]) -> Iterator[str]:
    line = CsvLines().line
    yield line([*COLUMNS, *(f"score_{item.key}" for item in rubric)])
    iterator = iter(rows)
    while batch := list(islice(iterator, BATCH)):
        reviews = {review.recording_id: review for review in session.scalars(
            select(QaReview).where(QaReview.recording_id.in_([row.id for row in batch])))}
        reviewer_ids = {review.reviewer_id for review in reviews.values() if review.reviewer_id}
        emails = dict(session.execute(select(User.id, User.email).where(User.id.in_(reviewer_ids))).all()) if reviewer_ids else {}
        for row in batch:
            review = reviews.get(row.id)
            scores = (review.scores or {}) if review else {}
            yield line([
                row.id, row.call_id, row.created_at.isoformat() if row.created_at else "", row.duration, row.to, row.flow,
                row.campaign_id or "", row.outcome or "", row.transcription_status, "yes" if row.audio_deleted else "no",
                row.qa_status, "" if row.score is None else row.score, ";".join(row.tags or []),
                emails.get(review.reviewer_id, "") if review and review.reviewer_id else "",
                review.updated_at.isoformat() if review and review.updated_at else "", review.notes if review else "",
                ";".join(f"{key}={value}" for key, value in sorted(scores.items())),
                *(scores.get(item.key, "") for item in rubric),
            ])
