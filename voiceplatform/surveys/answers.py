"""A campaign's answers, read out of the stored session states in SQL (no state is loaded into
Python): every ``results`` entry of every attempt's session, as one row each.

Where the states are: a messaging attempt is a ``campaign_messages`` row naming its session
(``sessions.state``); a voice attempt is a ``calls`` row whose session row (same id) holds the
state once the call is settled, else the call's own ``final_state`` (calls made before sessions
were stored). A result entry is ``{value, label, input, confidence, node, channel, at}``
(voiceplatform.flow.run.Run.save_result). The entries are expanded by the database's own JSON
functions: ``json_each`` on SQLite, ``jsonb_each`` on PostgreSQL; the rest is the same SQL.

:func:`question_counts` is the aggregate (each recipient's **latest** answer to a question,
counted per value and label: a retried attempt does not count a recipient twice), and
:func:`every_answer` the export's rows (every answer of every attempt).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Sequence

from sqlalchemy import bindparam, text
from sqlalchemy.orm import Session

from voiceplatform.models import Campaign

BATCH = 1000

_STATES = {
    "messaging": """
        SELECT cm.campaign_contact_id AS entry_id, s.state AS state
        FROM campaign_messages cm JOIN sessions s ON s.id = cm.session_id
        WHERE cm.campaign_id = :campaign_id""",
    "voice": """
        SELECT c.campaign_contact_id AS entry_id, CASE WHEN {has_results} THEN s.state ELSE c.final_state END AS state
        FROM calls c LEFT JOIN sessions s ON s.id = c.session_id
        WHERE c.campaign_id = :campaign_id""",
}
_DIALECTS = {
    "sqlite": {
        "has_results": "json_type(s.state, '$.results') IS NOT NULL",
        "each": "json_each(st.state, '$.results') r",
        "field": "json_extract(r.value, '$.{name}')",
    },
    "postgresql": {
        "has_results": "s.state -> 'results' IS NOT NULL",
        "each": "LATERAL jsonb_each(st.state -> 'results') r",
        "field": "(r.value ->> '{name}')",
    },
}


@dataclass(frozen=True)
class Answer:
    entry_id: int | None
    contact_id: int | None
    phone: str | None
    question: str
    value: str | None
    label: str | None
    input: str | None
    answered_at: str | None
    channel: str | None


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _answers_sql(db: Session, campaign: Campaign) -> str:
    dialect = _DIALECTS.get(db.get_bind().dialect.name)
    if dialect is None:
        raise NotImplementedError(f"survey results need SQLite or PostgreSQL, not {db.get_bind().dialect.name}")
    states = _STATES["voice" if campaign.channel == "voice" else "messaging"].format(has_results=dialect["has_results"])

    def field(name: str) -> str:
        return dialect["field"].format(name=name)

    return f"""
        WITH states AS ({states}),
        answers AS (
            SELECT st.entry_id AS entry_id, r.key AS question, {field('value')} AS value, {field('label')} AS label,
                   {field('input')} AS typed, {field('at')} AS answered_at, {field('channel')} AS channel
            FROM states st CROSS JOIN {dialect['each']}
            WHERE st.state IS NOT NULL AND r.key IN :questions
        )"""


def question_counts(db: Session, campaign: Campaign, questions: Sequence[str]) -> list[tuple[str, str | None, str | None, int]]:
    """``(question, value, label, recipients)`` for each value and label given as a recipient's
    latest answer to one of ``questions``."""
    if not questions:
        return []
    sql = _answers_sql(db, campaign) + """,
        latest AS (
            SELECT question, value, label,
                   ROW_NUMBER() OVER (PARTITION BY entry_id, question ORDER BY answered_at DESC) AS n
            FROM answers
        )
        SELECT question, value, label, COUNT(*) FROM latest WHERE n = 1 GROUP BY question, value, label"""
    rows = db.execute(text(sql).bindparams(bindparam("questions", expanding=True)),
                      {"campaign_id": campaign.id, "questions": list(questions)})
    return [(str(question), _text(value), _text(label), int(count)) for question, value, label, count in rows]


def respondents(db: Session, campaign: Campaign, questions: Sequence[str]) -> int:
    """Recipients who answered at least one of ``questions``."""
    if not questions:
        return 0
    sql = _answers_sql(db, campaign) + " SELECT COUNT(DISTINCT entry_id) FROM answers"
    return int(db.execute(text(sql).bindparams(bindparam("questions", expanding=True)),
                          {"campaign_id": campaign.id, "questions": list(questions)}).scalar() or 0)


def every_answer(db: Session, campaign: Campaign, questions: Sequence[str]) -> Iterator[Answer]:
    """Every answer to one of ``questions``, by recipient then time, read :data:`BATCH` at a time."""
    if not questions:
        return
    sql = _answers_sql(db, campaign) + """
        SELECT a.entry_id, cc.contact_id, ct.phone, a.question, a.value, a.label, a.typed, a.answered_at, a.channel
        FROM answers a
        LEFT JOIN campaign_contacts cc ON cc.id = a.entry_id
        LEFT JOIN contacts ct ON ct.id = cc.contact_id
        ORDER BY a.entry_id, a.answered_at, a.question"""
    rows = db.execute(text(sql).bindparams(bindparam("questions", expanding=True)),
                      {"campaign_id": campaign.id, "questions": list(questions)},
                      execution_options={"yield_per": BATCH})
    for entry_id, contact_id, phone, question, value, label, typed, answered_at, channel in rows:
        yield Answer(entry_id, contact_id, phone, str(question), _text(value), _text(label), _text(typed),
                     _text(answered_at), _text(channel))
