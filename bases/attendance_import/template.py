"""The downloadable template: the sheet to fill in, the base's recent sessions, instructions."""

from datetime import timedelta

from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.spreadsheets import Sheet, write_workbook

from ..models import (
    ON_SESSION_STATUSES,
    Application,
    Base,
    Session,
)
from .limits import (
    MAX_DATA_ROWS,
    MAX_UPLOAD_BYTES,
    TEMPLATE_SESSIONS_DAYS_AHEAD,
    TEMPLATE_SESSIONS_DAYS_BACK,
    TEMPLATE_SESSIONS_MAX,
)
from .reading import COLUMNS


# ------------------------------------------------------------------------------
# The template
# ------------------------------------------------------------------------------
def template_sessions(*, base: Base) -> list[Session]:
    now = timezone.now()
    return list(
        Session.objects.filter(
            post__base=base,
            ends_at__gte=now - timedelta(days=TEMPLATE_SESSIONS_DAYS_BACK),
            starts_at__lte=now + timedelta(days=TEMPLATE_SESSIONS_DAYS_AHEAD),
        )
        .select_related("post")
        .order_by("-starts_at", "-id")[:TEMPLATE_SESSIONS_MAX]
    )


def template_xlsx(*, base: Base) -> bytes:
    """The sheet to fill in, the base's recent sessions with their ids, and how to fill it."""
    confirmed = dict(
        Application.objects.filter(
            session__post__base=base,
            status__in=ON_SESSION_STATUSES,
        )
        .values("session_id")
        .annotate(n=Count("pk"))
        .values_list("session_id", "n")
    )
    session_rows = [
        [
            # Text, like the column of the sheet it is copied into.
            str(session.pk),
            timezone.localtime(session.starts_at).strftime("%Y-%m-%d %H:%M"),
            timezone.localtime(session.ends_at).strftime("%H:%M"),
            session.post.title,
            confirmed.get(session.pk, 0),
            _("closed") if session.attendance_closed_at else _("open"),
        ]
        for session in template_sessions(base=base)
    ]
    return write_workbook(
        [
            Sheet("attendance", COLUMNS, [], widths=(24, 12, 20, 20, 30)),
            Sheet(
                "sessions",
                ("session_id", _("Starts"), _("Ends"), _("Post"), _("Confirmed"), _("Attendance")),
                session_rows,
                widths=(12, 20, 10, 30, 14, 14),
            ),
            Sheet(
                "instructions",
                (),
                ([line] for line in _instructions()),
                widths=(100,),
                freeze_header=False,
            ),
        ]
    )


def _instructions() -> list[str]:
    return [
        _("Attendance sheet: one row per student and session, on the sheet 'attendance'."),
        _("student_number: the student's 学籍号, typed as text (keep the column's text format)."),
        _("session_id: the id from the sheet 'sessions' (this base's recent sessions)."),
        _("check_in, check_out: Shanghai local date and time, e.g. 2026-03-01 09:00."),
        _("note: optional, for the base's own use; it is not imported into records."),
        _(
            "Upload the file (xlsx or CSV UTF-8, at most %(size)s MB and %(rows)s rows). You see "
            "every problem by row and column first; nothing is saved until you confirm, and "
            "then all rows are imported or none."
        )
        % {"size": MAX_UPLOAD_BYTES // (1024 * 1024), "rows": f"{MAX_DATA_ROWS:,}"},
        _("Uploading the same file again adds nothing."),
        _("Files with macros (.xlsm), old .xls files and other formats are refused."),
    ]
