"""Writes of disputes (异议) on records in public notice: raise, and the organiser's answers.

A record is in notice from the day it is written until `notice_ends_on` (inclusive); the beat job
`practice_records_finalise` makes it final the day after, unless a dispute holds it. During
notice, the student, their head teacher or their school admin may raise one dispute at a time;
the record is then `disputed` until its organiser answers: uphold (back to notice), correct
(a new version, back to notice) or revoke. Each step is audited and the people concerned are told.

A reflection on a record is disputed the same way, during its own notice, by those it is shown
to (the student's classmates, head teacher and school admins; never its author): only the
reflection is held (`ReflectionStatus.DISPUTED`), the record goes on. The organiser answers:
uphold (the reflection is shown again) or revoke (the reflection is withdrawn: kept, shown to
nobody in notice, never in the report or the export); a reflection cannot be "corrected".
"""

from datetime import date, datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.models import User
from portal.services import audit_log_record, notification_send

from ..guardians import student_notification_send
from ..messages import (
    DISPUTE_ABOUT_YOUR_RECORD,
    DISPUTE_CORRECTED,
    DISPUTE_REVOKED,
    DISPUTE_TO_ANSWER,
    DISPUTE_UPHELD,
    REFLECTION_DISPUTE_ABOUT_YOURS,
    REFLECTION_DISPUTE_TO_ANSWER,
    REFLECTION_DISPUTE_UPHELD,
    REFLECTION_DISPUTE_WITHDRAWN,
    record_label,
    record_url,
)
from ..models import (
    Dispute,
    DisputeAbout,
    DisputeStatus,
    PracticeRecord,
    RecordStatus,
    Reflection,
    ReflectionStatus,
)
from ..organisers import record_answerers
from ..selectors import record_list_for_user
from ..services import LedgerError, notice_end_for, practice_record_correct, practice_record_revoke
from .selectors import (
    RAISER_ROLES,
    in_notice,
    may_dispute_reflection,
    reflection_in_notice,
    user_answers_record,
)

REASON_MAX_LENGTH = 1000


class DisputeError(LedgerError):
    """A refused step of a dispute; `code` says which rule refused it."""


def _clean_reason(reason: str, *, missing: str) -> str:
    reason = reason.strip()
    if not reason:
        raise DisputeError(missing, code="reason_required")
    if len(reason) > REASON_MAX_LENGTH:
        raise DisputeError(
            _("Keep the reason under %(max)s characters.") % {"max": REASON_MAX_LENGTH},
            code="reason_too_long",
        )
    return reason


@transaction.atomic
def dispute_raise(*, record: PracticeRecord, raised_by: User, reason: str) -> Dispute:
    """Object to a record in notice: the record is held (`disputed`) until the organiser answers.

    Only the student, their head teacher or their school admin may raise one, while the notice
    runs, and one at a time.
    """
    reason = _clean_reason(reason, missing=_("Say why you object to this record."))
    record = (
        PracticeRecord.objects.select_for_update(of=("self",))
        .select_related("student__school_class", "student__user")
        .get(pk=record.pk)
    )
    if raised_by.role not in RAISER_ROLES or not (
        record_list_for_user(user=raised_by).filter(pk=record.pk).exists()
    ):
        raise DisputeError(
            _("Only the student, their head teacher or their school may raise a dispute."),
            code="not_allowed",
        )
    if record.status == RecordStatus.DISPUTED:
        raise DisputeError(
            _("A dispute about this record is already waiting for an answer."),
            code="already_disputed",
        )
    if not in_notice(record):
        raise DisputeError(
            _("Disputes can be raised only while the record is in public notice."),
            code="not_in_notice",
        )
    dispute = Dispute.objects.create(record=record, raised_by=raised_by, reason=reason)
    record.status = RecordStatus.DISPUTED
    record.save(update_fields=["status", "updated_at"])
    audit_log_record(
        actor=raised_by,
        action="dispute.raise",
        target=dispute,
        data={"record": record.pk, "version": record.version, "reason": reason},
    )
    label, url = record_label(record), record_url(record)
    for answerer in record_answerers(record=record):
        notification_send(
            user=answerer,
            message=DISPUTE_TO_ANSWER,
            params={"record": label, "name": record.student.name},
            url=url,
        )
    if record.student.user_id != raised_by.pk:
        student_notification_send(
            student=record.student,
            message=DISPUTE_ABOUT_YOUR_RECORD,
            params={"who": raised_by.get_full_name(), "record": label},
            url=url,
        )
    return dispute


