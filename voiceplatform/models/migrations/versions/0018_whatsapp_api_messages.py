"""the messages API on WhatsApp: ``api_messages.channel`` (sms, whatsapp), ``template`` (a
WhatsApp message's template: name, language, params, category) and ``held`` (what is still held
of its cost until its final status: WhatsApp is charged per delivered message)

Revision ID: 0018
Revises: 0017

See voiceplatform/models/messages.py and docs/messages-api.md ("WhatsApp").
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import voiceplatform.models.base

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

Json = voiceplatform.models.base.Json


def upgrade() -> None:
    with op.batch_alter_table("api_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("channel", sa.String(length=20), nullable=False, server_default="sms"))
        batch_op.add_column(sa.Column("template", Json, nullable=True))
        batch_op.add_column(sa.Column("held", sa.Numeric(precision=14, scale=4), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("api_messages", schema=None) as batch_op:
        batch_op.drop_column("held")
        batch_op.drop_column("template")
        batch_op.drop_column("channel")
