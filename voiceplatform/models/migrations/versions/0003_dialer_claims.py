"""dialer: campaign kind, status reason and fan-out time; claims on campaign contacts

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import voiceplatform.models.base

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("campaigns", sa.Column("kind", sa.String(length=20), server_default="campaign", nullable=False))
    op.add_column("campaigns", sa.Column("status_reason", sa.String(length=200), nullable=True))
    op.add_column("campaigns", sa.Column("fanned_out_at", voiceplatform.models.base.UtcDateTime(timezone=True), nullable=True))
    op.add_column("campaign_contacts", sa.Column("claimed_by", sa.String(length=64), nullable=True))
    op.add_column("campaign_contacts", sa.Column("claimed_until", voiceplatform.models.base.UtcDateTime(timezone=True), nullable=True))
    op.create_index("ix_campaigns_status", "campaigns", ["status"])
    op.create_index("ix_calls_campaign_contact_id", "calls", ["campaign_contact_id"])
    op.create_index("ix_webhook_deliveries_due", "webhook_deliveries", ["status", "next_attempt_at"])


def downgrade() -> None:
    op.drop_index("ix_webhook_deliveries_due", table_name="webhook_deliveries")
    op.drop_index("ix_calls_campaign_contact_id", table_name="calls")
    op.drop_index("ix_campaigns_status", table_name="campaigns")
    with op.batch_alter_table("campaign_contacts") as batch:
        batch.drop_column("claimed_until")
        batch.drop_column("claimed_by")
    with op.batch_alter_table("campaigns") as batch:
        batch.drop_column("fanned_out_at")
        batch.drop_column("status_reason")
        batch.drop_column("kind")
