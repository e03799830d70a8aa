"""Public notice (公示) and disputes (异议) on ledger records.

A record is in notice from the day it is written until `notice_ends_on` (inclusive); the beat job
`practice_records_finalise` makes it final the day after, unless a dispute holds it. During
notice, the student, their head teacher or their school admin may raise one dispute at a time;
the record is then `disputed` until its organiser answers: uphold (back to notice), correct
(a new version, back to notice) or revoke. Each step is audited and the people concerned are told.

Who organised a record, and so answers for it, is known to the app that wrote it. Each app may
have an `organisers` module with two functions, discovered here so that the ledger never imports
those apps:

- `records_organised_q(*, user) -> Q | None`: the records (a filter on PracticeRecord) the user
  answers disputes for, or None;
- `answerers_of_record(*, record) -> list[User]`: who is told when a dispute is raised.

School-entered records (source "school:...") are answered by the school's admins.
"""

from collections.abc import Callable
from datetime import date, datetime
from functools import cache
from importlib import import_module
from types import ModuleType

from django.apps import apps
from django.db import transaction
from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.module_loading import module_has_submodule
from django.utils.translation import gettext as _

from portal.models import Role, User
from portal.services import audit_log_record, notification_send

from .models import (
    Dispute,
    DisputeStatus,
    PracticeRecord,
    RecordStatus,
    School,
    TeacherAssignment,
    TeacherRole,
)
from .school_records import SCHOOL_SOURCE_PREFIX
from .selectors import NOTHING, record_list_for_user, school_list_for_user
from .services import (
    LedgerError,
    notice_end_for,
    practice_record_correct,
    practice_record_revoke,
)

#: Who may raise a dispute (on records of students in their scope).
RAISER_ROLES = (Role.STUDENT, Role.HEAD_TEACHER, Role.SCHOOL_ADMIN)
#: Who sees a school's notice page as a member of the school.
SCHOOL_ROLES = RAISER_ROLES
#: Records shown on a notice page: in notice, or held by a dispute.
NOTICE_STATUSES = (RecordStatus.IN_NOTICE, RecordStatus.DISPUTED)
REASON_MAX_LENGTH = 1000


class DisputeError(LedgerError):
    """A refused step of a dispute; `code` says which rule refused it."""


# ------------------------------------------------------------------------------
# Organisers: who answers for a record
# ------------------------------------------------------------------------------
@cache
def _organiser_modules() -> tuple[ModuleType, ...]:
    """The `organisers` module of every installed app that has one (imported once)."""
    found = []
    for config in apps.get_app_configs():
        if config.name != "students" and module_has_submodule(config.module, "organisers"):
            found.append(import_module(f"{config.name}.organisers"))
    return tuple(found)


def _school_admin_schools(user: User):
    return TeacherAssignment.objects.filter(user=user, role=TeacherRole.SCHOOL_ADMIN).values(
        "school"
    )


def _school_records_q(*, user: User) -> Q | None:
    if user.role != Role.SCHOOL_ADMIN:
        return None
    return Q(
        source_ref__startswith=SCHOOL_SOURCE_PREFIX,
        student__school_class__school__in=_school_admin_schools(user),
    )


def _school_record_answerers(*, record: PracticeRecord) -> list[User]:
    if not record.source_ref.startswith(SCHOOL_SOURCE_PREFIX):
        return []
    admins = TeacherAssignment.objects.filter(
        school_id=record.student.school_class.school_id, role=TeacherRole.SCHOOL_ADMIN
    ).select_related("user")
    return [a.user for a in admins if a.user.is_active]


def _scope_functions() -> list[Callable]:
    return [_school_records_q, *(m.records_organised_q for m in _organiser_modules())]


def organiser_scope_q(*, user: User) -> Q:
    """Records whose disputes the user answers, as a filter on PracticeRecord."""
    if not user.is_authenticated or not user.is_active:
        return NOTHING
    scopes = [q for function in _scope_functions() if (q := function(user=user)) is not None]
    if not scopes:
        return NOTHING
    combined = scopes[0]
    for scope in scopes[1:]:
        combined |= scope
    return combined


def record_answerers(*, record: PracticeRecord) -> list[User]:
    """Everyone who may answer a dispute about the record (to tell them one was raised)."""
    users = _school_record_answerers(record=record)
    for module in _organiser_modules():
        users += module.answerers_of_record(record=record)
    return list({user.pk: user for user in users}.values())


def user_answers_record(*, user: User, record: PracticeRecord) -> bool:
    return PracticeRecord.objects.filter(organiser_scope_q(user=user), pk=record.pk).exists()


# ------------------------------------------------------------------------------
# Reads
# ------------------------------------------------------------------------------
def in_notice(record: PracticeRecord, *, today: date | None = None) -> bool:
    """True while the notice runs: status in notice and its last day not passed."""
    today = today or timezone.localdate()
    return (
        record.status == RecordStatus.IN_NOTICE
        and record.notice_ends_on is not None
        and record.notice_ends_on >= today
    )


def notice_schools_for_user(*, user: User) -> QuerySet[School]:
    """Schools whose notice page the user may open: their own school, or for a coordinator the
    schools with records of their base in notice."""
    if user.role in SCHOOL_ROLES:
        return school_list_for_user(user=user)
    organised = organiser_scope_q(user=user)
    if organised == NOTHING:
        return School.objects.none()
    schools = PracticeRecord.objects.filter(organised, status__in=NOTICE_STATUSES).values(
        "student__school_class__school"
    )
    return (
        School.objects.filter(pk__in=schools)
        .select_related("district")
        .order_by("district__sort_order", "code")
    )


