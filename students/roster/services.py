"""Keeping a checked roster, and importing it all or nothing."""

import hashlib
import uuid

from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.models import Role, User
from portal.services import audit_log_record
from portal.sheet_problems import file_problem, missing_columns_problem, problems_json
from portal.uploads import CSV, XLSX, ZIP_MAGIC, UploadRefused

from ..messages import ROSTER_CHANGED, ROSTER_NO_ROWS
from ..models import (
    RosterImport,
    RosterImportStatus,
    School,
    SchoolClass,
    Student,
    TeacherAssignment,
    TeacherRole,
)
from .planning import RosterPlan, roster_plan
from .reading import MAX_UPLOAD_BYTES, RosterSheet, read_roster

MAX_ERRORS_STORED = 1_000


class RosterError(ValidationError):
    """A roster action refused as a whole, with a machine-readable `code`."""


def _check_admin(*, user: User, school: School) -> None:
    if not TeacherAssignment.objects.filter(
        user=user, school=school, role=TeacherRole.SCHOOL_ADMIN
    ).exists():
        raise RosterError(
            _("Only the school's admins may import its roster."), code="not_authorised"
        )


def _sheet_problems(sheet: RosterSheet) -> list[dict]:
    if sheet.missing_columns:
        return missing_columns_problem(sheet.missing_columns)
    if not sheet.rows:
        return file_problem("no_rows", ROSTER_NO_ROWS())
    return []


def _errors_json(plan: RosterPlan) -> list[dict]:
    errors = sorted(plan.errors, key=lambda e: (e.row or 0, e.column))
    return problems_json(errors, keep=MAX_ERRORS_STORED)


def _check(school: School, content: bytes) -> tuple[RosterSheet, RosterPlan | None, list[dict]]:
    sheet = read_roster(content)
    errors = _sheet_problems(sheet)
    if errors:
        return sheet, None, errors
    plan = roster_plan(school=school, rows=sheet.rows)
    return sheet, plan, _errors_json(plan)


def roster_import_preview(
    *, school: School, content: bytes, original_name: str, uploaded_by: User
) -> RosterImport:
    """Read and check a roster (the dry run) and keep it for confirmation; nothing else is
    written. An unsafe file raises UploadRefused (audited) and nothing is kept."""
    _check_admin(user=uploaded_by, school=school)
    digest = hashlib.sha256(content).hexdigest()
    try:
        sheet, plan, errors = _check(school, content)
    except UploadRefused as error:
        with transaction.atomic():
            audit_log_record(
                actor=uploaded_by,
                action="roster_import.refuse",
                target=school,
                data={"code": error.code, "size": len(content), "sha256": digest},
            )
        raise
    kind = XLSX if content.startswith(ZIP_MAGIC) else CSV
    roster_import = RosterImport(
        school=school,
        original_name=(original_name or "")[:200],
        sha256=digest,
        status=RosterImportStatus.REFUSED if errors else RosterImportStatus.PREVIEWED,
        row_count=len(sheet.rows),
        summary=plan.summary if plan and not errors else {},
        errors=errors,
        uploaded_by=uploaded_by,
    )
    roster_import.file.save(f"{uuid.uuid4().hex}.{kind}", ContentFile(content), save=False)
    with transaction.atomic():
        roster_import.save()
        audit_log_record(
            actor=uploaded_by,
            action="roster_import.preview",
            target=roster_import,
            data={"status": roster_import.status, "rows": roster_import.row_count,
                  "errors": len(errors), "sha256": digest, **roster_import.summary},
        )  # fmt: skip
    return roster_import


def roster_import_confirm(*, roster_import: RosterImport, confirmed_by: User) -> RosterImport:
    """Import a previewed roster: everything or nothing. Confirming it twice does nothing.

    The stored file is read and checked again (the school may have changed since the preview);
    if a row became wrong the import is refused with the reasons and nothing is written.
    """
    school = roster_import.school
    _check_admin(user=confirmed_by, school=school)
    if roster_import.status != RosterImportStatus.PREVIEWED:
        return roster_import
    with roster_import.file.open("rb") as stored:
        content = stored.read(MAX_UPLOAD_BYTES + 1)
    if hashlib.sha256(content).hexdigest() != roster_import.sha256:
        return _refuse(
            roster_import,
            confirmed_by,
            file_problem("changed", ROSTER_CHANGED()),
        )
    _sheet, plan, errors = _check(school, content)
    if errors:
        return _refuse(roster_import, confirmed_by, errors)
    with transaction.atomic():
        locked = RosterImport.objects.select_for_update().get(pk=roster_import.pk)
        if locked.status != RosterImportStatus.PREVIEWED:
            return locked
        _apply(plan, school=school)
        locked.status = RosterImportStatus.IMPORTED
        locked.imported_at = timezone.now()
        locked.summary = plan.summary
        locked.save(update_fields=["status", "imported_at", "summary"])
        audit_log_record(
            actor=confirmed_by,
            action="roster_import.confirm",
            target=locked,
            data={"rows": locked.row_count, "sha256": locked.sha256, **plan.summary},
        )
    return locked


