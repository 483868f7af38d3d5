"""the WhatsApp outbox: ``whatsapp_messages.send_started_at``, when the sender's claim of a
message began writing its request (NULL while it only holds the claim): a claim that ran out
with it NULL was never sent and is queued again; with it set the message may have gone
(``unknown`` until Meta's statuses tell, matched by ``biz_opaque_callback_data``)

Revision ID: 0019
Revises: 0018

See voiceplatform/models/whatsapp.py and docs/whatsapp-bridge.md ("Faults").
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import voiceplatform.models.base

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("whatsapp_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("send_started_at", voiceplatform.models.base.UtcDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("whatsapp_messages", schema=None) as batch_op:
        batch_op.drop_column("send_started_at")
