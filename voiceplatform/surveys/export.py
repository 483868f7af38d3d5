"""Every answer of a campaign's survey as CSV, a line at a time: one row per answer of every
attempt (a recipient asked twice appears twice), by recipient then time. UTF-8 with a byte-order
mark, so that Excel opens Arabic answers as Arabic; cells a spreadsheet would run as formulas
are quoted (voiceplatform.safety.spreadsheet_cells)."""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy.orm import Session

from voiceplatform.models import Campaign
from voiceplatform.safety.spreadsheet_cells import UTF8_BOM, CsvLines
from voiceplatform.surveys.answers import every_answer
from voiceplatform.surveys.results import campaign_flow, questions_of

COLUMNS = ("recipient", "phone", "question", "answer", "label", "input", "answered_at", "channel")


def answer_lines(db: Session, campaign: Campaign) -> Iterator[str]:
    """The export's lines; ``recipient`` is the contact's id."""
    line = CsvLines().line
    yield UTF8_BOM + line(COLUMNS)
    flow = campaign_flow(db, campaign)
    names = [question.name for question in questions_of(flow, campaign.channel)] if flow is not None else []
    for answer in every_answer(db, campaign, names):
        yield line((answer.contact_id, answer.phone, answer.question, answer.value, answer.label, answer.input,
                    answer.answered_at, answer.channel))
