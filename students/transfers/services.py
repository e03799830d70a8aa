"""The writes of a transfer: asked by the receiving school, decided by the sending one.

Each service is one transaction that audits itself and notifies after commit (notifications
are rows written with the change; their e-mails leave through the outbox). A confirmed transfer
changes only the student's class: the ledger (records, versions, organiser references, export
lines) is not touched, so the old school's exports stand and the records follow the student.
"""

from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.models import User
from portal.services import audit_log_record, notification_send

from ..messages import (
    TRANSFER_CONFIRMED,
    TRANSFER_DONE_SENDER,
    TRANSFER_DONE_STUDENT,
    TRANSFER_REFUSED,
    TRANSFER_REQUESTED,
)
from ..models import (
    School,
    SchoolClass,
    Student,
    TeacherAssignment,
    TeacherRole,
    Transfer,
    TransferStatus,
)
from ..services import LedgerError

REASON_MAX = 500


class TransferError(LedgerError):
    """A refused step of a transfer; `code` says which rule refused it."""


def school_admins(school: School) -> list[User]:
    return list(
        User.objects.filter(
            teacher_assignments__school=school,
            teacher_assignments__role=TeacherRole.SCHOOL_ADMIN,
            is_active=True,
        ).distinct()
    )


def _check_admin_of(*, user: User, school: School) -> None:
    if not TeacherAssignment.objects.filter(
        user=user, school=school, role=TeacherRole.SCHOOL_ADMIN
    ).exists():
        raise TransferError(_("Only the school's admin may do this."), code="not_allowed")


def transfer_url(transfer: Transfer) -> str:
    return reverse("students:transfer-detail", args=[transfer.pk])


def _params(transfer: Transfer, *, school: School, **extra) -> dict:
    student = transfer.student
    return {
        "school": school.name,
        "name": student.name,
        "number": student.student_number,
        "class": transfer.to_class.name,
        **extra,
    }


def _notify(users, message, params, url) -> None:
    for user in users:
        notification_send(user=user, message=message, params=params, url=url)


@transaction.atomic
def transfer_request(
    *, requested_by: User, student_number: str, to_class: SchoolClass, note: str = ""
) -> Transfer:
    """The receiving school asks to take the student with this 学籍号 into `to_class`."""
    _check_admin_of(user=requested_by, school=to_class.school)
    number = student_number.strip().upper()
    student = (
        Student.objects.select_for_update()
        .select_related("school_class__school")
        .filter(student_number=number)
        .first()
    )
    if student is None:
        raise TransferError(
            _(
                "No student with the student number %(number)s is on this portal. A student "
                "from another installation comes with a signed record package: upload it below."
            ),
            code="unknown_student",
            params={"number": number},
        )
    if student.school_class.school_id == to_class.school_id:
        raise TransferError(
            _("%(name)s is already a student of your school."),
            code="same_school",
            params={"name": student.name},
        )
    if student.school_class.entry_year != to_class.entry_year:
        raise TransferError(
            _(
                "%(name)s entered in %(year)s; choose a class of that entry year (a transfer "
                "keeps the entry year, which decides the requirement)."
            ),
            code="entry_year",
            params={"name": student.name, "year": student.school_class.entry_year},
        )
    if Transfer.objects.filter(student=student, status=TransferStatus.REQUESTED).exists():
        raise TransferError(
            _("A transfer of %(name)s is already waiting for an answer."),
            code="already_requested",
            params={"name": student.name},
        )
    transfer = Transfer.objects.create(
        student=student,
        from_school=student.school_class.school,
        from_class=student.school_class,
        to_school=to_class.school,
        to_class=to_class,
        requested_by=requested_by,
        note=note.strip()[:REASON_MAX],
    )
    audit_log_record(
        actor=requested_by,
        action="transfer.request",
        target=transfer,
        data={
            "student_number": number,
            "from_class": transfer.from_class_id,
            "to_class": to_class.pk,
        },
    )
    _notify(
        school_admins(transfer.from_school),
        TRANSFER_REQUESTED,
        _params(transfer, school=transfer.to_school),
        transfer_url(transfer),
    )
    return transfer


