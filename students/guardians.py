"""Guardians (家长): codes the school issues, signing up or linking a child with one, and who
the guardians of a student are.

A guardian code is one-time, like an activation code (`portal.activation`: same alphabet, same
keyed hash, same throttle on wrong tries), but it belongs to a student, not to a user: whoever
types the child's 学籍号 and the code either opens a new guardian account or, signed in, links
another child. Issuing codes for a student revokes their unused ones, so the latest printed
slip is the only one that works.
"""

from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext as _

from portal.activation import (
    ACTIVATION_CODE_DAYS,
    activation_tries_left,
    activation_wrong_try_count,
    keyed_code_hash,
    new_activation_code,
)
from portal.messages import MessageKind
from portal.models import Role, User
from portal.services import audit_log_record, notification_send, notification_send_bulk

from .models import GuardianCode, Guardianship, Student

CODE_PURPOSE = "students.guardian"


class GuardianError(ValidationError):
    """A guardian code or sign-up that cannot go ahead; `code` says why."""


def guardian_code_hash(*, student_id: int, code: str) -> str:
    return keyed_code_hash(purpose=CODE_PURPOSE, key=student_id, code=code)


@transaction.atomic
def guardian_codes_issue(*, students: Iterable[Student], issued_by: User | None) -> dict[int, str]:
    """A fresh guardian code for each student (unused ones revoked): {student id: code}."""
    students = list(students)
    if not students:
        return {}
    now = timezone.now()
    ids = [s.pk for s in students]
    GuardianCode.objects.filter(student_id__in=ids, used_at=None, revoked_at=None).update(
        revoked_at=now
    )
    codes = {student_id: new_activation_code() for student_id in ids}
    GuardianCode.objects.bulk_create(
        GuardianCode(
            student_id=student_id,
            code_hash=guardian_code_hash(student_id=student_id, code=code),
            issued_by=issued_by if issued_by is not None and issued_by.pk else None,
            expires_at=now + timedelta(days=ACTIVATION_CODE_DAYS),
        )
        for student_id, code in codes.items()
    )
    for student in students:
        audit_log_record(
            actor=issued_by,
            action="guardian_code.issue",
            target=student,
            data={"expires_days": ACTIVATION_CODE_DAYS},
        )
    return codes


def _wrong_code() -> GuardianError:
    return GuardianError(
        _(
            "This 学籍号 and guardian code do not match, or the code was used, replaced by a "
            "newer slip or has expired. Ask the school for a new one."
        ),
        code="wrong_code",
    )


def guardian_code_check(*, student_number: str, code: str, ip_address: str = "") -> GuardianCode:
    """The open code for the child with this 学籍号; GuardianError otherwise."""
    student_number = (student_number or "").strip()
    keys = [
        f"guardian:student:{student_number.lower()}",
        f"activation:ip:{ip_address or 'unknown'}",
    ]
    if not activation_tries_left(keys):
        raise GuardianError(
            _("Too many wrong codes. Please try again in an hour."), code="throttled"
        )
    student = Student.objects.filter(student_number=student_number, left_on__isnull=True).first()
    if student is not None:
        wanted = guardian_code_hash(student_id=student.pk, code=code)
        open_codes = GuardianCode.objects.filter(
            student=student, used_at=None, revoked_at=None, expires_at__gt=timezone.now()
        )
        for stored in open_codes:
            if constant_time_compare(stored.code_hash, wanted):
                return stored
    activation_wrong_try_count(keys)
    raise _wrong_code()


def _redeem(*, code: GuardianCode, guardian: User) -> Guardianship:
    stored = GuardianCode.objects.select_for_update().select_related("student").get(pk=code.pk)
    if stored.used_at is not None or stored.revoked_at is not None:
        raise _wrong_code()
    if Guardianship.objects.filter(
        guardian=guardian, student=stored.student, ended_at__isnull=True
    ).exists():
        raise GuardianError(
            _("%(name)s is already linked to your account.") % {"name": stored.student.name},
            code="already_linked",
        )
    stored.used_at, stored.used_by = timezone.now(), guardian
    stored.save(update_fields=["used_at", "used_by"])
    link = Guardianship.objects.create(guardian=guardian, student=stored.student, code=stored)
    audit_log_record(
        actor=guardian,
        action="guardian.link",
        target=link,
        data={"student_id": stored.student_id, "guardian_id": guardian.pk},
    )
    return link