@transaction.atomic
def reflection_dispute_raise(*, reflection: Reflection, raised_by: User, reason: str) -> Dispute:
    """Object to a reflection in notice: the reflection is held until the organiser answers."""
    reason = _clean_reason(reason, missing=_("Say why you object to this reflection."))
    record = (
        PracticeRecord.objects.select_for_update(of=("self",))
        .select_related("student__school_class", "student__user")
        .get(pk=reflection.record_id)
    )
    reflection = Reflection.objects.select_for_update().get(pk=reflection.pk)
    reflection.record = record
    if not may_dispute_reflection(user=raised_by, reflection=reflection):
        raise DisputeError(
            _("Only the student's classmates, head teacher or school may object to a reflection."),
            code="not_allowed",
        )
    if reflection.status == ReflectionStatus.DISPUTED:
        raise DisputeError(
            _("A dispute about this reflection is already waiting for an answer."),
            code="already_disputed",
        )
    if not reflection_in_notice(reflection):
        raise DisputeError(
            _("Disputes can be raised only while the reflection is in public notice."),
            code="not_in_notice",
        )
    dispute = Dispute.objects.create(
        record=record, about=DisputeAbout.REFLECTION, raised_by=raised_by, reason=reason
    )
    reflection.status = ReflectionStatus.DISPUTED
    reflection.save(update_fields=["status", "updated_at"])
    audit_log_record(
        actor=raised_by,
        action="dispute.raise",
        target=dispute,
        data={"record": record.pk, "about": DisputeAbout.REFLECTION, "reason": reason},
    )
    label, url = record_label(record), record_url(record)
    for answerer in record_answerers(record=record):
        notification_send(
            user=answerer,
            message=REFLECTION_DISPUTE_TO_ANSWER,
            params={"record": label, "name": record.student.name},
            url=url,
        )
    # The student is not told who objected: a classmate may have.
    student_notification_send(
        student=record.student,
        message=REFLECTION_DISPUTE_ABOUT_YOURS,
        params={"record": label},
        url=url,
    )
    return dispute


def _reflection_answered(*, dispute: Dispute, record: PracticeRecord, withdraw: bool) -> None:
    reflection = Reflection.objects.select_for_update().get(record=record)
    if withdraw:
        reflection.status = ReflectionStatus.WITHDRAWN
        reflection.is_typical = False
        reflection.typical_marked_by = None
        reflection.typical_marked_at = None
    else:
        reflection.status = ReflectionStatus.SHOWN
        today = timezone.localdate()
        if reflection.notice_ends_on < today:
            reflection.notice_ends_on = notice_end_for(student=record.student, today=today)
    reflection.save()


def _lock_open_dispute(*, dispute: Dispute, answered_by: User) -> tuple[Dispute, PracticeRecord]:
    dispute = Dispute.objects.select_for_update().get(pk=dispute.pk)
    record = (
        PracticeRecord.objects.select_for_update(of=("self",))
        .select_related("student__school_class", "student__user")
        .get(pk=dispute.record_id)
    )
    if not user_answers_record(user=answered_by, record=record):
        raise DisputeError(
            _("Only the organiser of the activity may answer this dispute."), code="not_allowed"
        )
    if dispute.status != DisputeStatus.OPEN:
        raise DisputeError(_("This dispute has already been answered."), code="already_answered")
    if dispute.raised_by_id == answered_by.pk:
        raise DisputeError(_("A dispute cannot be answered by who raised it."), code="own_dispute")
    return dispute, record


def _back_in_notice(record: PracticeRecord, *, today: date) -> None:
    """Back to notice: the same last day, or a new full notice period if that day has passed."""
    record.status = RecordStatus.IN_NOTICE
    if record.notice_ends_on is None or record.notice_ends_on < today:
        record.notice_ends_on = notice_end_for(student=record.student, today=today)
    record.save(update_fields=["status", "notice_ends_on", "updated_at"])


