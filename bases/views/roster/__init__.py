"""The roster of a session, made for a coordinator's phone: check-in and check-out by button or
code, all present, walk-ins, closing, and corrections with a reason.

The page works offline: its script (static/bases/roster.js) queues each action with a nonce and
the time it happened, and posts the queue to `sync.roster_sync` when the network returns. Every
other action is a plain form that needs the network (`page`).
"""

from .page import (
    roster_all_present,
    roster_close,
    roster_correct,
    roster_record,
    roster_walk_in,
    roster_walk_in_confirm,
    roster_walk_in_refuse,
    session_roster,
)
from .sync import roster_state, roster_sync

__all__ = [
    "roster_all_present",
    "roster_close",
    "roster_correct",
    "roster_record",
    "roster_state",
    "roster_sync",
    "roster_walk_in",
    "roster_walk_in_confirm",
    "roster_walk_in_refuse",
    "session_roster",
]
