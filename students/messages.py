"""What the students' records tell people: each message a stable code and its text.

Stored with the notification as code and parameters (see `portal.messages`) and shown in the
reader's language. Parameters: `record` is a record's label (title and date), `name` a student's
name, `who` the person who raised a dispute, `reason` the answerer's words.
"""

from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from portal.messages import message_kind


def record_label(record) -> str:
    """A record as messages name it: its title and first date, in no particular language."""
    day = date_format(timezone.localtime(record.started_at), "Y-m-d")
    return f"{record.title} ({day})"


def record_url(record) -> str:
    return reverse("students:record-detail", args=[record.pk])


DISPUTE_TO_ANSWER = message_kind(
    "dispute.raised.answerer",
    _("A dispute was raised about %(record)s of %(name)s. Please answer it."),
)
DISPUTE_ABOUT_YOUR_RECORD = message_kind(
    "dispute.raised.student", _("%(who)s raised a dispute about your record %(record)s.")
)
DISPUTE_UPHELD = message_kind(
    "dispute.upheld",
    _("The dispute about %(record)s was answered: the record stands. %(reason)s"),
)
DISPUTE_CORRECTED = message_kind(
    "dispute.corrected",
    _("The dispute about %(record)s was answered: it was corrected. %(reason)s"),
)
DISPUTE_REVOKED = message_kind(
    "dispute.revoked",
    _("The dispute about %(record)s was answered: it was revoked. %(reason)s"),
)
RECORD_IN_NOTICE = message_kind(
    "record.in_notice",
    _(
        "Your record %(record)s is in public notice until %(until)s. Check it; if something is "
        "wrong, raise a dispute before then."
    ),
)
RECORDS_IN_NOTICE = message_kind(
    "records.in_notice",
    _(
        "%(count)s of your records, the first %(record)s, are in public notice until %(until)s. "
        "Check them; if something is wrong, raise a dispute before then."
    ),
)
RECORD_FINAL = message_kind(
    "record.final", _("Your record %(record)s is final and counts toward the requirement.")
)
RECORD_CORRECTED = message_kind(
    "record.corrected",
    _("Your record %(record)s was corrected: %(minutes)s minutes credited. Reason: %(reason)s"),
)
RECORD_REVOKED = message_kind(
    "record.revoked", _("Your record %(record)s was revoked. Reason: %(reason)s")
)
RECORD_HELD = message_kind(
    "record.held",
    _(
        "%(minutes)s minutes of your record %(record)s are held for review: they would bring "
        "your credited time above the safety policy's limit. Your school will decide."
    ),
)
HELD_TO_REVIEW = message_kind(
    "record.held.reviewer",
    _(
        "%(minutes)s minutes of %(name)s's record %(record)s are held for review (above the "
        "safety policy's limit). Please credit or reject them."
    ),
)
HELD_RELEASED = message_kind(
    "record.held.released",
    _("The %(minutes)s held minutes of your record %(record)s are now credited. %(reason)s"),
)
HELD_REJECTED = message_kind(
    "record.held.rejected",
    _("The %(minutes)s held minutes of your record %(record)s were not credited. %(reason)s"),
)
REFLECTION_COMMENTED = message_kind(
    "reflection.commented",
    _("%(who)s commented on your reflection on %(record)s: %(text)s"),
)
REFLECTION_TYPICAL = message_kind(
    "reflection.typical",
    _("Your head teacher chose your reflection on %(record)s as a typical case (典型事例)."),
)
REFLECTION_TYPICAL_REMOVED = message_kind(
    "reflection.typical_removed",
    _("Your reflection on %(record)s is no longer marked as a typical case (典型事例)."),
)
REFLECTION_DISPUTE_TO_ANSWER = message_kind(
    "reflection.dispute.answerer",
    _("A dispute was raised about the reflection of %(name)s on %(record)s. Please answer it."),
)
REFLECTION_DISPUTE_ABOUT_YOURS = message_kind(
    "reflection.dispute.student",
    _("A dispute was raised about your reflection on %(record)s; it waits for an answer."),
)
REFLECTION_DISPUTE_UPHELD = message_kind(
    "reflection.dispute.upheld",
    _("The dispute about the reflection on %(record)s was answered: it stands. %(reason)s"),
)
REFLECTION_DISPUTE_WITHDRAWN = message_kind(
    "reflection.dispute.withdrawn",
    _(
        "The dispute about the reflection on %(record)s was answered: the reflection is "
        "withdrawn. %(reason)s"
    ),
)