def _open_for_update(transfer: Transfer) -> Transfer:
    locked = (
        Transfer.objects.select_for_update()
        .select_related("student__school_class", "from_school", "to_school", "to_class")
        .get(pk=transfer.pk)
    )
    if not locked.is_open:
        raise TransferError(
            _("This transfer was already answered: %(status)s."),
            code="not_open",
            params={"status": locked.get_status_display()},
        )
    return locked


@transaction.atomic
def transfer_confirm(*, transfer: Transfer, confirmed_by: User) -> Transfer:
    """The sending school lets the student go: they belong to the new class from now on."""
    transfer = _open_for_update(transfer)
    _check_admin_of(user=confirmed_by, school=transfer.from_school)
    student = Student.objects.select_for_update().get(pk=transfer.student_id)
    if student.school_class_id != transfer.from_class_id:
        raise TransferError(
            _("%(name)s is no longer in the class the request named; ask again."),
            code="class_changed",
            params={"name": student.name},
        )
    now = timezone.now()
    transfer.status = TransferStatus.CONFIRMED
    transfer.decided_by = confirmed_by
    transfer.decided_at = now
    transfer.save(update_fields=["status", "decided_by", "decided_at"])
    fields = ["school_class"]
    student.school_class = transfer.to_class
    if student.left_on is not None:
        # Marked as left by the old school's roster: at the new school they are present again.
        student.left_on = None
        fields.append("left_on")
        if student.user_id:
            User.objects.filter(pk=student.user_id).update(is_active=True)
    student.save(update_fields=fields)
    transfer.student = student
    audit_log_record(
        actor=confirmed_by,
        action="transfer.confirm",
        target=transfer,
        data={
            "student": student.pk,
            "from_class": transfer.from_class_id,
            "to_class": transfer.to_class_id,
            "records": student.records.count(),
        },
    )
    url = transfer_url(transfer)
    _notify(
        school_admins(transfer.to_school),
        TRANSFER_CONFIRMED,
        _params(transfer, school=transfer.from_school),
        url,
    )
    _notify(
        school_admins(transfer.from_school),
        TRANSFER_DONE_SENDER,
        _params(transfer, school=transfer.to_school),
        url,
    )
    if student.user_id:
        notification_send(
            user=student.user,
            message=TRANSFER_DONE_STUDENT,
            params=_params(transfer, school=transfer.to_school),
            url=reverse("students:my-records"),
        )
    return transfer


@transaction.atomic
def transfer_refuse(*, transfer: Transfer, refused_by: User, reason: str) -> Transfer:
    """The sending school keeps the student, saying why."""
    transfer = _open_for_update(transfer)
    _check_admin_of(user=refused_by, school=transfer.from_school)
    reason = reason.strip()[:REASON_MAX]
    if not reason:
        raise TransferError(_("Say why the transfer is refused."), code="reason_required")
    transfer.status = TransferStatus.REFUSED
    transfer.decided_by = refused_by
    transfer.decided_at = timezone.now()
    transfer.refusal_reason = reason
    transfer.save(update_fields=["status", "decided_by", "decided_at", "refusal_reason"])
    audit_log_record(
        actor=refused_by, action="transfer.refuse", target=transfer, data={"reason": reason}
    )
    _notify(
        school_admins(transfer.to_school),
        TRANSFER_REFUSED,
        _params(transfer, school=transfer.from_school, reason=reason),
        transfer_url(transfer),
    )
    return transfer


@transaction.atomic
def transfer_withdraw(*, transfer: Transfer, withdrawn_by: User) -> Transfer:
    """The receiving school takes back its request before it is answered."""
    transfer = _open_for_update(transfer)
    _check_admin_of(user=withdrawn_by, school=transfer.to_school)
    transfer.status = TransferStatus.WITHDRAWN
    transfer.decided_by = withdrawn_by
    transfer.decided_at = timezone.now()
    transfer.save(update_fields=["status", "decided_by", "decided_at"])
    audit_log_record(actor=withdrawn_by, action="transfer.withdraw", target=transfer, data={})
    return transfer
