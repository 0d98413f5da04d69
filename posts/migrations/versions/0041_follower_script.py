"""follower script and operator alerts

- follower.script: "s" (Simplified, the default) or "t" (Traditional), the script a follower reads in;
- operator_alert: what the product asks an operator to act on (a daily check of items past their review date,
  an annual renewal, a lapsed verification), raised once per key.

Revision ID: 0041
Revises: 0040
Create Date: 2026-12-01 16:10:00
"""

import sqlalchemy as sa
from alembic import op

import posts.models

revision = "0041"
down_revision = "0040"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("follower") as batch:
        batch.add_column(sa.Column("script", sa.String(length=8), server_default="s", nullable=False))
    op.create_table(
        "operator_alert",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("dedup_key", sa.String(length=255), nullable=False),
        sa.Column("day", sa.Date(), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("raised_at", posts.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("acknowledged_at", posts.models.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_operator_alert")),
        sa.UniqueConstraint("dedup_key", name=op.f("uq_operator_alert_dedup_key")),
    )


def downgrade() -> None:
    op.drop_table("operator_alert")
    with op.batch_alter_table("follower") as batch:
        batch.drop_column("script")
