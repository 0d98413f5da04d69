"""One vocabulary of a follower's interactions and what each does to WeChat's customer-service windows (§4.6).

The bot records every push through :func:`classify`; the planner reads the windows through :func:`window`.
A push falls into one of three window classes:

- ``MESSAGE``: the follower sent a message (any non-event push) → a 48-hour window of 5 messages;
- ``EVENT``: follow, QR scan, a ``click`` or ``scancode_*`` menu tap → a 1-minute window of 3 messages;
- ``NONE``: everything else (a VIEW tap, LOCATION, an event we do not know) → no window.

Per follower the last interaction of each opening class is kept (``last_message_at``, ``last_event_at``), so an
interaction that opens nothing never closes a window an earlier one opened. Only an unfollow closes them all
(:attr:`Interaction.closes`; posts.followers.record_unfollow forgets both times).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from posts import limits

MESSAGE: Final = "message"
EVENT: Final = "event"
NONE: Final = "none"

OTHER: Final = "other"
"""The kind stored for an event that is not in :data:`EVENT_KINDS`."""

UNFOLLOW_EVENT: Final = "unsubscribe"
EVENT_KINDS: Final[dict[str, str]] = {
    "subscribe": "follow",
    "scan": "scan",
    "click": "click",
    "scancode_push": "scancode_push",
    "scancode_waitmsg": "scancode_waitmsg",
    "view": "view",
}
"""Lower-case Event → the kind stored in ``follower.last_interaction_kind``; any other event is ``other``."""


@dataclass(frozen=True, slots=True)
class Interaction:
    kind: str
    """The name stored: message, follow, scan, click, scancode_push, scancode_waitmsg, view or other."""
    opens: str
    """The window it opens: MESSAGE, EVENT or NONE."""
    closes: bool = False
    """It closes every window (an unfollow)."""


def classify(msg_type: str, event: str = "") -> Interaction:
    """The interaction of a push with this MsgType and Event (both compared case-insensitively)."""
    msg_type = msg_type.strip().lower()
    if msg_type != "event":
        return Interaction(MESSAGE, MESSAGE)
    event = event.strip().lower()
    kind = EVENT_KINDS.get(event, OTHER)
    return Interaction(kind, EVENT if event in limits.CS_WINDOW_OPENING_EVENTS else NONE, event == UNFOLLOW_EVENT)


def of_kind(kind: str) -> Interaction:
    """The interaction stored under ``kind`` (a name :func:`classify` gives); ``other`` for a name it never gives."""
    if kind == MESSAGE:
        return classify("text")
    event = next((event for event, name in EVENT_KINDS.items() if name == kind), "")
    return classify("event", event)


def columns(interaction: Interaction, now: datetime) -> dict[str, datetime | str | None]:
    """The follower columns this interaction sets: the last interaction of any kind, and of its window class.

    ``last_message_at`` / ``last_event_at`` is None when the interaction does not open that class's window: the
    writer keeps the stored value then (``COALESCE``).
    """
    return {
        "last_interaction_at": now,
        "last_interaction_kind": interaction.kind,
        "last_message_at": now if interaction.opens == MESSAGE else None,
        "last_event_at": now if interaction.opens == EVENT else None,
    }


@dataclass(frozen=True, slots=True)
class Window:
    """The customer-service window open at a moment: how many messages it allows and since when it counts them."""

    is_open: bool
    quota: int = 0
    opened_at: datetime | None = None


CLOSED: Final = Window(False)


def window(last_message_at: datetime | None, last_event_at: datetime | None, now: datetime) -> Window:
    """The window open at ``now``; the 48-hour one wins when both are open."""
    if last_message_at is not None and now < last_message_at + timedelta(seconds=limits.CS_WINDOW_MESSAGE_SECONDS):
        return Window(True, limits.CS_WINDOW_MESSAGE_QUOTA, last_message_at)
    if last_event_at is not None and now < last_event_at + timedelta(seconds=limits.CS_WINDOW_EVENT_SECONDS):
        return Window(True, limits.CS_WINDOW_EVENT_QUOTA, last_event_at)
    return CLOSED
