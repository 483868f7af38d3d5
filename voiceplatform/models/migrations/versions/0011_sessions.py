"""stored sessions, their events, the dev channel's outbox, unsolicited messages, inbound receipts
and opt-out words

Revision ID: 0011
Revises: 0010

``sessions`` (one row per journey on any channel: the pinned flow version, the engine state, the
wait and when it expires, a row version for optimistic locking), ``session_events`` (its history
in order), ``dev_messages`` (the dev channel's outbox), ``unsolicited_messages`` (messages no
session or flow took), ``inbound_receipts`` (provider message ids already applied) and
``opt_out_settings`` (an account's opt-out words). ``calls`` gains ``session_id``. See
voiceplatform/models/sessions.py and docs/sessions.md.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import voiceplatform.models.base

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

UtcDateTime = voiceplatform.models.base.UtcDateTime
Json = voiceplatform.models.base.Json


def upgrade() -> None:
    op.create_table(
        "sessions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("campaign_contact_id", sa.Integer(), nullable=True),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("our_address", sa.String(length=64), nullable=True),
        sa.Column("number_id", sa.Integer(), nullable=True),
        sa.Column("flow_version_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("wait_kind", sa.String(length=20), nullable=True),
        sa.Column("wait_expires_at", UtcDateTime(timezone=True), nullable=True),
        sa.Column("state", Json, nullable=False),
        sa.Column("end_reason", sa.String(length=50), nullable=True),
        sa.Column("row_version", sa.Integer(), nullable=False),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.Column("started_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name=op.f("fk_sessions_account_id_accounts")),
        sa.ForeignKeyConstraint(["contact_id"], ["contacts.id"], name=op.f("fk_sessions_contact_id_contacts"),
                                ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["campaign_contact_id"], ["campaign_contacts.id"],
                                name=op.f("fk_sessions_campaign_contact_id_campaign_contacts"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["number_id"], ["numbers.id"], name=op.f("fk_sessions_number_id_numbers"),
                                ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["flow_version_id"], ["flow_versions.id"],
                                name=op.f("fk_sessions_flow_version_id_flow_versions")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sessions")),
    )
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sessions_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_sessions_contact_id"), ["contact_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_sessions_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_sessions_wait_expires_at"), ["wait_expires_at"], unique=False)
        batch_op.create_index("ix_sessions_route", ["account_id", "channel", "address", "status"], unique=False)

    op.create_table(
        "session_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("type", sa.String(length=40), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("payload", Json, nullable=False),
        sa.ForeignKeyConstraint(["session_id"], ["sessions.id"], name=op.f("fk_session_events_session_id_sessions"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_session_events")),
        sa.UniqueConstraint("session_id", "seq", name=op.f("uq_session_events_session_id")),
    )

    op.create_table(
        "dev_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.String(length=64), nullable=True),
        sa.Column("to_address", sa.String(length=64), nullable=False),
        sa.Column("from_address", sa.String(length=64), nullable=True),
        sa.Column("rendered_as", sa.String(length=20), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("payload", Json, nullable=False),
        sa.Column("created_at", UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name=op.f("fk_dev_messages_account_id_accounts")),
        sa.ForeignKeyConstraint(["session_id"], ["sessions.id"], name=op.f("fk_dev_messages_session_id_sessions"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dev_messages")),
    )
    with op.batch_alter_table("dev_messages", schema=None) as batch_op:
        batch_op.create_index("ix_dev_messages_account_id_id", ["account_id", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_dev_messages_session_id"), ["session_id"], unique=False)

    op.create_table(
        "unsolicited_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("number_id", sa.Integer(), nullable=True),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("our_address", sa.String(length=64), nullable=False),
        sa.Column("input", Json, nullable=False),
        sa.Column("provider_message_id", sa.String(length=200), nullable=True),
        sa.Column("received_at", UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name=op.f("fk_unsolicited_messages_account_id_accounts")),
        sa.ForeignKeyConstraint(["number_id"], ["numbers.id"], name=op.f("fk_unsolicited_messages_number_id_numbers"),
                                ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["contact_id"], ["contacts.id"], name=op.f("fk_unsolicited_messages_contact_id_contacts"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_unsolicited_messages")),
    )
    with op.batch_alter_table("unsolicited_messages", schema=None) as batch_op:
        batch_op.create_index("ix_unsolicited_messages_account_id_id", ["account_id", "id"], unique=False)

    op.create_table(
        "inbound_receipts",
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("message_id", sa.String(length=200), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.String(length=64), nullable=True),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("received_at", UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name=op.f("fk_inbound_receipts_account_id_accounts")),
        sa.ForeignKeyConstraint(["session_id"], ["sessions.id"], name=op.f("fk_inbound_receipts_session_id_sessions"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("channel", "message_id", name=op.f("pk_inbound_receipts")),
    )

    op.create_table(
        "opt_out_settings",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("words", Json, nullable=False),
        sa.Column("confirmation", Json, nullable=False),
        sa.Column("updated_at", UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name=op.f("fk_opt_out_settings_account_id_accounts"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_opt_out_settings")),
    )

    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.add_column(sa.Column("session_id", sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f("ix_calls_session_id"), ["session_id"], unique=False)
        batch_op.create_foreign_key(batch_op.f("fk_calls_session_id_sessions"), "sessions", ["session_id"], ["id"],
                                    ondelete="SET NULL")


def downgrade() -> None:
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_calls_session_id_sessions"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_calls_session_id"))
        batch_op.drop_column("session_id")
    op.drop_table("opt_out_settings")
    op.drop_table("inbound_receipts")
    with op.batch_alter_table("unsolicited_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_unsolicited_messages_account_id_id")
    op.drop_table("unsolicited_messages")
    with op.batch_alter_table("dev_messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dev_messages_session_id"))
        batch_op.drop_index("ix_dev_messages_account_id_id")
    op.drop_table("dev_messages")
    op.drop_table("session_events")
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.drop_index("ix_sessions_route")
        batch_op.drop_index(batch_op.f("ix_sessions_wait_expires_at"))
        batch_op.drop_index(batch_op.f("ix_sessions_status"))
        batch_op.drop_index(batch_op.f("ix_sessions_contact_id"))
        batch_op.drop_index(batch_op.f("ix_sessions_account_id"))
    op.drop_table("sessions")
