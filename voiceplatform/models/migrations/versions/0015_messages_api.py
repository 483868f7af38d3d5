"""the messages API: ``api_messages``, ``sender_ids``, ``rate_limit_hits``

Revision ID: 0015
Revises: 0014

One ``api_messages`` row per SMS sent through ``POST /messages`` or the personalised SMS API
(its session, sender, recipient and country, text, encoding, parts, cost and forward-only
status); each account's registered sender IDs with the countries they are registered in; and the
requests counted against a rate limit (the personalised API's 30 a minute). See
voiceplatform/models/messages.py, voiceplatform/models/rate_limits.py and docs/messages-api.md.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import voiceplatform.models.base

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

UtcDateTime = voiceplatform.models.base.UtcDateTime
Json = voiceplatform.models.base.Json


def upgrade() -> None:
    op.create_table(
        "api_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.String(length=64), nullable=True),
        sa.Column("interface", sa.String(length=20), nullable=False),
        sa.Column("batch", sa.String(length=32), nullable=True),
        sa.Column("row", sa.Integer(), nullable=True),
        sa.Column("sender", sa.String(length=64), nullable=False),
        sa.Column("recipient", sa.String(length=64), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column("transport", sa.String(length=20), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("encoding", sa.String(length=10), nullable=False),
        sa.Column("parts", sa.Integer(), nullable=False),
        sa.Column("cost", sa.Numeric(precision=14, scale=4), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("status_at", UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name=op.f("fk_api_messages_account_id_accounts")),
        sa.ForeignKeyConstraint(["session_id"], ["sessions.id"], name=op.f("fk_api_messages_session_id_sessions"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_messages")),
        sa.UniqueConstraint("session_id", name=op.f("uq_api_messages_session_id")),
    )
    with op.batch_alter_table("api_messages", schema=None) as batch_op:
        batch_op.create_index("ix_api_messages_account_created", ["account_id", "created_at"], unique=False)
        batch_op.create_index("ix_api_messages_batch", ["batch"], unique=False)

    op.create_table(
        "sender_ids",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("sender", sa.String(length=15), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("countries", Json, nullable=False),
        sa.Column("updated_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("created_at", UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name=op.f("fk_sender_ids_account_id_accounts"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sender_ids")),
        sa.UniqueConstraint("account_id", "sender", name=op.f("uq_sender_ids_account_id")),
    )
    with op.batch_alter_table("sender_ids", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sender_ids_account_id"), ["account_id"], unique=False)

    op.create_table(
        "rate_limit_hits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(length=40), nullable=False),
        sa.Column("at", UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name=op.f("fk_rate_limit_hits_account_id_accounts"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rate_limit_hits")),
    )
    with op.batch_alter_table("rate_limit_hits", schema=None) as batch_op:
        batch_op.create_index("ix_rate_limit_hits_window", ["account_id", "scope", "at"], unique=False)


def downgrade() -> None:
    op.drop_table("rate_limit_hits")
    op.drop_table("sender_ids")
    op.drop_table("api_messages")
