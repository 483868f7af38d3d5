"""sign-in throttling and server-side web sessions

Revision ID: 0009
Revises: 0008

Three tables for the web UI's sign-in: ``signin_failures`` (wrong passwords, counted per e-mail and
per IP address over a window), ``signin_lockouts`` (an e-mail or an address refused until a time,
or until an admin clears it) and ``web_sessions`` (one row per signed-in browser, the cookie's
random id stored as its SHA-256; logout and a password change revoke rows).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import voiceplatform.models.base

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def _when(name: str, nullable: bool = False) -> sa.Column[sa.DateTime]:
    return sa.Column(name, voiceplatform.models.base.UtcDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "signin_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        _when("at"),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("ip", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signin_failures")),
    )
    with op.batch_alter_table("signin_failures", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_signin_failures_at"), ["at"], unique=False)
        batch_op.create_index("ix_signin_failures_email_at", ["email", "at"], unique=False)
        batch_op.create_index("ix_signin_failures_ip_at", ["ip", "at"], unique=False)

    op.create_table(
        "signin_lockouts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(length=10), nullable=False),
        sa.Column("key", sa.String(length=320), nullable=False),
        _when("locked_at"),
        _when("until"),
        _when("cleared_at", nullable=True),
        sa.Column("cleared_by", sa.Integer(), nullable=True),
        sa.Column("last_failure_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["cleared_by"], ["users.id"], name=op.f("fk_signin_lockouts_cleared_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signin_lockouts")),
    )
    with op.batch_alter_table("signin_lockouts", schema=None) as batch_op:
        batch_op.create_index("ix_signin_lockouts_scope_key", ["scope", "key"], unique=False)

    op.create_table(
        "web_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        _when("created_at"),
        _when("last_seen_at"),
        _when("expires_at"),
        _when("revoked_at", nullable=True),
        sa.Column("ip", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_web_sessions_user_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_web_sessions_token_hash")),
    )
    with op.batch_alter_table("web_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_web_sessions_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("web_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_web_sessions_user_id"))
    op.drop_table("web_sessions")
    with op.batch_alter_table("signin_lockouts", schema=None) as batch_op:
        batch_op.drop_index("ix_signin_lockouts_scope_key")
    op.drop_table("signin_lockouts")
    with op.batch_alter_table("signin_failures", schema=None) as batch_op:
        batch_op.drop_index("ix_signin_failures_ip_at")
        batch_op.drop_index("ix_signin_failures_email_at")
        batch_op.drop_index(batch_op.f("ix_signin_failures_at"))
    op.drop_table("signin_failures")
