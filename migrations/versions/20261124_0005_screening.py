"""restricted-party lists, snapshots, screening results and disclosure profiles (Screening issue)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('disclosure_profiles',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_disclosure_profiles_updated_by_id_users')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_disclosure_profiles_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_disclosure_profiles')),
    sa.UniqueConstraint('user_id', name=op.f('uq_disclosure_profiles_user_id'))
    )
    op.create_table('screening_snapshots',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=32), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=True),
    sa.Column('label', sa.String(length=255), nullable=False),
    sa.Column('list_date', sa.Date(), nullable=False),
    sa.Column('file_name', sa.String(length=255), nullable=False),
    sa.Column('checksum', sa.String(length=64), nullable=False),
    sa.Column('row_count', sa.Integer(), nullable=False),
    sa.Column('skipped_rows', sa.Integer(), nullable=False),
    sa.Column('imported_by_id', sa.Integer(), nullable=True),
    sa.Column('imported_by_name', sa.String(length=150), nullable=False),
    sa.Column('imported_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['imported_by_id'], ['users.id'], name=op.f('fk_screening_snapshots_imported_by_id_users')),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_screening_snapshots_organization_id_organizations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_screening_snapshots'))
    )
    with op.batch_alter_table('screening_snapshots', schema=None) as batch_op:
        batch_op.create_index('ix_screening_snapshots_source', ['source', 'organization_id'], unique=False)

    op.create_table('screening_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('snapshot_id', sa.Integer(), nullable=False),
    sa.Column('entry_key', sa.String(length=128), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('entity_type', sa.String(length=16), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('aliases', sa.JSON(), nullable=False),
    sa.Column('addresses', sa.JSON(), nullable=False),
    sa.Column('countries', sa.JSON(), nullable=False),
    sa.Column('programs', sa.JSON(), nullable=False),
    sa.Column('remarks', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['snapshot_id'], ['screening_snapshots.id'], name=op.f('fk_screening_entries_snapshot_id_screening_snapshots'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_screening_entries'))
    )
    with op.batch_alter_table('screening_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_screening_entries_snapshot_id'), ['snapshot_id'], unique=False)

    op.create_table('disclosure_certifications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('profile_id', sa.Integer(), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.String(length=64), nullable=False),
    sa.Column('task_id', sa.String(length=36), nullable=False),
    sa.Column('certification_date', sa.Date(), nullable=False),
    sa.Column('profile_version', sa.Integer(), nullable=True),
    sa.Column('filled_by', sa.String(length=16), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_disclosure_certifications_case_id_cases'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['profile_id'], ['disclosure_profiles.id'], name=op.f('fk_disclosure_certifications_profile_id_disclosure_profiles'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_disclosure_certifications_recorded_by_id_users')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_disclosure_certifications_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_disclosure_certifications')),
    sa.UniqueConstraint('case_id', 'task_id', name=op.f('uq_disclosure_certifications_case_id_task_id'))
    )
    with op.batch_alter_table('disclosure_certifications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_disclosure_certifications_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_disclosure_certifications_profile_id'), ['profile_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_disclosure_certifications_user_id'), ['user_id'], unique=False)

    op.create_table('pending_follow_ups',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('message', sa.String(length=64), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_pending_follow_ups_case_id_cases'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pending_follow_ups'))
    )
    with op.batch_alter_table('pending_follow_ups', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pending_follow_ups_case_id'), ['case_id'], unique=False)
        batch_op.create_index('ix_pending_follow_ups_status', ['status', 'case_id'], unique=False)

    op.create_table('screening_subjects',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('subject_id', sa.String(length=64), nullable=False),
    sa.Column('subject_type', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('aliases', sa.JSON(), nullable=False),
    sa.Column('affiliations', sa.JSON(), nullable=False),
    sa.Column('first_screened_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_screened_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_screening_subjects_case_id_cases'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_screening_subjects')),
    sa.UniqueConstraint('case_id', 'subject_id', name=op.f('uq_screening_subjects_case_id_subject_id'))
    )
    with op.batch_alter_table('screening_subjects', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_screening_subjects_case_id'), ['case_id'], unique=False)

    op.create_table('screening_hits',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('subject_ref_id', sa.Integer(), nullable=False),
    sa.Column('snapshot_id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=32), nullable=False),
    sa.Column('entry_key', sa.String(length=128), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('entry_name', sa.Text(), nullable=False),
    sa.Column('score', sa.Float(), nullable=False),
    sa.Column('classification', sa.String(length=16), nullable=False),
    sa.Column('evidence', sa.JSON(), nullable=False),
    sa.Column('suggested_relation', sa.String(length=32), nullable=True),
    sa.Column('suggested_end_year', sa.Integer(), nullable=True),
    sa.Column('found_by', sa.String(length=16), nullable=False),
    sa.Column('found_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decision', sa.String(length=16), nullable=True),
    sa.Column('listed_relation', sa.String(length=32), nullable=True),
    sa.Column('past_affiliation_end_year', sa.Integer(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('reviewer_id', sa.Integer(), nullable=True),
    sa.Column('reviewer_name', sa.String(length=150), nullable=True),
    sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('carried_from_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_screening_hits_case_id_cases'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['entry_id'], ['screening_entries.id'], name=op.f('fk_screening_hits_entry_id_screening_entries')),
    sa.ForeignKeyConstraint(['reviewer_id'], ['users.id'], name=op.f('fk_screening_hits_reviewer_id_users')),
    sa.ForeignKeyConstraint(['snapshot_id'], ['screening_snapshots.id'], name=op.f('fk_screening_hits_snapshot_id_screening_snapshots')),
    sa.ForeignKeyConstraint(['subject_ref_id'], ['screening_subjects.id'], name=op.f('fk_screening_hits_subject_ref_id_screening_subjects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_screening_hits')),
    sa.UniqueConstraint('subject_ref_id', 'entry_id', name=op.f('uq_screening_hits_subject_ref_id_entry_id'))
    )
    with op.batch_alter_table('screening_hits', schema=None) as batch_op:
        batch_op.create_index('ix_screening_hits_case_decision', ['case_id', 'decision'], unique=False)
        batch_op.create_index(batch_op.f('ix_screening_hits_subject_ref_id'), ['subject_ref_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('screening_hits', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_screening_hits_subject_ref_id'))
        batch_op.drop_index('ix_screening_hits_case_decision')

    op.drop_table('screening_hits')
    with op.batch_alter_table('screening_subjects', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_screening_subjects_case_id'))

    op.drop_table('screening_subjects')
    with op.batch_alter_table('pending_follow_ups', schema=None) as batch_op:
        batch_op.drop_index('ix_pending_follow_ups_status')
        batch_op.drop_index(batch_op.f('ix_pending_follow_ups_case_id'))

    op.drop_table('pending_follow_ups')
    with op.batch_alter_table('disclosure_certifications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_disclosure_certifications_user_id'))
        batch_op.drop_index(batch_op.f('ix_disclosure_certifications_profile_id'))
        batch_op.drop_index(batch_op.f('ix_disclosure_certifications_case_id'))

    op.drop_table('disclosure_certifications')
    with op.batch_alter_table('screening_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_screening_entries_snapshot_id'))

    op.drop_table('screening_entries')
    with op.batch_alter_table('screening_snapshots', schema=None) as batch_op:
        batch_op.drop_index('ix_screening_snapshots_source')

    op.drop_table('screening_snapshots')
    op.drop_table('disclosure_profiles')
