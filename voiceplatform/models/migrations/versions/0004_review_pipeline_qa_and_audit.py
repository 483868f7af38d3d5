"""review pipeline, QA and audit

Revision ID: 0004
Revises: 0003
Created: 2026-11-22 04:46:19.907410
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import voiceplatform.models.base
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('qa_rubric_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=50), nullable=False),
    sa.Column('label', sa.String(length=200), nullable=False),
    sa.Column('max_score', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_qa_rubric_items_account_id_accounts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_qa_rubric_items'))
    )
    with op.batch_alter_table('qa_rubric_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_qa_rubric_items_account_id'), ['account_id'], unique=False)

    op.create_table('audit_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', voiceplatform.models.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('recording_id', sa.Integer(), nullable=True),
    sa.Column('details', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('ip', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_audit_events_account_id_accounts')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_audit_events_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_events'))
    )
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.create_index('ix_audit_events_account_time', ['account_id', 'at'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_events_recording_id'), ['recording_id'], unique=False)

    op.create_table('qa_reviews',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('recording_id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('reviewer_id', sa.Integer(), nullable=True),
    sa.Column('scores', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('tags', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('updated_at', voiceplatform.models.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('created_at', voiceplatform.models.base.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_qa_reviews_account_id_accounts')),
    sa.ForeignKeyConstraint(['recording_id'], ['recordings.id'], name=op.f('fk_qa_reviews_recording_id_recordings'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['reviewer_id'], ['users.id'], name=op.f('fk_qa_reviews_reviewer_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_qa_reviews')),
    sa.UniqueConstraint('recording_id', name=op.f('uq_qa_reviews_recording_id'))
    )
    with op.batch_alter_table('qa_reviews', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_qa_reviews_account_id'), ['account_id'], unique=False)

    with op.batch_alter_table('recordings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('transcript_segments', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=True))
        batch_op.add_column(sa.Column('peaks', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=True))
        batch_op.add_column(sa.Column('transcription_status', sa.String(length=20), server_default='pending', nullable=False))
        batch_op.add_column(sa.Column('transcription_engine', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('transcription_attempts', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('transcription_error', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('transcribed_at', voiceplatform.models.base.UtcDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('qa_status', sa.String(length=20), server_default='unreviewed', nullable=False))
        batch_op.create_index(batch_op.f('ix_recordings_qa_status'), ['qa_status'], unique=False)
        batch_op.create_index(batch_op.f('ix_recordings_transcription_status'), ['transcription_status'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('recordings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_recordings_transcription_status'))
        batch_op.drop_index(batch_op.f('ix_recordings_qa_status'))
        batch_op.drop_column('qa_status')
        batch_op.drop_column('transcribed_at')
        batch_op.drop_column('transcription_error')
        batch_op.drop_column('transcription_attempts')
        batch_op.drop_column('transcription_engine')
        batch_op.drop_column('transcription_status')
        batch_op.drop_column('peaks')
        batch_op.drop_column('transcript_segments')

    with op.batch_alter_table('qa_reviews', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_qa_reviews_account_id'))

    op.drop_table('qa_reviews')
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_events_recording_id'))
        batch_op.drop_index('ix_audit_events_account_time')

    op.drop_table('audit_events')
    with op.batch_alter_table('qa_rubric_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_qa_rubric_items_account_id'))

    op.drop_table('qa_rubric_items')
