"""analytics: the page-view count and the index the analytics read the inbound log by

- page_view: views of a page path on a local day, one row per server process and flush (summed when read);
- ix_inbound_event_event_received_at: a span of days of one event (texts: a NULL event), posts/analytics.py.

Revision ID: 0047
Revises: 0045
Create Date: 2026-12-01 17:20:00
"""

import sqlalchemy as sa
from alembic import op

import posts.models

revision = "0047"
down_revision = "0045"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "page_view",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("path", sa.String(length=255), nullable=False),
        sa.Column("views", sa.Integer(), nullable=False),
        sa.Column("counted_at", posts.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_page_view")),
    )
    op.create_index("ix_page_view_day_path", "page_view", ["day", "path"])
    op.create_index("ix_inbound_event_event_received_at", "inbound_event", ["event", "received_at"])


def downgrade() -> None:
    op.drop_index("ix_inbound_event_event_received_at", table_name="inbound_event")
    op.drop_index("ix_page_view_day_path", table_name="page_view")
    op.drop_table("page_view")
