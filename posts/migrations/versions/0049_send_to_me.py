"""send to me: an operator binds their own WeChat, then receives test sends

- operator_bind_code: a one-time code (expires, single use) the scheduler makes a temporary QR code of; the bot
  binds whoever scans it to the operator;
- operator_wechat: the openid an operator bound;
- operator_test_send: a post sent to that openid to look at (customer-service message or mass preview), never a
  delivery of the post.

Revision ID: 0049
Revises: 0051
Create Date: 2026-12-02 10:00:00
"""

import sqlalchemy as sa
from alembic import op

import posts.models

revision = "0049"
down_revision = "0051"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "operator_bind_code",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created_at", posts.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", posts.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ticket", sa.Text(), nullable=False),
        sa.Column("qr_url", sa.Text(), nullable=False),
        sa.Column("problem", sa.String(length=32), nullable=False),
        sa.Column("used_at", posts.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("used_by", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["operator_user.id"],
            name=op.f("fk_operator_bind_code_user_id_operator_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_operator_bind_code")),
        sa.UniqueConstraint("code", name=op.f("uq_operator_bind_code_code")),
    )
    op.create_index(op.f("ix_operator_bind_code_user_id"), "operator_bind_code", ["user_id"], unique=False)
    op.create_table(
        "operator_wechat",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("openid", sa.String(length=64), nullable=False),
        sa.Column("bound_at", posts.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["operator_user.id"],
            name=op.f("fk_operator_wechat_user_id_operator_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_operator_wechat")),
        sa.UniqueConstraint("user_id", name=op.f("uq_operator_wechat_user_id")),
    )
    op.create_table(
        "operator_test_send",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("openid", sa.String(length=64), nullable=False),
        sa.Column("request_key", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("requested_at", posts.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", posts.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("problem", sa.String(length=32), nullable=False),
        sa.Column("errcode", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["post_id"], ["post.id"], name=op.f("fk_operator_test_send_post_id_post"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["operator_user.id"],
            name=op.f("fk_operator_test_send_user_id_operator_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_operator_test_send")),
        sa.UniqueConstraint("request_key", name=op.f("uq_operator_test_send_request_key")),
    )
    op.create_index(op.f("ix_operator_test_send_post_id"), "operator_test_send", ["post_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_operator_test_send_post_id"), table_name="operator_test_send")
    op.drop_table("operator_test_send")
    op.drop_table("operator_wechat")
    op.drop_index(op.f("ix_operator_bind_code_user_id"), table_name="operator_bind_code")
    op.drop_table("operator_bind_code")
