"""operator console: staff accounts, sessions, sign-in attempts, audit log, notices

- operator_user: a member of staff with a role (editor, reviewer, sender, admin) and an argon2 password hash;
- operator_session: server-side sessions (the cookie carries a token whose SHA-256 is kept), revocable;
- signin_attempt: the sign-in throttle per account and per address;
- audit_entry: who did what, when, before and after;
- operator_notice: what the dashboard tells an operator (their post expired or was returned).

Revision ID: 0045
Revises: 0044
Create Date: 2026-12-01 16:10:00
"""

import sqlalchemy as sa
from alembic import op

import posts.models

revision = "0045"
down_revision = "0044"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "operator_user",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("failed_signins", sa.Integer(), nullable=False),
        sa.Column("locked_until", posts.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", posts.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("password_changed_at", posts.models.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_operator_user")),
        sa.UniqueConstraint("username", name=op.f("uq_operator_user_username")),
    )
    op.create_table(
        "operator_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("created_at", posts.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", posts.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", posts.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", posts.models.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["operator_user.id"],
            name=op.f("fk_operator_session_user_id_operator_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_operator_session")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_operator_session_token_hash")),
    )
    op.create_index(op.f("ix_operator_session_user_id"), "operator_session", ["user_id"], unique=False)
    op.create_table(
        "signin_attempt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("at", posts.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signin_attempt")),
    )
    op.create_index("ix_signin_attempt_address_at", "signin_attempt", ["address", "at"], unique=False)
    op.create_table(
        "audit_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", posts.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("target", sa.String(length=64), nullable=False),
        sa.Column("before", sa.JSON(), nullable=False),
        sa.Column("after", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_entry")),
    )
    op.create_index(op.f("ix_audit_entry_at"), "audit_entry", ["at"], unique=False)
    op.create_table(
        "operator_notice",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("created_at", posts.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("read_at", posts.models.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["post_id"], ["post.id"], name=op.f("fk_operator_notice_post_id_post"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_operator_notice")),
    )
    op.create_index(op.f("ix_operator_notice_username"), "operator_notice", ["username"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_operator_notice_username"), table_name="operator_notice")
    op.drop_table("operator_notice")
    op.drop_index(op.f("ix_audit_entry_at"), table_name="audit_entry")
    op.drop_table("audit_entry")
    op.drop_index("ix_signin_attempt_address_at", table_name="signin_attempt")
    op.drop_table("signin_attempt")
    op.drop_index(op.f("ix_operator_session_user_id"), table_name="operator_session")
    op.drop_table("operator_session")
    op.drop_table("operator_user")
