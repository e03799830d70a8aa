"""What bases and their posts tell people: each message a stable code and its text.

Stored with the notification as code and parameters (see `portal.messages`) and shown in the
reader's language. Parameters: `session` is a session's label (post title, date and times),
`title` a post's title, `note` a reviewer's words, `position` a place on a waiting list.
"""

from django.utils.translation import gettext_lazy as _

from portal.messages import message_kind

from .attendance_rules import SCAN_MESSAGES, SHEET_MESSAGES, SHEET_OVERLAP_MESSAGES

APPLICATION_CONFIRMED = message_kind(
    "application.confirmed", _("You are confirmed for %(session)s.")
)
APPLICATION_PENDING = message_kind(
    "application.pending",
    _("You applied for %(session)s. Seats are drawn by lottery; you will be told the result."),
)
APPLICATION_WAITLISTED = message_kind(
    "application.waitlisted",
    _("%(session)s is full: you are number %(position)s on the waiting list."),
)
APPLICATION_WAITLISTED_HELD = message_kind(
    "application.waitlisted_held",
    _(
        "You applied for %(session)s and are number %(position)s on the waiting list: until "
        "%(until)s your new applications go to the waiting list (%(count)s no-shows)."
    ),
)
RELIABILITY_HOLD_LIFTED = message_kind(
    "reliability.hold_lifted",
    _("Your head teacher lifted the waiting-list rule on your applications. Reason: %(reason)s"),
)
APPLICATION_PROMOTED = message_kind(
    "application.promoted", _("A seat came free: you are confirmed for %(session)s.")
)
LOTTERY_CONFIRMED = message_kind(
    "lottery.confirmed", _("Lottery drawn: you are confirmed for %(session)s.")
)
LOTTERY_WAITLISTED = message_kind(
    "lottery.waitlisted",
    _("Lottery drawn: you are number %(position)s on the waiting list for %(session)s."),
)
POST_APPROVED = message_kind("post.approved", _("Post approved: %(title)s"))
POST_RETURNED = message_kind("post.returned", _("Post returned: %(title)s. Reason: %(note)s"))
RESERVATION_NAMED = message_kind(
    "reservation.named",
    _("Your head teacher named you on a seat your class booked: %(session)s."),
)
SESSION_CHANGED = message_kind(
    "session.changed",
    _("The base changed a session you applied for: %(before)s is now %(after)s."),
)
SESSION_CANCELLED = message_kind(
    "session.cancelled",
    _("The base cancelled %(session)s. Reason: %(reason)s. Nothing is credited for it."),
)
APPLICATION_REMOVED = message_kind(
    "application.removed",
    _("The base removed you from %(session)s. Reason: %(reason)s"),
)


# ------------------------------------------------------------------------------
# A base's attendance sheet: each problem of a row or of the file, kept with the upload and
# shown to whoever opens it later. Parameters name the cell's value, a row, a student or times.
# ------------------------------------------------------------------------------
SHEET_NO_ROWS = message_kind("attendance_sheet.no_rows", _("The sheet has no rows of attendance."))
SHEET_CHANGED = message_kind(
    "attendance_sheet.changed",
    _("The stored file does not match the one checked; upload it again."),
)
SHEET_NUMBER_CELL = message_kind(
    "attendance_sheet.number_cell",
    _(
        "The spreadsheet turned this student number into a number (%(value)s), which "
        "may have lost digits. Format the column as text and type it again."
    ),
)
SHEET_NOT_STUDENT_NUMBER = message_kind(
    "attendance_sheet.not_student_number",
    _("%(value)s is not a student number (6-32 letters or digits)."),
)
SHEET_NOT_TIME = message_kind(
    "attendance_sheet.not_time",
    _("%(value)s is not a date and time: use the form 2026-03-01 09:00."),
)
SHEET_NOTE_TOO_LONG = message_kind(
    "attendance_sheet.note_too_long", _("Keep notes under %(max)s characters.")
)
SHEET_UNKNOWN_STUDENT = message_kind(
    "attendance_sheet.unknown_student", _("No student has the student number %(value)s.")
)
SHEET_UNKNOWN_SESSION = message_kind(
    "attendance_sheet.unknown_session",
    _("There is no session %(value)s; see the sessions sheet of the template."),
)
SHEET_OTHER_BASE = message_kind(
    "attendance_sheet.other_base", _("Session %(value)s belongs to another base.")
)
SHEET_OUT_BEFORE_IN = message_kind(
    "attendance_sheet.out_before_in", _("Check-out must come after check-in.")
)
SHEET_NONCE_REUSED = message_kind(
    "attendance_sheet.nonce_reused",
    _("This row clashes with a scan recorded earlier; check the row."),
)
SHEET_NO_TIME_IN_SESSION = message_kind(
    "attendance_sheet.no_time_in_session",
    _("The times do not overlap the session (%(start)s–%(end)s)."),
)
SHEET_ALREADY_RECORDED = message_kind(
    "attendance_sheet.already_recorded",
    _(
        "%(name)s is already recorded for this session (%(start)s–%(end)s); "
        "change it with a correction on the roster."
    ),
)
SHEET_DUPLICATE_ROW = message_kind(
    "attendance_sheet.duplicate_row", _("The same student and session are already on row %(row)s.")
)
# The attendance rules' problems (`attendance_rules.SHEET_MESSAGES`) and overlaps, by problem.
SHEET_RULES = {
    problem: message_kind(f"attendance_sheet.{problem}", _(text))
    for problem, text in SHEET_MESSAGES.items()
}
SHEET_OVERLAPS = {
    what: message_kind(f"attendance_sheet.overlap.{what}", _(text))
    for what, text in SHEET_OVERLAP_MESSAGES.items()
}

# A scan refused when a sheet's rows are recorded at confirmation (a change since the preview),
# by problem (`attendance_rules.SCAN_MESSAGES`, the parameters of `rule_error`).
SCAN_RULES = {
    problem: message_kind(f"attendance_scan.{problem}", _(text))
    for problem, text in SCAN_MESSAGES.items()
}

APPLICATION_AWAITING_CONSENT = message_kind(
    "application.awaiting_consent",
    _(
        "You applied for %(session)s. This post needs your guardian's consent: bring the signed "
        "consent form to your school. Your application goes ahead once the school records it."
    ),
)
CONSENT_AWAITED = message_kind(
    "consent.awaited",
    _(
        "%(name)s applied for %(session)s, which needs a guardian's consent. Record the paper "
        "form once it arrives."
    ),
)
CONSENT_WITHDRAWN = message_kind(
    "consent.withdrawn",
    _(
        "Your guardian's consent for %(title)s was withdrawn; your applications for it wait "
        "for consent again and hold no seat."
    ),
)
