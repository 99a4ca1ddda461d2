"""the dashboards' read model: per case its submission, decision and review rounds (case_milestones) and the
measures the FA requested and the institution planned (case_measures), filled here from the stored events

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-09
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "case_milestones",
        sa.Column("case_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("review_rounds", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_case_milestones_case_id_cases"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("case_id", name=op.f("pk_case_milestones")),
    )
    op.create_table(
        "case_measures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("code", sa.Text(), nullable=True),
        sa.Column("target", sa.Text(), nullable=True),
        sa.Column("owner", sa.Text(), nullable=True),
        sa.Column("due_date", sa.Text(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_case_measures_case_id_cases"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_measures")),
    )
    op.create_index("ix_case_measures_case_kind", "case_measures", ["case_id", "kind"])
    # the cases so far: their figures derived from their events by the service's own code (as each step
    # writes them), so the dashboards count the same before and after
    from sqlalchemy.orm import Session

    from service.dashboards import read_model

    session = Session(bind=op.get_bind())
    read_model.rebuild(session)
    session.flush()


def downgrade() -> None:
    op.drop_index("ix_case_measures_case_kind", table_name="case_measures")
    op.drop_table("case_measures")
    op.drop_table("case_milestones")
