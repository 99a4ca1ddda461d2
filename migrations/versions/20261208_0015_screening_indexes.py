"""one screening index per list snapshot, built once and shared by every process (screening_indexes), and
built here for the snapshots imported before

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-08
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "screening_indexes",
        sa.Column("snapshot_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("format", sa.Integer(), nullable=False),
        sa.Column("entry_count", sa.Integer(), nullable=False),
        sa.Column("name_count", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("built_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["snapshot_id"], ["screening_snapshots.id"],
                                name=op.f("fk_screening_indexes_snapshot_id_screening_snapshots"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("snapshot_id", name=op.f("pk_screening_indexes")),
    )
    # existing snapshots: the index the import would have stored (a few seconds per large list). The service's
    # own builder writes it, so the blob is exactly what index_of loads; a later format change rebuilds (index_store)
    from sqlalchemy.orm import Session

    from service.screening import index_store

    session = Session(bind=op.get_bind())
    snapshot_ids = session.scalars(sa.text("SELECT id FROM screening_snapshots ORDER BY id")).all()
    for snapshot_id in snapshot_ids:
        index_store.store(session, snapshot_id)
    session.flush()


def downgrade() -> None:
    op.drop_table("screening_indexes")
