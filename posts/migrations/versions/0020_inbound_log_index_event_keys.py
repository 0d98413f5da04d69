"""inbound log: index events by (event, key) instead of (openid, received_at); event dedupe keys time first

The bot writes one inbound_event and one seen_message row with every push. An index entry at a random place
dirties a random page in each commit, so both tables now only get entries at the end of their indexes:

- inbound_event loses (openid, received_at), which no query used, and gets a partial index on (event, key) for
  the QR-scene counts and the delivery ledger (texts, which have no event, are not in it);
- an event's dedupe key is now ``evt:<CreateTime>:<openid>:<event>:<key>`` (was openid first). The keys of the
  last hour are rewritten, so a redelivery that straddles the upgrade is still recognised; older keys are never
  matched again (WeChat redelivers within about 15 seconds) and stay as they were, as does the inbound log.
  Keys over 200 characters are hashed (``evth:``) and cannot be rewritten; no menu or QR event key is that long.

Building the new index reads the whole inbound log once; on a large PostgreSQL log, run the upgrade
(`wxbot db upgrade`) while the scheduler is stopped, as `wxbot serve` does before its workers start.

Revision ID: 0020
Revises: 0010
Create Date: 2026-11-26 09:10:00
"""

from datetime import timedelta

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0010"
branch_labels = None
depends_on = None

_SEEN = sa.table(
    "seen_message",
    sa.column("id", sa.Integer),
    sa.column("dedup_key", sa.String),
    sa.column("received_at", sa.DateTime),
)


def _recent_event_keys(old_first: bool) -> None:
    """Swap openid and CreateTime in the event keys of the last hour the table holds (the pushes WeChat may still
    retry; measured from the newest row, so the migration reads no clock)."""
    bind = op.get_bind()
    newest = bind.execute(sa.select(sa.func.max(_SEEN.c.received_at))).scalar()
    if newest is None:
        return
    since = newest - timedelta(hours=1)
    rows = bind.execute(
        sa.select(_SEEN.c.id, _SEEN.c.dedup_key).where(_SEEN.c.received_at >= since, _SEEN.c.dedup_key.like("evt:%"))
    ).all()
    for row_id, key in rows:
        parts = key.split(":", 3)  # evt, first, second, rest
        if len(parts) != 4:
            continue
        first, second = parts[1], parts[2]
        if second.isdigit() != old_first:  # already in the target order
            continue
        new_key = f"evt:{second}:{first}:{parts[3]}"
        bind.execute(sa.update(_SEEN).where(_SEEN.c.id == row_id).values(dedup_key=new_key))


def upgrade() -> None:
    with op.batch_alter_table("inbound_event", schema=None) as batch_op:
        batch_op.drop_index("ix_inbound_event_openid_received")
        batch_op.create_index(
            "ix_inbound_event_event_key",
            ["event", "key"],
            unique=False,
            sqlite_where=sa.text("event IS NOT NULL"),
            postgresql_where=sa.text("event IS NOT NULL"),
        )
    _recent_event_keys(old_first=True)


def downgrade() -> None:
    _recent_event_keys(old_first=False)
    with op.batch_alter_table("inbound_event", schema=None) as batch_op:
        batch_op.drop_index("ix_inbound_event_event_key", sqlite_where=sa.text("event IS NOT NULL"))
        batch_op.create_index("ix_inbound_event_openid_received", ["openid", "received_at"], unique=False)
