"""analytics summaries: closed days summarised once (posts/rollup.py), the open ones read from the raw rows

- analytics_mark: how far inbound_event and page_view are summarised (an id and a local midnight each);
- analytics_day: per closed local day, follows per QR scene, taps per menu item, texts per logged text, views per
  page path;
- analytics_follow, analytics_unfollow: the summarised follows and unfollows (unfollows within 7 days of a follow,
  unfollows within 24 hours of a push are counted from them);
- analytics_push, analytics_push_count, analytics_push_gone: settled posts' deliveries per channel and state, and
  the recipients who unfollowed within 24 hours;
- inbound_event loses ix_inbound_event_event_received_at (0047): no query reads the log by time any more, and
  every push paid for it.

Revision ID: 0051
Revises: 0048
Create Date: 2026-12-02 10:00:00
"""

import sqlalchemy as sa
from alembic import op

import posts.models

revision = "0051"
down_revision = "0048"
branch_labels = None
depends_on = None

UTC = posts.models.UTCDateTime(timezone=True)


def upgrade() -> None:
    mark = op.create_table(
        "analytics_mark",
        sa.Column("name", sa.String(length=16), nullable=False),
        sa.Column("covered_id", sa.Integer(), nullable=False),
        sa.Column("raw_from", sa.Integer(), nullable=False),
        sa.Column("closed_before", UTC, nullable=True),
        sa.Column("closed_day", sa.Date(), nullable=True),
        sa.Column("rolled_at", UTC, nullable=True),
        sa.Column("tz", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_analytics_mark")),
    )
    op.bulk_insert(mark, [{"name": "inbound", "covered_id": 0, "raw_from": 0, "tz": ""},
                          {"name": "page_view", "covered_id": 0, "raw_from": 0, "tz": ""}])  # fmt: skip
    op.create_table(
        "analytics_day",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("item", sa.Text(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analytics_day")),
    )
    op.create_index("ix_analytics_day_kind_day_item", "analytics_day", ["kind", "day", "item"], unique=True)
    op.create_table(
        "analytics_follow",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("openid", sa.String(length=64), nullable=False),
        sa.Column("at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analytics_follow")),
    )
    op.create_index("ix_analytics_follow_openid_at", "analytics_follow", ["openid", "at"])
    op.create_table(
        "analytics_unfollow",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("openid", sa.String(length=64), nullable=False),
        sa.Column("at", UTC, nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("quick", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analytics_unfollow")),
    )
    op.create_index("ix_analytics_unfollow_day", "analytics_unfollow", ["day"])
    op.create_index("ix_analytics_unfollow_at", "analytics_unfollow", ["at"])
    op.create_index("ix_analytics_unfollow_openid_at", "analytics_unfollow", ["openid", "at"])
    op.create_table(
        "analytics_push",
        sa.Column("post_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("rolled_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("post_id", name=op.f("pk_analytics_push")),
    )
    op.create_table(
        "analytics_push_count",
        sa.Column("post_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("confirmed", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("post_id", "channel", "state", name=op.f("pk_analytics_push_count")),
    )
    op.create_table(
        "analytics_push_gone",
        sa.Column("post_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("openid", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("post_id", "openid", name=op.f("pk_analytics_push_gone")),
    )
    op.drop_index("ix_inbound_event_event_received_at", table_name="inbound_event")


def downgrade() -> None:
    op.create_index("ix_inbound_event_event_received_at", "inbound_event", ["event", "received_at"])
    for table in ("analytics_push_gone", "analytics_push_count", "analytics_push", "analytics_unfollow",
                  "analytics_follow", "analytics_day", "analytics_mark"):  # fmt: skip
        op.drop_table(table)