@transaction.atomic
def guardian_sign_up(
    *, code: GuardianCode, username: str, full_name: str, password: str
) -> Guardianship:
    """A new guardian account from a checked code, linked to the code's child."""
    username = username.strip()
    if User.objects.filter(username__iexact=username).exists():
        raise GuardianError(
            _("This username is taken. Please choose another one."), code="username_taken"
        )
    guardian = User(username=username, full_name=full_name.strip(), role=Role.GUARDIAN)
    password_validation.validate_password(password, guardian)
    guardian.set_password(password)
    guardian.save()
    audit_log_record(actor=guardian, action="guardian.sign_up", target=guardian)
    return _redeem(code=code, guardian=guardian)


@transaction.atomic
def guardian_link(*, code: GuardianCode, guardian: User) -> Guardianship:
    """Link a further child to a signed-in guardian with that child's code."""
    if guardian.role != Role.GUARDIAN:
        raise GuardianError(_("Only a guardian account can link a child."), code="not_guardian")
    return _redeem(code=code, guardian=guardian)


def children_of(*, guardian: User) -> QuerySet[Student]:
    """The guardian's children, with their class and school, in the order they were linked."""
    return (
        Student.objects.filter(guardianships__guardian=guardian, guardianships__ended_at=None)
        .select_related("school_class__school__district")
        .order_by("guardianships__linked_at", "pk")
    )


def guardians_of(*, student: Student) -> QuerySet[User]:
    return User.objects.filter(
        guardianships__student=student, guardianships__ended_at=None, is_active=True
    ).order_by("pk")


def has_guardians() -> Exists:
    """An annotation for a `Student` queryset: whether `guardians_of` would name anyone."""
    return Exists(
        Guardianship.objects.filter(student=OuterRef("pk"), ended_at=None, guardian__is_active=True)
    )


def is_guardian_of(*, user: User, student_id: int) -> bool:
    return (
        user.role == Role.GUARDIAN
        and Guardianship.objects.filter(
            guardian=user, student_id=student_id, ended_at__isnull=True
        ).exists()
    )


def student_notification_send(
    *,
    student: Student,
    message: MessageKind,
    params: dict[str, Any] | None = None,
    url: str = "",
    any_guardians: bool = True,
) -> None:
    """Notify a student and each of their guardians (who get a link to the child's page).

    The one place a notification about a student goes out, so guardians hear of every
    application, change and record their child hears of. `any_guardians=False`: the caller
    read (`has_guardians`, with the student) that there are none to look up.
    """
    params = params or {}
    if student.user_id is not None:
        notification_send(user=student.user, message=message, params=params, url=url)
    if not any_guardians:
        return
    guardian_url = reverse("students:student-progress", args=[student.pk])
    for guardian in guardians_of(student=student):
        notification_send(
            user=guardian,
            message=message,
            params={**params, "child": student.name},
            url=guardian_url,
        )


def student_notifications_send_bulk(
    *, message: MessageKind, items: list[tuple[Student, dict[str, Any], str]]
) -> None:
    """`student_notification_send` for many students (a batch), in few statements."""
    if not items:
        return
    by_student: dict[int, list[User]] = {}
    for link in Guardianship.objects.filter(
        student_id__in=[student.pk for student, _params, _url in items],
        ended_at=None,
        guardian__is_active=True,
    ).select_related("guardian"):
        by_student.setdefault(link.student_id, []).append(link.guardian)
    rows = []
    for student, params, url in items:
        if student.user_id is not None:
            rows.append((student.user, params, url))
        guardians = by_student.get(student.pk, [])
        child_url = reverse("students:student-progress", args=[student.pk]) if guardians else ""
        for guardian in guardians:
            rows.append((guardian, {**params, "child": student.name}, child_url))
    notification_send_bulk(message=message, items=rows)
