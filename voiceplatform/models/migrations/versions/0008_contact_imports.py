"""contact imports: all-or-nothing, keyed for retries

A table of applied imports (``contact_imports``, one row per import, unique per account and
fingerprint) and a unique list name per account. Lists that already share a name (a killed and
retried import made them before this revision) keep the oldest under the name; each later one
is renamed "<name> #<id>" so the unique index can be built and no list is lost.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

import voiceplatform.models.base

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "UPDATE contact_lists SET name = substr(name, 1, 180) || ' #' || CAST(id AS VARCHAR(20)) "
        "WHERE id NOT IN (SELECT min(id) FROM contact_lists GROUP BY account_id, name)"
    )
    op.create_index("uq_contact_lists_account_id_name", "contact_lists", ["account_id", "name"], unique=True)
    op.create_table(
        "contact_imports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("file_sha256", sa.String(length=64), nullable=False),
        sa.Column("list_id", sa.Integer(), nullable=True),
        sa.Column("report", sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"), nullable=False),
        sa.Column("created_at", voiceplatform.models.base.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name=op.f("fk_contact_imports_account_id_accounts")),
        sa.ForeignKeyConstraint(["list_id"], ["contact_lists.id"], name=op.f("fk_contact_imports_list_id_contact_lists"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_imports")),
        sa.UniqueConstraint("account_id", "fingerprint", name=op.f("uq_contact_imports_account_id")),
    )


def downgrade() -> None:
    op.drop_table("contact_imports")
    op.drop_index("uq_contact_lists_account_id_name", table_name="contact_lists")