def _finish_answer(
    *, dispute: Dispute, record: PracticeRecord, status: str, answered_by: User, reason: str
) -> Dispute:
    dispute.status = status
    dispute.answer = reason
    dispute.answered_by = answered_by
    dispute.answered_at = timezone.now()
    dispute.save(update_fields=["status", "answer", "answered_by", "answered_at"])
    audit_log_record(
        actor=answered_by,
        action="dispute.answer",
        target=dispute,
        data={
            "record": record.pk,
            "about": dispute.about,
            "answer": status,
            "reason": reason,
            "version": record.version,
            "record_status": record.status,
        },
    )
    if dispute.about == DisputeAbout.REFLECTION:
        message = {
            DisputeStatus.UPHELD: REFLECTION_DISPUTE_UPHELD,
            DisputeStatus.REVOKED: REFLECTION_DISPUTE_WITHDRAWN,
        }[status]
    else:
        message = {
            DisputeStatus.UPHELD: DISPUTE_UPHELD,
            DisputeStatus.CORRECTED: DISPUTE_CORRECTED,
            DisputeStatus.REVOKED: DISPUTE_REVOKED,
        }[status]
    params = {"record": record_label(record), "reason": reason}
    raiser = dispute.raised_by
    if raiser is not None and raiser.pk != record.student.user_id:
        notification_send(user=raiser, message=message, params=params, url=record_url(record))
    student_notification_send(
        student=record.student, message=message, params=params, url=record_url(record)
    )
    return dispute


@transaction.atomic
def dispute_uphold(*, dispute: Dispute, answered_by: User, reason: str) -> Dispute:
    """The record (or the reflection) stands as it is and goes back to notice."""
    reason = _clean_reason(reason, missing=_("Give the reason for your answer."))
    dispute, record = _lock_open_dispute(dispute=dispute, answered_by=answered_by)
    if dispute.about == DisputeAbout.REFLECTION:
        _reflection_answered(dispute=dispute, record=record, withdraw=False)
    else:
        _back_in_notice(record, today=timezone.localdate())
    return _finish_answer(
        dispute=dispute,
        record=record,
        status=DisputeStatus.UPHELD,
        answered_by=answered_by,
        reason=reason,
    )


@transaction.atomic
def dispute_correct(
    *,
    dispute: Dispute,
    answered_by: User,
    reason: str,
    started_at: datetime,
    ended_at: datetime,
    credited_minutes: int,
) -> Dispute:
    """The record is corrected (a new version with the reason) and goes back to notice."""
    reason = _clean_reason(reason, missing=_("Give the reason for your answer."))
    dispute, record = _lock_open_dispute(dispute=dispute, answered_by=answered_by)
    if dispute.about == DisputeAbout.REFLECTION:
        raise DisputeError(
            _("A reflection cannot be corrected: uphold it or withdraw it."),
            code="reflection_not_correctable",
        )
    # Back in notice first, so the new version is stored with the status it will have.
    _back_in_notice(record, today=timezone.localdate())
    record = practice_record_correct(
        record=record,
        started_at=started_at,
        ended_at=ended_at,
        credited_minutes=credited_minutes,
        changed_by=answered_by,
        reason=reason,
        tell_student=False,  # the answer to the dispute tells them
    )
    return _finish_answer(
        dispute=dispute,
        record=record,
        status=DisputeStatus.CORRECTED,
        answered_by=answered_by,
        reason=reason,
    )


@transaction.atomic
def dispute_revoke(*, dispute: Dispute, answered_by: User, reason: str) -> Dispute:
    """The record is revoked: it stays in the ledger, shown apart, and never counts. A dispute
    about a reflection withdraws the reflection instead; the record is untouched."""
    reason = _clean_reason(reason, missing=_("Give the reason for your answer."))
    dispute, record = _lock_open_dispute(dispute=dispute, answered_by=answered_by)
    if dispute.about == DisputeAbout.REFLECTION:
        _reflection_answered(dispute=dispute, record=record, withdraw=True)
    else:
        record = practice_record_revoke(
            record=record, revoked_by=answered_by, reason=reason, tell_student=False
        )
    return _finish_answer(
        dispute=dispute,
        record=record,
        status=DisputeStatus.REVOKED,
        answered_by=answered_by,
        reason=reason,
    )
