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
