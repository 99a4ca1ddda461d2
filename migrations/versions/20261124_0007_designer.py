"""bulk migration jobs for moving running cases to a new model version (Designer issue)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "migration_jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("target_version_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("case_ids", sa.JSON(), nullable=False),
        sa.Column("predicted", sa.JSON(), nullable=False),
        sa.Column("results", sa.JSON(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("requested_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["requested_by_id"], ["users.id"], name=op.f("fk_migration_jobs_requested_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["target_version_id"], ["model_versions.id"],
            name=op.f("fk_migration_jobs_target_version_id_model_versions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_migration_jobs")),
    )
    op.create_index(op.f("ix_migration_jobs_status"), "migration_jobs", ["status"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_migration_jobs_status"), table_name="migration_jobs")
    op.drop_table("migration_jobs")