def notice_school_get_for_user(*, user: User, school_id: int) -> School:
    return get_object_or_404(notice_schools_for_user(user=user), pk=school_id)


def notice_records_for_school(*, user: User, school: School) -> QuerySet[PracticeRecord]:
    """The school's records in notice that the user may see there: all of them for the school's
    own users, only their own base's records for a coordinator."""
    records = PracticeRecord.objects.filter(
        student__school_class__school=school, status__in=NOTICE_STATUSES
    )
    if user.role not in SCHOOL_ROLES:
        records = records.filter(organiser_scope_q(user=user))
    return records.select_related("student__school_class", "category").order_by(
        "notice_ends_on", "student__school_class__entry_year", "student__school_class__number",
        "started_at", "pk",
    )  # fmt: skip


def record_get_for_viewer(*, user: User, record_id: int) -> PracticeRecord:
    """A record the user may open in full: one of their students', or one they organised."""
    scope = Q(pk__in=record_list_for_user(user=user).values("pk")) | organiser_scope_q(user=user)
    return get_object_or_404(
        PracticeRecord.objects.filter(scope).select_related(
            "student__school_class__school", "category", "district"
        ),
        pk=record_id,
    )


def may_raise_dispute(*, user: User, record: PracticeRecord, today: date | None = None) -> bool:
    return (
        user.role in RAISER_ROLES
        and in_notice(record, today=today)
        and record_list_for_user(user=user).filter(pk=record.pk).exists()
    )


def raisable_record_ids(*, user: User, record_ids: list[int]) -> set[int]:
    """Of these records, those the user may raise a dispute about (if they are in notice)."""
    if user.role not in RAISER_ROLES or not record_ids:
        return set()
    records = record_list_for_user(user=user).filter(pk__in=record_ids)
    return set(records.values_list("pk", flat=True))


def dispute_list_open_for_answerer(*, user: User) -> QuerySet[Dispute]:
    return (
        Dispute.objects.filter(status=DisputeStatus.OPEN)
        .filter(record__in=PracticeRecord.objects.filter(organiser_scope_q(user=user)))
        .select_related("record__student__school_class__school", "record__category", "raised_by")
        .order_by("raised_at", "pk")
    )


def dispute_get_for_answerer(*, user: User, dispute_id: int) -> Dispute:
    return get_object_or_404(
        Dispute.objects.filter(
            record__in=PracticeRecord.objects.filter(organiser_scope_q(user=user))
        ).select_related("record__student__school_class", "raised_by"),
        pk=dispute_id,
    )


# ------------------------------------------------------------------------------
# Writes
# ------------------------------------------------------------------------------
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


def _record_label(record: PracticeRecord) -> str:
    day = date_format(timezone.localtime(record.started_at), "Y-m-d")
    return f"{record.title} ({day})"


def _record_url(record: PracticeRecord) -> str:
    return reverse("students:record-detail", args=[record.pk])


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
    label, url = _record_label(record), _record_url(record)
    for answerer in record_answerers(record=record):
        notification_send(
            user=answerer,
            message=_("A dispute was raised about %(record)s of %(name)s. Please answer it.")
            % {"record": label, "name": record.student.name},
            url=url,
        )
    student_user = record.student.user
    if student_user is not None and student_user.pk != raised_by.pk:
        notification_send(
            user=student_user,
            message=_("%(who)s raised a dispute about your record %(record)s.")
            % {"who": raised_by.get_full_name(), "record": label},
            url=url,
        )
    return dispute


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
            "answer": status,
            "reason": reason,
            "version": record.version,
            "record_status": record.status,
        },
    )
    messages = {
        DisputeStatus.UPHELD: _("The dispute about %(record)s was answered: the record stands."),
        DisputeStatus.CORRECTED: _("The dispute about %(record)s was answered: it was corrected."),
        DisputeStatus.REVOKED: _("The dispute about %(record)s was answered: it was revoked."),
    }
    message = messages[status] % {"record": _record_label(record)} + " " + reason
    told = set()
    for user in (dispute.raised_by, record.student.user):
        if user is not None and user.pk not in told:
            told.add(user.pk)
            notification_send(user=user, message=message, url=_record_url(record))
    return dispute


@transaction.atomic
def dispute_uphold(*, dispute: Dispute, answered_by: User, reason: str) -> Dispute:
    """The record stands as it is and goes back to notice."""
    reason = _clean_reason(reason, missing=_("Give the reason for your answer."))
    dispute, record = _lock_open_dispute(dispute=dispute, answered_by=answered_by)
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
    # Back in notice first, so the new version is stored with the status it will have.
    _back_in_notice(record, today=timezone.localdate())
    record = practice_record_correct(
        record=record,
        started_at=started_at,
        ended_at=ended_at,
        credited_minutes=credited_minutes,
        changed_by=answered_by,
        reason=reason,
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
    """The record is revoked: it stays in the ledger, shown apart, and never counts."""
    reason = _clean_reason(reason, missing=_("Give the reason for your answer."))
    dispute, record = _lock_open_dispute(dispute=dispute, answered_by=answered_by)
    record = practice_record_revoke(record=record, revoked_by=answered_by, reason=reason)
    return _finish_answer(
        dispute=dispute,
        record=record,
        status=DisputeStatus.REVOKED,
        answered_by=answered_by,
        reason=reason,
    )
