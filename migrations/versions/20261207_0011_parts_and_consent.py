"""parts of a case belong to organizations: task routes kept after completion, the organization of each
disclosure certification, and researchers' consent to pre-fill per case

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "task_routes",
        sa.Column("task_id", sa.String(36), primary_key=True),
        sa.Column("case_id", sa.Integer, sa.ForeignKey("cases.id", ondelete="CASCADE"), nullable=False),
        sa.Column("organization_id", sa.Integer, sa.ForeignKey("organizations.id"), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("routed_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_task_routes_case_id", "task_routes", ["case_id"])
    # the tasks open now; steps completed before this release have no route and show to full views only
    op.execute("INSERT INTO task_routes (task_id, case_id, organization_id, role, routed_at) "
               "SELECT task_id, case_id, organization_id, role, created_at FROM work_items")

    with op.batch_alter_table("disclosure_certifications") as batch_op:
        batch_op.add_column(sa.Column("organization_id", sa.Integer, nullable=True))
        batch_op.create_foreign_key("fk_disclosure_certifications_organization_id_organizations", "organizations",
                                    ["organization_id"], ["id"])
    # certifications recorded so far: the institution of the case the researcher belongs to (lead first)
    op.execute(
        "UPDATE disclosure_certifications SET organization_id = ("
        " SELECT c.lead_institution_id FROM cases c JOIN memberships m ON m.organization_id = c.lead_institution_id"
        " WHERE c.id = disclosure_certifications.case_id AND m.user_id = disclosure_certifications.user_id"
        " LIMIT 1) WHERE organization_id IS NULL")
    op.execute(
        "UPDATE disclosure_certifications SET organization_id = ("
        " SELECT p.organization_id FROM case_parties p JOIN memberships m ON m.organization_id = p.organization_id"
        " WHERE p.case_id = disclosure_certifications.case_id AND m.user_id = disclosure_certifications.user_id"
        " ORDER BY p.id LIMIT 1) WHERE organization_id IS NULL")

    op.create_table(
        "disclosure_consents",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("case_id", sa.Integer, sa.ForeignKey("cases.id", ondelete="CASCADE"), nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("user_id", "case_id", name="uq_disclosure_consents_user_id_case_id"),
    )
    op.create_index("ix_disclosure_consents_user_id", "disclosure_consents", ["user_id"])
    op.create_index("ix_disclosure_consents_case_id", "disclosure_consents", ["case_id"])


def downgrade() -> None:
    op.drop_table("disclosure_consents")
    with op.batch_alter_table("disclosure_certifications") as batch_op:
        batch_op.drop_constraint("fk_disclosure_certifications_organization_id_organizations", type_="foreignkey")
        batch_op.drop_column("organization_id")
    op.drop_index("ix_task_routes_case_id", table_name="task_routes")
    op.drop_table("task_routes")
