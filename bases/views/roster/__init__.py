"""The roster of a session, made for a coordinator's phone: check-in and check-out by button or
code, all present, walk-ins, closing, and corrections with a reason.

The page works offline: its script (static/bases/roster.js) queues each action with a nonce and
the time it happened, and posts the queue to `sync.roster_sync` when the network returns. Every
other action is a plain form that needs the network (`page`).
"""

from django.urls import path

from .page import (
    roster_all_present,
    roster_close,
    roster_correct,
    roster_record,
    roster_walk_in,
    session_roster,
)
from .sync import roster_sync

urlpatterns = [
    path("manage/sessions/<int:session_id>/roster/", session_roster, name="session-roster"),
    path("manage/sessions/<int:session_id>/roster/sync/", roster_sync, name="roster-sync"),
    path("manage/sessions/<int:session_id>/roster/record/", roster_record, name="roster-record"),
    path(
        "manage/sessions/<int:session_id>/roster/all-present/",
        roster_all_present,
        name="roster-all-present",
    ),
    path(
        "manage/sessions/<int:session_id>/roster/walk-ins/", roster_walk_in, name="roster-walk-in"
    ),
    path("manage/sessions/<int:session_id>/roster/close/", roster_close, name="roster-close"),
    path(
        "manage/sessions/<int:session_id>/roster/students/<int:student_id>/correct/",
        roster_correct,
        name="roster-correct",
    ),
]
