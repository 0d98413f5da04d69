"""published articles, the account's capability profile, the follower import cursor

- article: a section or update published as a WeChat article (draft, publish_id, url) per content version;
- publish_result: PUBLISHJOBFINISH as the bot received it;
- capability_profile: each `wxbot account check` (what the account may do, quotas, callback IPs);
- follower_sync: the resumable cursor of `wxbot followers sync`.

Revision ID: 0043
Revises: 0042
Create Date: 2026-12-01 16:20:00
"""

import sqlalchemy as sa
from alembic import op

import posts.models

revision = "0043"
down_revision = "0042"
branch_labels = None
depends_on = None

UTC = posts.models.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "article",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("content", sa.String(length=255), nullable=False),
        sa.Column("content_version", sa.Integer(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("draft_media_id", sa.String(length=128), nullable=True),
        sa.Column("publish_id", sa.String(length=64), nullable=True),
        sa.Column("article_id", sa.String(length=128), nullable=True),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("requested_by", sa.String(length=64), nullable=False),
        sa.Column("requested_at", UTC, nullable=False),
        sa.Column("submitted_at", UTC, nullable=True),
        sa.Column("checked_at", UTC, nullable=True),
        sa.Column("published_at", UTC, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_article")),
        sa.UniqueConstraint("content", "content_version", name=op.f("uq_article_content")),
        sa.UniqueConstraint("publish_id", name=op.f("uq_article_publish_id")),
    )
    op.create_index("ix_article_state", "article", ["state"], unique=False)
    op.create_table(
        "publish_result",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("publish_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.String(length=128), nullable=True),
        sa.Column("article_url", sa.Text(), nullable=True),
        sa.Column("fail_idx", sa.JSON(), nullable=False),
        sa.Column("received_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_publish_result")),
        sa.UniqueConstraint("publish_id", name=op.f("uq_publish_result_publish_id")),
    )
    op.create_table(
        "capability_profile",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("checked_at", UTC, nullable=False),
        sa.Column("account_type", sa.String(length=16), nullable=False),
        sa.Column("token_ok", sa.Boolean(), nullable=False),
        sa.Column("capabilities", sa.JSON(), nullable=False),
        sa.Column("quotas", sa.JSON(), nullable=False),
        sa.Column("callback_ips", sa.JSON(), nullable=False),
        sa.Column("api_ips", sa.JSON(), nullable=False),
        sa.Column("egress_ip", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_capability_profile")),
    )
    op.create_index(op.f("ix_capability_profile_checked_at"), "capability_profile", ["checked_at"], unique=False)
    op.create_table(
        "follower_sync",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("next_openid", sa.String(length=64), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("seen", sa.Integer(), nullable=False),
        sa.Column("imported", sa.Integer(), nullable=False),
        sa.Column("started_at", UTC, nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.Column("finished_at", UTC, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_follower_sync")),
    )


def downgrade() -> None:
    op.drop_table("follower_sync")
    op.drop_index(op.f("ix_capability_profile_checked_at"), table_name="capability_profile")
    op.drop_table("capability_profile")
    op.drop_table("publish_result")
    op.drop_index("ix_article_state", table_name="article")
    op.drop_table("article")
