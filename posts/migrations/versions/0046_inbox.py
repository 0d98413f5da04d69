"""inbox: follower messages waiting for a person

- inbox_item: a follower's text no rule answered, an urgent one (the bot's safety reply went out) or one an
  operator flagged; open → answered (a customer-service message queued in the outbox) or closed.

Revision ID: 0046
Revises: 0047
Create Date: 2026-12-01 17:00:00
"""

import sqlalchemy as sa
from alembic import op

import posts.models

revision = "0046"
down_revision = "0047"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "inbox_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("openid", sa.String(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("received_at", posts.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("urgent", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("dedup_key", sa.String(length=255), nullable=True),
        sa.Column("answered_at", posts.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("answered_by", sa.String(length=64), nullable=True),
        sa.Column("flagged_by", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbox_item")),
        sa.UniqueConstraint("dedup_key", name=op.f("uq_inbox_item_dedup_key")),
    )
    op.create_index(op.f("ix_inbox_item_openid"), "inbox_item", ["openid"], unique=False)
    op.create_index(
        "ix_inbox_item_state_urgent_received", "inbox_item", ["state", "urgent", "received_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_inbox_item_state_urgent_received", table_name="inbox_item")
    op.drop_index(op.f("ix_inbox_item_openid"), table_name="inbox_item")
    op.drop_table("inbox_item")
