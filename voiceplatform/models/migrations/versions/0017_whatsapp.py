"""the WhatsApp bridge's store: ``whatsapp_messages`` (the outbox), ``whatsapp_wamids``,
``whatsapp_windows``, ``whatsapp_templates``, ``whatsapp_webhook_events`` (the inbox),
``whatsapp_status_receipts`` and ``whatsapp_held_statuses``

Revision ID: 0017
Revises: 0016

One ``whatsapp_messages`` row per engine Send queued for the Cloud API (in the step's
transaction; the window decision is taken when it is sent), the wamids of what it went as, the
24-hour windows per business number and contact, each account's templates, every signed
webhook POST's exact bytes, the (wamid, status) pairs applied and the statuses that came before
their wamid was stored. See voiceplatform/models/whatsapp.py and docs/whatsapp-bridge.md.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import voiceplatform.models.base

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

UtcDateTime = voiceplatform.models.base.UtcDateTime
Json = voiceplatform.models.base.Json


def upgrade() -> None:
    op.create_table('whatsapp_held_statuses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('wamid', sa.String(length=128), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('payload', Json, nullable=False),
    sa.Column('received_at', UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_whatsapp_held_statuses'))
    )
    with op.batch_alter_table('whatsapp_held_statuses', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_whatsapp_held_statuses_received_at'), ['received_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_whatsapp_held_statuses_wamid'), ['wamid'], unique=False)

    op.create_table('whatsapp_status_receipts',
    sa.Column('wamid', sa.String(length=128), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('received_at', UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('wamid', 'status', name=op.f('pk_whatsapp_status_receipts'))
    )
    op.create_table('whatsapp_webhook_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('body', sa.LargeBinary(), nullable=False),
    sa.Column('received_at', UtcDateTime(timezone=True), nullable=False),
    sa.Column('processed_at', UtcDateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', UtcDateTime(timezone=True), nullable=True),
    sa.Column('claimed_by', sa.String(length=64), nullable=True),
    sa.Column('claimed_until', UtcDateTime(timezone=True), nullable=True),
    sa.Column('error', sa.String(length=500), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_whatsapp_webhook_events'))
    )
    with op.batch_alter_table('whatsapp_webhook_events', schema=None) as batch_op:
        batch_op.create_index('ix_whatsapp_webhook_events_pending', ['id'], unique=False, sqlite_where=sa.text('processed_at IS NULL'), postgresql_where=sa.text('processed_at IS NULL'))
        batch_op.create_index(batch_op.f('ix_whatsapp_webhook_events_received_at'), ['received_at'], unique=False)

    op.create_table('whatsapp_windows',
    sa.Column('phone_number_id', sa.String(length=64), nullable=False),
    sa.Column('contact', sa.String(length=128), nullable=False),
    sa.Column('user_id', sa.String(length=128), nullable=True),
    sa.Column('phone', sa.String(length=20), nullable=True),
    sa.Column('last_inbound_at', UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('phone_number_id', 'contact', name=op.f('pk_whatsapp_windows'))
    )
    op.create_table('whatsapp_templates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=512), nullable=False),
    sa.Column('language', sa.String(length=20), nullable=False),
    sa.Column('category', sa.String(length=40), nullable=False),
    sa.Column('status', sa.String(length=40), nullable=False),
    sa.Column('body_params', sa.Integer(), nullable=False),
    sa.Column('quick_replies', Json, nullable=False),
    sa.Column('synced_at', UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_whatsapp_templates_account_id_accounts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_whatsapp_templates')),
    sa.UniqueConstraint('account_id', 'name', 'language', name=op.f('uq_whatsapp_templates_account_id'))
    )
    op.create_table('whatsapp_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.String(length=64), nullable=True),
    sa.Column('phone_number_id', sa.String(length=64), nullable=False),
    sa.Column('our_number', sa.String(length=64), nullable=False),
    sa.Column('recipient', sa.String(length=128), nullable=False),
    sa.Column('send', Json, nullable=False),
    sa.Column('message_type', sa.String(length=20), nullable=True),
    sa.Column('template_only', sa.Boolean(), nullable=False),
    sa.Column('parts', sa.Integer(), nullable=False),
    sa.Column('parts_sent', sa.Integer(), nullable=False),
    sa.Column('payloads', Json, nullable=True),
    sa.Column('wamid', sa.String(length=128), nullable=True),
    sa.Column('send_state', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=True),
    sa.Column('error', sa.String(length=200), nullable=True),
    sa.Column('error_code', sa.Integer(), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('unconfirmed', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', UtcDateTime(timezone=True), nullable=True),
    sa.Column('claimed_by', sa.String(length=64), nullable=True),
    sa.Column('claimed_until', UtcDateTime(timezone=True), nullable=True),
    sa.Column('pricing_category', sa.String(length=40), nullable=True),
    sa.Column('pricing_type', sa.String(length=40), nullable=True),
    sa.Column('billable', sa.Boolean(), nullable=True),
    sa.Column('cost', sa.Numeric(precision=14, scale=4), nullable=True),
    sa.Column('created_at', UtcDateTime(timezone=True), nullable=False),
    sa.Column('sent_at', UtcDateTime(timezone=True), nullable=True),
    sa.Column('status_at', UtcDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_whatsapp_messages_account_id_accounts')),
    sa.ForeignKeyConstraint(['session_id'], ['sessions.id'], name=op.f('fk_whatsapp_messages_session_id_sessions'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_whatsapp_messages')),
    sa.UniqueConstraint('wamid', name=op.f('uq_whatsapp_messages_wamid'))
    )
    with op.batch_alter_table('whatsapp_messages', schema=None) as batch_op:
        batch_op.create_index('ix_whatsapp_messages_account_id_id', ['account_id', 'id'], unique=False)
        batch_op.create_index('ix_whatsapp_messages_claims', ['claimed_until'], unique=False, sqlite_where=sa.text("send_state = 'sending'"), postgresql_where=sa.text("send_state = 'sending'"))
        batch_op.create_index('ix_whatsapp_messages_queued', ['id'], unique=False, sqlite_where=sa.text("send_state = 'queued'"), postgresql_where=sa.text("send_state = 'queued'"))
        batch_op.create_index(batch_op.f('ix_whatsapp_messages_session_id'), ['session_id'], unique=False)
        batch_op.create_index('ix_whatsapp_messages_unsent', ['phone_number_id', 'recipient', 'id'], unique=False, sqlite_where=sa.text("send_state IN ('queued', 'sending')"), postgresql_where=sa.text("send_state IN ('queued', 'sending')"))

    op.create_table('whatsapp_wamids',
    sa.Column('wamid', sa.String(length=128), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['message_id'], ['whatsapp_messages.id'], name=op.f('fk_whatsapp_wamids_message_id_whatsapp_messages'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('wamid', name=op.f('pk_whatsapp_wamids'))
    )
    with op.batch_alter_table('whatsapp_wamids', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_whatsapp_wamids_message_id'), ['message_id'], unique=False)


def downgrade() -> None:
    for table in ("whatsapp_wamids", "whatsapp_messages", "whatsapp_templates", "whatsapp_windows",
                  "whatsapp_webhook_events", "whatsapp_status_receipts", "whatsapp_held_statuses"):
        op.drop_table(table)
