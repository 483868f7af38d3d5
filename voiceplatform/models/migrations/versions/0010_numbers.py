"""numbers owned by accounts, their channels, and inbound calls

Revision ID: 0010
Revises: 0009

``numbers`` (one row per number the platform answers, unique across the installation, owned by
one account, with its inbound flow) and ``number_channels`` (the channels each number takes,
each optionally with its own flow). ``calls`` gains ``direction`` ("outbound" for every existing
row), ``caller`` (an inbound call's caller) and ``number_id`` (the number an inbound call came
in on). See voiceplatform/models/numbers.py and docs/inbound-calls.md.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import voiceplatform.models.base

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "numbers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("flow_name", sa.String(length=100), nullable=True),
        sa.Column("flow_version", sa.Integer(), nullable=True),
        sa.Column("updated_at", voiceplatform.models.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("created_at", voiceplatform.models.base.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name=op.f("fk_numbers_account_id_accounts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_numbers")),
        sa.UniqueConstraint("number", name=op.f("uq_numbers_number")),
    )
    with op.batch_alter_table("numbers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_numbers_account_id"), ["account_id"], unique=False)

    op.create_table(
        "number_channels",
        sa.Column("number_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("flow_name", sa.String(length=100), nullable=True),
        sa.Column("flow_version", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["number_id"], ["numbers.id"], name=op.f("fk_number_channels_number_id_numbers"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("number_id", "channel", name=op.f("pk_number_channels")),
    )
    with op.batch_alter_table("number_channels", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_number_channels_channel"), ["channel"], unique=False)

    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.add_column(sa.Column("direction", sa.String(length=10), server_default="outbound", nullable=False))
        batch_op.add_column(sa.Column("caller", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("number_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_calls_number_id"), ["number_id"], unique=False)
        batch_op.create_foreign_key(batch_op.f("fk_calls_number_id_numbers"), "numbers", ["number_id"], ["id"],
                                    ondelete="SET NULL")


def downgrade() -> None:
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_calls_number_id_numbers"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_calls_number_id"))
        batch_op.drop_column("number_id")
        batch_op.drop_column("caller")
        batch_op.drop_column("direction")
    with op.batch_alter_table("number_channels", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_number_channels_channel"))
    op.drop_table("number_channels")
    with op.batch_alter_table("numbers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_numbers_account_id"))
    op.drop_table("numbers")
