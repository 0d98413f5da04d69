"""job_finished: every TEMPLATESENDJOBFINISH / MASSSENDJOBFINISH WeChat pushed, with its counts

Reports count what WeChat says was received (sent, filtered, errors); the push may come before the sender has
recorded the call's msg_id, so it is kept until it can be applied.

Revision ID: 0044
Revises: 0043
Create Date: 2026-12-01 17:00:00
"""

import sqlalchemy as sa
from alembic import op

import posts.models

revision = "0044"
down_revision = "0043"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "job_finished",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event", sa.String(length=32), nullable=False),
        sa.Column("msg_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("received_at", posts.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("applied_at", posts.models.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_finished")),
        sa.UniqueConstraint("event", "msg_id", name=op.f("uq_job_finished_event")),
    )


def downgrade() -> None:
    op.drop_table("job_finished")
