"""webhook secrets encrypted at rest

The clear ``webhook_subscriptions.secret`` becomes ``secret_encrypted``: AES-GCM under the data
key (``VOICEPLATFORM_DATA_KEY``, else ``.state/data-key``; see
voiceplatform.safety.secrets_at_rest). The upgrade encrypts every existing secret; the downgrade
decrypts them back (it needs the same data key).

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

from typing import Callable

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

PURPOSE = "webhook_subscriptions.secret"
ENCRYPTED_LENGTH = 1107  # secrets_at_rest.ciphertext_length(200), fixed here as the schema is
CLEAR_LENGTH = 200
_table = sa.table("webhook_subscriptions", sa.column("id", sa.Integer), sa.column("secret", sa.String),
                  sa.column("secret_encrypted", sa.String))


def _rewrite(source: str, target: str, convert: Callable[[str], str]) -> None:
    connection = op.get_bind()
    rows = connection.execute(sa.select(_table.c.id, _table.c[source])).all()
    for row_id, value in rows:
        connection.execute(sa.update(_table).where(_table.c.id == row_id).values({target: convert(value)}))


def upgrade() -> None:
    from voiceplatform.safety.secrets_at_rest import encrypt

    with op.batch_alter_table("webhook_subscriptions") as batch:
        batch.add_column(sa.Column("secret_encrypted", sa.String(length=ENCRYPTED_LENGTH), nullable=True))
    _rewrite("secret", "secret_encrypted", lambda value: encrypt(value, PURPOSE))
    with op.batch_alter_table("webhook_subscriptions") as batch:
        batch.alter_column("secret_encrypted", existing_type=sa.String(length=ENCRYPTED_LENGTH), nullable=False)
        batch.drop_column("secret")


def downgrade() -> None:
    from voiceplatform.safety.secrets_at_rest import decrypt

    with op.batch_alter_table("webhook_subscriptions") as batch:
        batch.add_column(sa.Column("secret", sa.String(length=CLEAR_LENGTH), nullable=True))
    _rewrite("secret_encrypted", "secret", lambda value: decrypt(value, PURPOSE))
    with op.batch_alter_table("webhook_subscriptions") as batch:
        batch.alter_column("secret", existing_type=sa.String(length=CLEAR_LENGTH), nullable=False)
        batch.drop_column("secret_encrypted")
