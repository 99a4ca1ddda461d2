"""FA–institution consultation threads and their messages (service/consultations)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-10
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "consultation_threads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("subject", sa.String(length=16), nullable=False),
        sa.Column("measure", sa.String(length=16), nullable=True),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("side", sa.String(length=16), nullable=False),
        sa.Column("opened_by_id", sa.Integer(), nullable=True),
        sa.Column("opened_by_name", sa.String(length=255), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("closed_by_name", sa.String(length=255), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_consultation_threads_case_id_cases"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["opened_by_id"], ["users.id"],
                                name=op.f("fk_consultation_threads_opened_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consultation_threads")),
    )
    op.create_index(op.f("ix_consultation_threads_case_id"), "consultation_threads", ["case_id"])
    op.create_table(
        "consultation_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("thread_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("side", sa.String(length=16), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("author_name", sa.String(length=255), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("attachments", sa.JSON(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["thread_id"], ["consultation_threads.id"],
                                name=op.f("fk_consultation_messages_thread_id_consultation_threads"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["author_id"], ["users.id"], name=op.f("fk_consultation_messages_author_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consultation_messages")),
    )
    op.create_index("ix_consultation_messages_thread", "consultation_messages", ["thread_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_consultation_messages_thread", table_name="consultation_messages")
    op.drop_table("consultation_messages")
    op.drop_index(op.f("ix_consultation_threads_case_id"), table_name="consultation_threads")
    op.drop_table("consultation_threads")
