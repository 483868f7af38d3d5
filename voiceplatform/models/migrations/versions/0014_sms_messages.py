"""the SMS bridge's store: ``sms_messages``, ``sms_parts``, ``sms_held_receipts``

Revision ID: 0014
Revises: 0013

One ``sms_messages`` row per message sent over SMPP (queued by the ``sms`` channel driver in the
step's transaction; its send state, forward-only delivery status, cost, parts), one
``sms_parts`` row per ``submit_sm`` with the SMSC's message id, and the receipts that came before
their ``submit_sm_resp`` was stored. See voiceplatform/models/sms.py and docs/sms-bridge.md.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import voiceplatform.models.base

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

UtcDateTime = voiceplatform.models.base.UtcDateTime
Json = voiceplatform.models.base.Json
QUEUED = sa.text("send_state = 'queued'")
SUBMITTING = sa.text("send_state = 'submitting'")


def upgrade() -> None:
    op.create_table(
        "sms_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.String(length=64), nullable=True),
        sa.Column("sender", sa.String(length=64), nullable=False),
        sa.Column("source_ton", sa.Integer(), nullable=False),
        sa.Column("source_npi", sa.Integer(), nullable=False),
        sa.Column("destination", sa.String(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("encoding", sa.String(length=10), nullable=False),
        sa.Column("parts", sa.Integer(), nullable=False),
        sa.Column("cost", sa.Numeric(precision=14, scale=4), nullable=False),
        sa.Column("send_state", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=True),
        sa.Column("error", sa.String(length=200), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("unconfirmed", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UtcDateTime(timezone=True), nullable=True),
        sa.Column("claimed_by", sa.String(length=64), nullable=True),
        sa.Column("claimed_until", UtcDateTime(timezone=True), nullable=True),
        sa.Column("created_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("submitted_at", UtcDateTime(timezone=True), nullable=True),
        sa.Column("status_at", UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name=op.f("fk_sms_messages_account_id_accounts")),
        sa.ForeignKeyConstraint(["session_id"], ["sessions.id"], name=op.f("fk_sms_messages_session_id_sessions"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sms_messages")),
    )
    with op.batch_alter_table("sms_messages", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sms_messages_session_id"), ["session_id"], unique=False)
        batch_op.create_index("ix_sms_messages_account_id_id", ["account_id", "id"], unique=False)
        batch_op.create_index("ix_sms_messages_queued", ["id"], unique=False, sqlite_where=QUEUED,
                              postgresql_where=QUEUED)
        batch_op.create_index("ix_sms_messages_claims", ["claimed_until"], unique=False, sqlite_where=SUBMITTING,
                              postgresql_where=SUBMITTING)
    op.create_table(
        "sms_parts",
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("submit_id", sa.String(length=65), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=True),
        sa.Column("error", sa.String(length=200), nullable=True),
        sa.Column("submitted_at", UtcDateTime(timezone=True), nullable=True),
        sa.Column("status_at", UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["message_id"], ["sms_messages.id"], name=op.f("fk_sms_parts_message_id_sms_messages"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("message_id", "seq", name=op.f("pk_sms_parts")),
    )
    with op.batch_alter_table("sms_parts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sms_parts_submit_id"), ["submit_id"], unique=False)
    op.create_table(
        "sms_held_receipts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("submit_id", sa.String(length=65), nullable=False),
        sa.Column("text_id", sa.String(length=65), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("state", sa.String(length=40), nullable=False),
        sa.Column("error", sa.String(length=20), nullable=True),
        sa.Column("payload", Json, nullable=False),
        sa.Column("received_at", UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sms_held_receipts")),
    )
    with op.batch_alter_table("sms_held_receipts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sms_held_receipts_submit_id"), ["submit_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_sms_held_receipts_received_at"), ["received_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_sms_held_receipts_text_id"), ["text_id"], unique=False)


def downgrade() -> None:
    op.drop_table("sms_held_receipts")
    op.drop_table("sms_parts")
    op.drop_table("sms_messages")