# ------------------------------------------------------------------------------
# A school's roster sheet: each problem of a row or of the file, kept with the upload and shown
# to whoever opens it later. Parameters: `value`, `max`, `low`, `high`, `row`.
# ------------------------------------------------------------------------------
ROSTER_NO_ROWS = message_kind("roster.no_rows", _("The sheet has no rows."))
ROSTER_CHANGED = message_kind(
    "roster.changed", _("The stored file does not match the one checked.")
)
ROSTER_BAD_KIND = message_kind("roster.bad_kind", _("Write student (学生) or teacher (班主任)."))
ROSTER_NAME_EMPTY = message_kind("roster.name_empty", _("The name is empty."))
ROSTER_NAME_TOO_LONG = message_kind(
    "roster.name_too_long", _("The name has more than %(max)s characters.")
)
ROSTER_OUT_OF_RANGE = message_kind(
    "roster.out_of_range", _("%(value)s is not between %(low)s and %(high)s.")
)
ROSTER_NOT_STUDENT_NUMBER = message_kind(
    "roster.not_student_number",
    _("%(value)s is not a student number: use 6-32 letters or digits."),
)
ROSTER_BAD_USERNAME = message_kind(
    "roster.bad_username", _("A teacher's username: 3-150 letters, digits or . _ - @ +.")
)
ROSTER_BAD_GENDER = message_kind("roster.bad_gender", _("Write 男 or 女 (or leave it empty)."))
ROSTER_TOO_LONG = message_kind("roster.too_long", _("At most %(max)s characters."))
ROSTER_BAD_EMAIL = message_kind("roster.bad_email", _("This is not an e-mail address."))
ROSTER_DUPLICATE_NUMBER = message_kind(
    "roster.duplicate_number", _("The same student number is on row %(row)s.")
)
ROSTER_DUPLICATE_USERNAME = message_kind(
    "roster.duplicate_username",
    _("The same username is on row %(row)s: a teacher is head teacher of one class."),
)
ROSTER_TWO_HEAD_TEACHERS = message_kind(
    "roster.two_head_teachers", _("Row %(row)s names another head teacher of this class.")
)
ROSTER_NUMBER_IS_USERNAME = message_kind(
    "roster.number_is_username",
    _("Another login already has this student number as its username."),
)
ROSTER_OTHER_SCHOOL = message_kind(
    "roster.other_school",
    _(
        "This student number belongs to a student of another school; that school "
        "must mark them as left first, or the city admin moves them."
    ),
)
ROSTER_USERNAME_TAKEN = message_kind(
    "roster.username_taken",
    _("This username belongs to someone who is not a head teacher of this school; choose another."),
)
TRANSFER_REQUESTED = message_kind(
    "transfer.requested",
    _(
        "%(school)s asks to take in your student %(name)s (%(number)s) into %(class)s. "
        "Please confirm or refuse the transfer."
    ),
)
TRANSFER_CONFIRMED = message_kind(
    "transfer.confirmed",
    _("%(school)s confirmed the transfer of %(name)s (%(number)s): they are now in %(class)s."),
)
TRANSFER_REFUSED = message_kind(
    "transfer.refused",
    _("%(school)s refused the transfer of %(name)s (%(number)s). Reason: %(reason)s"),
)
TRANSFER_DONE_SENDER = message_kind(
    "transfer.done.sender",
    _(
        "%(name)s (%(number)s) now belongs to %(school)s; your reports list them as "
        "transferred out."
    ),
)
TRANSFER_DONE_STUDENT = message_kind(
    "transfer.done.student",
    _("You now belong to %(school)s, %(class)s. Every record of yours came with you."),
)
RECORD_PACKAGE_IMPORTED = message_kind(
    "record_package.imported",
    _("Your records from %(installation)s were taken in: %(count)s records."),
)


# Records from other platforms (`students.platforms`): sheet problems and notifications.
PLATFORM_VALUE_EMPTY = message_kind("platform.empty", _("This cell is empty; a value is required."))
PLATFORM_TOO_LONG = message_kind("platform.too_long", _("At most %(max)s characters."))
PLATFORM_NO_STUDENT = message_kind(
    "platform.no_student", _("Give the student's 学籍号 or their volunteer number.")
)
PLATFORM_BAD_DATE = message_kind(
    "platform.bad_date", _("Write the date as 2026-10-10 (or 2026/10/10, 2026年10月10日).")
)
PLATFORM_BAD_TIME = message_kind(
    "platform.bad_time", _("Write the time as 09:30 (or a date and time, 2026-10-10 09:30).")
)
PLATFORM_BAD_HOURS = message_kind(
    "platform.bad_hours", _("Write the hours as a number above 0 and at most %(max)s.")
)
PLATFORM_HOURS_TOO_LONG = message_kind(
    "platform.hours_too_long",
    _("More hours than between the start and the end (%(minutes)s minutes)."),
)
PLATFORM_ENDS_BEFORE_START = message_kind(
    "platform.ends_before_start", _("The end is not after the start.")
)
PLATFORM_NO_TIMES = message_kind(
    "platform.no_times", _("Give the start and end times, or the hours.")
)
PLATFORM_IN_FUTURE = message_kind("platform.in_future", _("This activity has not taken place yet."))
PLATFORM_UNKNOWN_STUDENT = message_kind(
    "platform.unknown_student", _("No student of the school has this number.")
)
PLATFORM_UNKNOWN_VOLUNTEER = message_kind(
    "platform.unknown_volunteer",
    _("This volunteer number is not known yet: add the student's 学籍号 to the row."),
)
PLATFORM_NOT_YOURS = message_kind(
    "platform.not_yours", _("This row is another student's record; upload only your own.")
)
PLATFORM_DUPLICATE_ID = message_kind(
    "platform.duplicate_id", _("The same record id as row %(row)s.")
)
PLATFORM_ID_CONFLICT = message_kind(
    "platform.id_conflict",
    _("This record id was imported before for another student or other times."),
)
PLATFORM_NO_ROWS = message_kind("platform.no_rows", _("The sheet has no rows."))
PLATFORM_CHANGED = message_kind(
    "platform.changed", _("The stored file changed since it was checked; upload it again.")
)
PLATFORM_REJECTED = message_kind(
    "platform.rejected", _("The school did not accept these records: %(reason)s")
)
PLATFORM_TO_REVIEW = message_kind(
    "platform.to_review",
    _("%(name)s sent %(count)s records from %(platform)s for the school's review."),
)
PLATFORM_OVERLAPS = message_kind(
    "platform.overlaps",
    _("%(count)s records from %(platform)s overlap records the students already have; "
      "decide which to keep."),
)  # fmt: skip
PLATFORM_REVIEWED = message_kind(
    "platform.reviewed", _("Your records from %(platform)s were accepted by the school.")
)
PLATFORM_IMPORT_FAILED = message_kind(
    "platform.import_failed",
    _("Nothing was imported: writing the records stopped on an error (%(error)s). Upload the "
      "file again; if it stops again, tell the portal's support."),
)  # fmt: skip
