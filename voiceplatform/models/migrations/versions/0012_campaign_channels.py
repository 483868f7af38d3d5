"""campaigns on any channel: ``campaigns.channel``; ``campaign_messages``, one row per messaging attempt

Revision ID: 0012
Revises: 0011

A campaign runs on ``voice`` (the default: every existing campaign), ``sms`` or ``whatsapp``. A
messaging attempt is a ``campaign_messages`` row: the session it started (unique), the messages
and SMS parts it sent, their cost, and its outcome as delivery reports move it. See
voiceplatform/models/campaigns.py and docs/messaging-campaigns.md.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import voiceplatform.models.base

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

UtcDateTime = voiceplatform.models.base.UtcDateTime


def upgrade() -> None:
    op.add_column("campaigns", sa.Column("channel", sa.String(length=20), server_default="voice", nullable=False))
    op.create_table(
        "campaign_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("campaign_contact_id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.String(length=64), nullable=True),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("transport", sa.String(length=20), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("messages", sa.Integer(), nullable=False),
        sa.Column("parts", sa.Integer(), nullable=False),
        sa.Column("cost", sa.Numeric(precision=14, scale=4), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("sent_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("outcome_at", UtcDateTime(timezone=True), nullable=True),
        sa.Column("error", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaigns.id"], name=op.f("fk_campaign_messages_campaign_id_campaigns"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["campaign_contact_id"], ["campaign_contacts.id"],
                                name=op.f("fk_campaign_messages_campaign_contact_id_campaign_contacts"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["session_id"], ["sessions.id"], name=op.f("fk_campaign_messages_session_id_sessions"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_messages")),
        sa.UniqueConstraint("session_id", name=op.f("uq_campaign_messages_session_id")),
    )
    with op.batch_alter_table("campaign_messages", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_campaign_messages_campaign_contact_id"), ["campaign_contact_id"], unique=False)
        batch_op.create_index("ix_campaign_messages_outcomes", ["campaign_id", "outcome"], unique=False)
        batch_op.create_index("ix_campaign_messages_sent", ["campaign_id", "sent_at"], unique=False)


def downgrade() -> None:
    op.drop_table("campaign_messages")
    with op.batch_alter_table("campaigns") as batch:
        batch.drop_column("channel")
