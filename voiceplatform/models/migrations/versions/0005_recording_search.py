"""recording search: list, sort and retention indexes, number index, transcript full-text index (PostgreSQL)

Revision ID: 0005
Revises: 0004

The transcript index is a GIN expression index on ``to_tsvector('simple', transcript)``, created
on PostgreSQL only: SQLite has no ``to_tsvector`` and the recordings search uses LIKE there. The
expression must stay the same as ``TRANSCRIPT_TSVECTOR`` in ``voiceplatform/models/calls.py``
(the query in ``voiceplatform/review/search.py`` repeats it so that the planner uses the index).
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TRANSCRIPT_TSVECTOR = "to_tsvector('simple', transcript)"


def upgrade() -> None:
    op.create_index("ix_recordings_account_created", "recordings", ["account_id", "created_at"])
    op.create_index("ix_recordings_created_at", "recordings", ["created_at"])
    op.create_index("ix_recordings_duration", "recordings", ["duration"])
    op.create_index("ix_calls_to", "calls", ["to"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"CREATE INDEX ix_recordings_transcript_fts ON recordings USING gin ({TRANSCRIPT_TSVECTOR})")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX ix_recordings_transcript_fts")
    op.drop_index("ix_calls_to", table_name="calls")
    op.drop_index("ix_recordings_duration", table_name="recordings")
    op.drop_index("ix_recordings_created_at", table_name="recordings")
    op.drop_index("ix_recordings_account_created", table_name="recordings")
