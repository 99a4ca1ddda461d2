"""submission packages: what an institution submitted to the FA, frozen per round, and whether a case's
institution has submitted yet (the FA sees only its own part of a case before that)

Revision ID: 0013
Revises: 0011
Create Date: 2026-12-08
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "submission_packages",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("case_id", sa.Integer, sa.ForeignKey("cases.id", ondelete="CASCADE"), nullable=False),
        sa.Column("round", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("task_id", sa.String(36), nullable=True),
        sa.Column("element_id", sa.String(255), nullable=True),
        sa.Column("submitted_by_id", sa.Integer, sa.ForeignKey("users.id"), nullable=True),
        sa.Column("submitted_by_name", sa.String(255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("content", sa.Text, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.UniqueConstraint("case_id", "round", name="uq_submission_packages_case_id_round"),
    )
    op.create_index("ix_submission_packages_case_id", "submission_packages", ["case_id"])
    # cases opened before this release keep NULL: their model versions name no submitting task, so the FA
    # keeps seeing them as before
    with op.batch_alter_table("cases") as batch_op:
        batch_op.add_column(sa.Column("fa_submission", sa.String(16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("cases") as batch_op:
        batch_op.drop_column("fa_submission")
    op.drop_index("ix_submission_packages_case_id", table_name="submission_packages")
    op.drop_table("submission_packages")
