"""covering indexes for campaign stats: contacts by state and outcome, calls by outcome and time

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_campaign_contacts_outcomes", "campaign_contacts", ["campaign_id", "status", "last_outcome"])
    op.create_index("ix_calls_campaign_outcome", "calls", ["campaign_id", "outcome", "dialling_at"])


def downgrade() -> None:
    op.drop_index("ix_calls_campaign_outcome", table_name="calls")
    op.drop_index("ix_campaign_contacts_outcomes", table_name="campaign_contacts")
