"""subscribe consents: each follower's consents per subscribe-notice template (订阅通知)

- notice_consent: one row per popup accept (or reject, kept for the history); a one-time consent is used by one
  send, a long-term one stays until withdrawn; grant_key makes a redelivered event record nothing twice.

Revision ID: 0042
Revises: 0041
Create Date: 2026-12-01 16:10:00
"""

import sqlalchemy as sa
from alembic import op

import posts.models

revision = "0042"
down_revision = "0041"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notice_consent",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("openid", sa.String(length=64), nullable=False),
        sa.Column("template_id", sa.String(length=128), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("scene", sa.Integer(), nullable=True),
        sa.Column("grant_key", sa.String(length=255), nullable=True),
        sa.Column("delivery_id", sa.Integer(), nullable=True),
        sa.Column("granted_at", posts.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("changed_at", posts.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notice_consent")),
        sa.UniqueConstraint("grant_key", name=op.f("uq_notice_consent_grant_key")),
    )
    op.create_index("ix_notice_consent_lookup", "notice_consent", ["openid", "template_id", "state"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_notice_consent_lookup", table_name="notice_consent")
    op.drop_table("notice_consent")
