"""content revisions: what operators write in the console, and where each content item came from

- content_revision: one revision of an item written in the console (draft → in review → live, or returned),
  with its author, reviewer and the item's data;
- content_item.origin: "pack" (a sync of the pack files wrote it) or "operator" (published from the console; a
  sync never changes or removes it).

Revision ID: 0048
Revises: 0046
Create Date: 2026-12-01 17:10:00
"""

import sqlalchemy as sa
from alembic import op

import posts.models

revision = "0048"
down_revision = "0046"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "content_revision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=160), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("author", sa.String(length=64), nullable=False),
        sa.Column("created_at", posts.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("reviewer", sa.String(length=64), nullable=False),
        sa.Column("reviewed_at", posts.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("based_on", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_content_revision")),
        sa.UniqueConstraint("kind", "key", "number", name=op.f("uq_content_revision_kind")),
    )
    op.create_index(op.f("ix_content_revision_status"), "content_revision", ["status"], unique=False)
    with op.batch_alter_table("content_item") as batch:
        batch.add_column(sa.Column("origin", sa.String(length=16), server_default="pack", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("content_item") as batch:
        batch.drop_column("origin")
    op.drop_index(op.f("ix_content_revision_status"), table_name="content_revision")
    op.drop_table("content_revision")
