"""live content: a content version every process watches; items followers already received outside a post

- content_version: one row; each content sync that changes the pack bumps ``version``, and running processes
  (bot workers, pages, scheduler) rebuild their catalog from content_item when it moved on;
- received_item: (openid, content) a follower got as a welcome or reply, so a post of it skips them.

Revision ID: 0040
Revises: 0030
Create Date: 2026-12-01 13:20:00
"""

import sqlalchemy as sa
from alembic import op

import posts.models

revision = "0040"
down_revision = "0030"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "content_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("checksum", sa.String(length=64), nullable=False),
        sa.Column("changed_at", posts.models.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_content_version")),
    )
    op.create_table(
        "received_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("openid", sa.String(length=64), nullable=False),
        sa.Column("content", sa.String(length=255), nullable=False),
        sa.Column("via", sa.String(length=32), nullable=False),
        sa.Column("received_at", posts.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_received_item")),
        sa.UniqueConstraint("openid", "content", name=op.f("uq_received_item_openid")),
    )


def downgrade() -> None:
    op.drop_table("received_item")
    op.drop_table("content_version")