def _refuse(roster_import: RosterImport, actor: User, errors: list[dict]) -> RosterImport:
    with transaction.atomic():
        RosterImport.objects.filter(
            pk=roster_import.pk, status=RosterImportStatus.PREVIEWED
        ).update(status=RosterImportStatus.REFUSED, errors=errors, summary={})
        roster_import.refresh_from_db()
        audit_log_record(
            actor=actor,
            action="roster_import.refuse",
            target=roster_import,
            data={"errors": len(errors)},
        )
    return roster_import


# ------------------------------------------------------------------------------
# Writing the plan
# ------------------------------------------------------------------------------
def _new_login(*, username: str, name: str, email: str, role: str) -> User:
    # No usable password: the login opens with a one-time code from a printed slip.
    return User(
        username=username,
        full_name=name,
        email=email,
        role=role,
        password=make_password(None),
    )


def _apply(plan: RosterPlan, *, school: School) -> None:
    today = timezone.localdate()
    created = SchoolClass.objects.bulk_create(
        SchoolClass(school=school, entry_year=year, number=number)
        for year, number in plan.new_classes
    )
    classes = dict(plan.classes)
    if created and created[0].pk is None:  # a database that does not return ids
        created = SchoolClass.objects.filter(school=school)
    classes.update({(c.entry_year, c.number): c for c in created})

    # Students: logins first, then the students with them.
    logins = User.objects.bulk_create(
        _new_login(username=row.student_number, name=row.name, email=row.email, role=Role.STUDENT)
        for row in plan.new_students
    )
    by_username = {u.username: u for u in logins}
    if logins and logins[0].pk is None:
        by_username = {
            u.username: u
            for u in User.objects.filter(username__in=[r.student_number for r in plan.new_students])
        }
    Student.objects.bulk_create(
        Student(
            user=by_username[row.student_number],
            student_number=row.student_number,
            name=row.name,
            school_class=classes[row.class_key],
            gender=row.gender,
            guardian_contact=row.guardian_contact,
        )
        for row in plan.new_students
    )
    _apply_student_changes(plan, classes)
    if plan.leaving:
        ids = [s.pk for s in plan.leaving]
        Student.objects.filter(pk__in=ids).update(left_on=today)
        User.objects.filter(student__pk__in=ids).update(is_active=False)

    # Head teachers: the assignments that move are removed first, then the new ones made.
    new_teachers = User.objects.bulk_create(
        _new_login(username=row.username, name=row.name, email=row.email, role=Role.HEAD_TEACHER)
        for row in plan.new_teachers
    )
    if new_teachers and new_teachers[0].pk is None:
        new_teachers = list(
            User.objects.filter(username__in=[r.username for r in plan.new_teachers])
        )
    teacher_of = {u.username: u for u in new_teachers}
    for change in plan.changed_teachers:
        for name, value in change.fields.items():
            setattr(change.user, name, value)
        if change.fields:
            change.user.save(update_fields=list(change.fields))
        teacher_of[change.row.username] = change.user
    moving = [*plan.new_teachers, *(c.row for c in plan.changed_teachers if c.moves)]
    TeacherAssignment.objects.filter(
        school=school,
        role=TeacherRole.HEAD_TEACHER,
    ).filter(
        # the class gets another head teacher, or the teacher heads another class now
        Q(school_class__in=[classes[row.class_key] for row in moving])
        | Q(user__in=[teacher_of[row.username] for row in moving])
    ).delete()
    TeacherAssignment.objects.bulk_create(
        TeacherAssignment(
            user=teacher_of[row.username],
            school=school,
            school_class=classes[row.class_key],
            role=TeacherRole.HEAD_TEACHER,
        )
        for row in moving
    )


def _apply_student_changes(plan: RosterPlan, classes: dict) -> None:
    changed: list[Student] = []
    fields: set[str] = set()
    emails: list[User] = []
    for change in plan.changed_students:
        student = change.student
        for name, value in change.fields.items():
            setattr(student, name, classes[value] if name == "school_class" else value)
            fields.add(name)
        if change.returns:
            student.left_on = None
            fields.add("left_on")
            if student.user_id:
                User.objects.filter(pk=student.user_id).update(is_active=True)
        if change.login_missing:
            student.user = _new_login(
                username=student.student_number,
                name=change.row.name,
                email=change.row.email,
                role=Role.STUDENT,
            )
            student.user.save()
            fields.add("user")
        elif change.email:
            student.user.email = change.email
            emails.append(student.user)
        if change.fields and "name" in change.fields and student.user_id:
            User.objects.filter(pk=student.user_id).update(full_name=change.fields["name"])
        changed.append(student)
    if changed and fields:
        Student.objects.bulk_update(changed, sorted(fields), batch_size=500)
    if emails:
        User.objects.bulk_update(emails, ["email"], batch_size=500)
