"""follower: the last interaction of each customer-service window class (last_message_at, last_event_at)

WeChat opens a 48-hour window when a follower sends a message and a 1-minute window on a follow, a QR scan or a
click/scancode_* menu tap (posts.interactions). Until now only the last interaction of any kind was kept, so a VIEW
tap after a message made the 48-hour window look closed. The last interaction of any kind stays (for display);
the two new columns are filled from it: a stored "message" becomes last_message_at, a stored follow, scan or click
last_event_at (older scancode_* taps were stored as "other" and cannot be told apart: their minute is long over).

Revision ID: 0030
Revises: 0020
Create Date: 2026-12-01 13:30:00
"""

import sqlalchemy as sa
from alembic import op

import posts.models

revision = "0030"
down_revision = "0020"
branch_labels = None
depends_on = None

_FOLLOWER = sa.table(
    "follower",
    sa.column("last_interaction_at", posts.models.UTCDateTime(timezone=True)),
    sa.column("last_interaction_kind", sa.String),
    sa.column("last_message_at", posts.models.UTCDateTime(timezone=True)),
    sa.column("last_event_at", posts.models.UTCDateTime(timezone=True)),
)
_MESSAGE_KINDS = ("message",)
_EVENT_KINDS = ("follow", "scan", "click")
"""The kinds 0001-0020 stored that open a window (bot/message.py wrote message, follow, scan, click, view, other)."""


def upgrade() -> None:
    with op.batch_alter_table("follower", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_message_at", posts.models.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("last_event_at", posts.models.UTCDateTime(timezone=True), nullable=True))
    at, kind = _FOLLOWER.c.last_interaction_at, _FOLLOWER.c.last_interaction_kind
    op.execute(_FOLLOWER.update().where(kind.in_(_MESSAGE_KINDS)).values(last_message_at=at))
    op.execute(_FOLLOWER.update().where(kind.in_(_EVENT_KINDS)).values(last_event_at=at))


def downgrade() -> None:
    with op.batch_alter_table("follower", schema=None) as batch_op:
        batch_op.drop_column("last_event_at")
        batch_op.drop_column("last_message_at")
