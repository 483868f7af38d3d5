"""engagement: ``engagement_events``, one row per thing a contact did with what was sent (a click)

Revision ID: 0016
Revises: 0015

A click-tracked link followed is a ``click`` row: the contact, the channel the link was sent on,
the campaign and campaign contact (when the session was a campaign's), the session, the link's
name, the time, the user agent and the client's network (never its whole address). The short
links themselves are not stored: a link is its session's id (voiceplatform.flow.short_links).
See voiceplatform/models/engagement.py and docs/engagement.md.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import voiceplatform.models.base

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

UtcDateTime = voiceplatform.models.base.UtcDateTime


def upgrade() -> None:
    op.create_table(
        "engagement_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("campaign_id", sa.Integer(), nullable=True),
        sa.Column("campaign_contact_id", sa.Integer(), nullable=True),
        sa.Column("session_id", sa.String(length=64), nullable=True),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("link", sa.String(length=24), nullable=False),
        sa.Column("at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("user_agent", sa.String(length=300), nullable=True),
        sa.Column("network", sa.String(length=50), nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name=op.f("fk_engagement_events_account_id_accounts")),
        sa.ForeignKeyConstraint(["contact_id"], ["contacts.id"], name=op.f("fk_engagement_events_contact_id_contacts"),
                                ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaigns.id"], name=op.f("fk_engagement_events_campaign_id_campaigns"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["campaign_contact_id"], ["campaign_contacts.id"],
                                name=op.f("fk_engagement_events_campaign_contact_id_campaign_contacts"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["session_id"], ["sessions.id"], name=op.f("fk_engagement_events_session_id_sessions"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_engagement_events")),
    )
    with op.batch_alter_table("engagement_events", schema=None) as batch_op:
        batch_op.create_index("ix_engagement_events_campaign", ["campaign_id", "kind", "campaign_contact_id", "at"],
                              unique=False)
        batch_op.create_index("ix_engagement_events_contact", ["contact_id", "kind", "at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("engagement_events", schema=None) as batch_op:
        batch_op.drop_index("ix_engagement_events_contact")
        batch_op.drop_index("ix_engagement_events_campaign")
    op.drop_table("engagement_events")
