"""``ix_campaign_contacts_due`` ends with ``id``: the dialler's and the messaging batch's question
(a campaign's pending contacts due by now, ``ORDER BY next_attempt_at, id LIMIT n``) is read in
the index's order and stops after n rows. Without ``id`` every due contact was read and sorted
for each batch: 4-7 ms a batch of a 20,000-contact campaign, growing with the campaign.

Revision ID: 0020
Revises: 0019

See voiceplatform/dialer/claims.py.
"""

from __future__ import annotations

from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("campaign_contacts", schema=None) as batch_op:
        batch_op.drop_index("ix_campaign_contacts_due")
        batch_op.create_index("ix_campaign_contacts_due", ["campaign_id", "status", "next_attempt_at", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("campaign_contacts", schema=None) as batch_op:
        batch_op.drop_index("ix_campaign_contacts_due")
        batch_op.create_index("ix_campaign_contacts_due", ["campaign_id", "status", "next_attempt_at"], unique=False)
