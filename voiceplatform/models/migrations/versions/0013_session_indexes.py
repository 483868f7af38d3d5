"""sessions: the indexes the batched runtime reads, and no others

Revision ID: 0013
Revises: 0012

Every UPDATE of a session that changes its wait (each resume) writes an entry in every index of
the row, so ``sessions`` keeps only the indexes a query reads:

* ``ix_sessions_due`` (``wait_expires_at``, ``id``) over the rows that have a wait (ended
  sessions have none), in the sweeper's order, so a batch of the soonest expired waits is an
  index walk that stops at the batch size (``ix_sessions_wait_expires_at`` made it sort every
  due row of equal expiry, each batch);
* ``ix_sessions_status`` is dropped: no query filters on the status alone (the router reads
  ``ix_sessions_route``, which ends with the status; the sweeper ``ix_sessions_due``);
* ``ix_sessions_account_id`` is dropped: ``ix_sessions_route`` begins with ``account_id``.

See docs/sessions.md ("Performance").
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

HAS_WAIT = sa.text("wait_expires_at IS NOT NULL")


def upgrade() -> None:
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.drop_index("ix_sessions_wait_expires_at")
        batch_op.drop_index("ix_sessions_status")
        batch_op.drop_index("ix_sessions_account_id")
        batch_op.create_index("ix_sessions_due", ["wait_expires_at", "id"], unique=False,
                              sqlite_where=HAS_WAIT, postgresql_where=HAS_WAIT)


def downgrade() -> None:
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.drop_index("ix_sessions_due")
        batch_op.create_index("ix_sessions_account_id", ["account_id"], unique=False)
        batch_op.create_index("ix_sessions_status", ["status"], unique=False)
        batch_op.create_index("ix_sessions_wait_expires_at", ["wait_expires_at"], unique=False)
