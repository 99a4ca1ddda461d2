"""audit anchors and auditor read log (Audit issue)

Anchors are digests over every event stream's head, chained to each other; like events, PostgreSQL refuses
to change or remove them. Auditors' reads are ordinary events (action `audit_read` on their `user:<id>`
stream), so they need no table of their own.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_anchors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=150), nullable=False),
        sa.Column("stream_count", sa.Integer(), nullable=False),
        sa.Column("event_count", sa.Integer(), nullable=False),
        sa.Column("heads_digest", sa.String(length=64), nullable=False),
        sa.Column("changed", sa.JSON(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_anchors")),
        sa.UniqueConstraint("seq", name=op.f("uq_audit_anchors_seq")),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            """
            CREATE FUNCTION tejun_audit_anchors_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION 'audit anchors are append-only: % refused', TG_OP
                    USING ERRCODE = 'insufficient_privilege';
            END $$;
            """
        )
        op.execute(
            "CREATE TRIGGER audit_anchors_append_only BEFORE UPDATE OR DELETE ON audit_anchors "
            "FOR EACH ROW EXECUTE FUNCTION tejun_audit_anchors_append_only()"
        )
        op.execute(
            "CREATE TRIGGER audit_anchors_no_truncate BEFORE TRUNCATE ON audit_anchors "
            "FOR EACH STATEMENT EXECUTE FUNCTION tejun_audit_anchors_append_only()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_anchors_no_truncate ON audit_anchors")
        op.execute("DROP TRIGGER IF EXISTS audit_anchors_append_only ON audit_anchors")
        op.execute("DROP FUNCTION IF EXISTS tejun_audit_anchors_append_only()")
    op.drop_table("audit_anchors")
