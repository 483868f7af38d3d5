"""Saving a supervisor's QA review of a recording: a score per rubric item, tags, notes and a
status (reviewed or flagged). The review is one row per recording; the recording's ``qa_status``
follows it, and every change is written to the audit log with what it was before."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from voiceplatform.models import QaReview, Recording
from voiceplatform.web import audit
from voiceplatform.web.rubric import RubricItem

STATUSES = ("reviewed", "flagged")
MAX_TAGS = 20
MAX_TAG = 40
MAX_NOTES = 10_000


@dataclass
class QaForm:
    scores: dict[str, int] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    notes: str = ""
    status: str = "reviewed"

    def as_dict(self) -> dict[str, Any]:
        return {"scores": dict(self.scores), "tags": list(self.tags), "notes": self.notes, "status": self.status}


def parse_tags(text: str) -> list[str]:
    tags: list[str] = []
    for raw in text.replace("\n", ",").split(","):
        tag = " ".join(raw.split()).lower()[:MAX_TAG]
        if tag and tag not in tags:
            tags.append(tag)
    return tags[:MAX_TAGS]


def parse_form(form: Mapping[str, str], rubric: tuple[RubricItem, ...]) -> tuple[QaForm, list[str]]:
    """The review a form describes, and what is wrong with it (an empty score means not scored)."""
    parsed, problems = QaForm(), []
    for item in rubric:
        raw = (form.get(f"score_{item.key}") or "").strip()
        if not raw:
            continue
        try:
            score = int(raw)
        except ValueError:
            problems.append(f"{item.label}: {raw!r} is not a whole number")
            continue
        if not 0 <= score <= item.max_score:
            problems.append(f"{item.label}: the score goes from 0 to {item.max_score}")
            continue
        parsed.scores[item.key] = score
    parsed.tags = parse_tags(form.get("tags") or "")
    parsed.notes = (form.get("notes") or "").strip()
    if len(parsed.notes) > MAX_NOTES:
        problems.append(f"the notes are longer than {MAX_NOTES} characters")
    parsed.status = form.get("status") or ""
    if parsed.status not in STATUSES:
        problems.append("choose a status: reviewed or flagged")
    return parsed, problems


def review_of(session: Session, recording_id: int) -> QaReview | None:
    return session.scalars(select(QaReview).where(QaReview.recording_id == recording_id)).first()


def save_review(session: Session, recording: Recording, form: QaForm, reviewer_id: int) -> bool:
    """Create or update the recording's review; True if anything changed (then it is audited)."""
    review = review_of(session, recording.id)
    before = None if review is None else QaForm(dict(review.scores or {}), list(review.tags or []), review.notes or "",
                                                review.status).as_dict()
    after = form.as_dict()
    if before == after:
        return False
    if review is None:
        review = QaReview(recording_id=recording.id, account_id=recording.account_id)
        session.add(review)
    review.scores, review.tags, review.notes, review.status = after["scores"], after["tags"], after["notes"], after["status"]
    review.reviewer_id = reviewer_id
    recording.qa_status = form.status
    changed = sorted(key for key in after if before is None or before[key] != after[key])
    audit.record(session, audit.QA_UPDATE, recording.account_id, reviewer_id, recording_id=recording.id,
                 details={"changed": changed, "before": before, "after": after})
    return True
