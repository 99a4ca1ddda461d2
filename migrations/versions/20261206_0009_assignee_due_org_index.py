"""work items by assignee and due date carry the organization, so the overdue tab's "mine elsewhere" part is
read from the index alone

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("work_items", schema=None) as batch_op:
        batch_op.drop_index("ix_work_items_assignee_due")
        batch_op.create_index("ix_work_items_assignee_due", ["assignee_id", "due_at", "organization_id"],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table("work_items", schema=None) as batch_op:
        batch_op.drop_index("ix_work_items_assignee_due")
        batch_op.create_index("ix_work_items_assignee_due", ["assignee_id", "due_at"], unique=False)
