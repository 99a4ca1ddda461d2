"""follow-up, held roster/partner changes and designation details

Held changes use the existing `pending_follow_ups` table (service/followups). Designation details (issue 18,
point 6): which projects a programme designates and who designated it (an FA or a ministry); a call's warning
days, review days, required forms and standard project end date.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-10
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("programs") as batch_op:
        # [{"project_code", "title"}] when only some projects are designated
        batch_op.add_column(sa.Column("designated_projects", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("designated_by_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key("fk_programs_designated_by_id_organizations", "organizations",
                                    ["designated_by_id"], ["id"])
    with op.batch_alter_table("calls") as batch_op:
        batch_op.add_column(sa.Column("deadline_warning_days", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("review_days", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("required_forms", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("standard_end_date", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("calls") as batch_op:
        batch_op.drop_column("standard_end_date")
        batch_op.drop_column("required_forms")
        batch_op.drop_column("review_days")
        batch_op.drop_column("deadline_warning_days")
    with op.batch_alter_table("programs") as batch_op:
        batch_op.drop_constraint("fk_programs_designated_by_id_organizations", type_="foreignkey")
        batch_op.drop_column("designated_by_id")
        batch_op.drop_column("designated_projects")
