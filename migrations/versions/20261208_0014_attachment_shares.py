"""evidence shared with an organization through a task's declared context (the documents the FA shares with a
consulted ministry)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-08
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "attachment_shares",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("attachment_id", sa.Integer, sa.ForeignKey("attachments.id", ondelete="CASCADE"), nullable=False),
        sa.Column("organization_id", sa.Integer, sa.ForeignKey("organizations.id"), nullable=False),
        sa.Column("case_id", sa.Integer, sa.ForeignKey("cases.id", ondelete="CASCADE"), nullable=False),
        sa.Column("task_id", sa.String(36), nullable=False),
        sa.Column("shared_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("attachment_id", "organization_id",
                            name="uq_attachment_shares_attachment_id_organization_id"),
    )
    op.create_index("ix_attachment_shares_attachment_id", "attachment_shares", ["attachment_id"])
    op.create_index("ix_attachment_shares_case_id", "attachment_shares", ["case_id"])


def downgrade() -> None:
    op.drop_table("attachment_shares")
