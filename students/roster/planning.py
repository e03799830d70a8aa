"""What a checked roster changes: classes, students and head teachers to create or change,
students to mark as left. Pure reading: a handful of queries whatever the sheet's length."""

from dataclasses import dataclass, field

from django.db.models import Q

from portal.messages import Message
from portal.models import Role, User

from ..messages import (
    ROSTER_DUPLICATE_NUMBER,
    ROSTER_DUPLICATE_USERNAME,
    ROSTER_NUMBER_IS_USERNAME,
    ROSTER_OTHER_SCHOOL,
    ROSTER_TWO_HEAD_TEACHERS,
    ROSTER_USERNAME_TAKEN,
)
from ..models import School, SchoolClass, Student, TeacherAssignment, TeacherRole
from .reading import STUDENT, TEACHER, RosterRow, RowError

STUDENT_FIELDS = ("name", "school_class", "gender", "guardian_contact")


@dataclass
class StudentChange:
    row: RosterRow
    student: Student
    fields: dict  # field -> new value
    email: str = ""  # a new address for the login, if the sheet gives one
    returns: bool = False  # marked as left before, named again now
    login_missing: bool = False  # a student without a login gets one


@dataclass
class TeacherChange:
    row: RosterRow
    user: User
    fields: dict
    moves: bool  # becomes the head teacher of the row's class


@dataclass
class RosterPlan:
    errors: list[RowError] = field(default_factory=list)
    new_classes: list[tuple[int, int]] = field(default_factory=list)
    new_students: list[RosterRow] = field(default_factory=list)
    changed_students: list[StudentChange] = field(default_factory=list)
    leaving: list[Student] = field(default_factory=list)
    new_teachers: list[RosterRow] = field(default_factory=list)
    changed_teachers: list[TeacherChange] = field(default_factory=list)
    unchanged: int = 0
    classes: dict = field(default_factory=dict)  # (entry year, number) -> SchoolClass

    @property
    def summary(self) -> dict:
        return {
            "classes_created": len(self.new_classes),
            "students_created": len(self.new_students),
            "students_changed": sum(1 for c in self.changed_students if not c.returns),
            "students_returned": sum(1 for c in self.changed_students if c.returns),
            "students_left": len(self.leaving),
            "teachers_created": len(self.new_teachers),
            "teachers_changed": len(self.changed_teachers),
            "logins_created": len(self.new_students)
            + len(self.new_teachers)
            + sum(1 for c in self.changed_students if c.login_missing),
            "unchanged": self.unchanged,
        }

    @property
    def changes_nothing(self) -> bool:
        summary = self.summary
        return not any(v for k, v in summary.items() if k != "unchanged")


def _error(row: RosterRow, column: str, code: str, message: Message, value: str = "") -> RowError:
    return RowError(row.number, column, code, message, value)


def roster_plan(*, school: School, rows: list[RosterRow]) -> RosterPlan:
    """Every row's problems, or the changes the sheet makes to the school."""
    plan = RosterPlan()
    for row in rows:
        plan.errors.extend(row.errors)
    good = [row for row in rows if not row.errors]
    students = [row for row in good if row.kind == STUDENT]
    teachers = [row for row in good if row.kind == TEACHER]

    plan.classes = {(c.entry_year, c.number): c for c in SchoolClass.objects.filter(school=school)}
    plan.new_classes = sorted({row.class_key for row in good} - set(plan.classes))

    numbers = [row.student_number for row in students]
    usernames = [row.username for row in teachers]
    existing = {
        s.student_number: s
        for s in Student.objects.filter(student_number__in=numbers).select_related(
            "user", "school_class"
        )
    }
    users = {u.username: u for u in User.objects.filter(username__in=[*numbers, *usernames])}
    heads = {
        a.school_class_id: a
        for a in TeacherAssignment.objects.filter(
            school=school, role=TeacherRole.HEAD_TEACHER
        ).select_related("user")
    }
    head_of_user = {a.user_id: a for a in heads.values()}
    other_schools = set(
        TeacherAssignment.objects.filter(user__username__in=usernames)
        .filter(~Q(school=school))
        .values_list("user__username", flat=True)
    )

    seen_numbers: dict[str, int] = {}
    seen_usernames: dict[str, int] = {}
    for row in students:
        first = seen_numbers.setdefault(row.student_number, row.number)
        if first != row.number:
            plan.errors.append(
                _error(row, "student_number", "duplicate",
                       ROSTER_DUPLICATE_NUMBER(row=first),
                       row.student_number)
            )  # fmt: skip
            continue
        _plan_student(plan, school, row, existing.get(row.student_number), users)
    class_teacher: dict[tuple[int, int], int] = {}
    for row in teachers:
        first = seen_usernames.setdefault(row.username, row.number)
        if first != row.number:
            plan.errors.append(
                _error(row, "username", "duplicate",
                       ROSTER_DUPLICATE_USERNAME(row=first),
                       row.username)
            )  # fmt: skip
            continue
        first = class_teacher.setdefault(row.class_key, row.number)
        if first != row.number:
            plan.errors.append(
                _error(row, "class_number", "two_head_teachers",
                       ROSTER_TWO_HEAD_TEACHERS(row=first),
                       str(row.class_number))
            )  # fmt: skip
            continue
        _plan_teacher(plan, row, users.get(row.username), heads, head_of_user, other_schools)

    named = {row.student_number for row in students}
    if students and not plan.errors:
        plan.leaving = list(
            Student.objects.filter(school_class__school=school, left_on__isnull=True)
            .exclude(student_number__in=named)
            .select_related("user")
            .order_by("school_class__entry_year", "school_class__number", "student_number")
        )
    return plan


def _plan_student(
    plan: RosterPlan, school: School, row: RosterRow, student: Student | None, users: dict
) -> None:
    if student is None:
        if row.student_number in users:
            plan.errors.append(
                _error(row, "student_number", "username_taken",
                       ROSTER_NUMBER_IS_USERNAME(),
                       row.student_number)
            )  # fmt: skip
            return
        plan.new_students.append(row)
        return
    if student.school_class.school_id != school.pk:
        plan.errors.append(
            _error(row, "student_number", "other_school",
                   ROSTER_OTHER_SCHOOL(),
                   row.student_number)
        )  # fmt: skip
        return
    if student.user_id is None and row.student_number in users:
        plan.errors.append(
            _error(row, "student_number", "username_taken",
                   ROSTER_NUMBER_IS_USERNAME(),
                   row.student_number)
        )  # fmt: skip
        return
    school_class = plan.classes.get(row.class_key)
    wanted = {
        "name": row.name,
        "school_class": school_class,
        "gender": row.gender,
        "guardian_contact": row.guardian_contact,
    }
    changes = {}
    for name, value in wanted.items():
        current = getattr(student, name)
        if name == "school_class":
            if school_class is None or current.pk != school_class.pk:
                changes[name] = row.class_key  # resolved once new classes exist
        elif current != value:
            changes[name] = value
    email = row.email if student.user and row.email and student.user.email != row.email else ""
    returns = student.left_on is not None
    login_missing = student.user_id is None
    if changes or email or returns or login_missing:
        plan.changed_students.append(
            StudentChange(
                row, student, changes, email, returns=returns, login_missing=login_missing
            )
        )
    else:
        plan.unchanged += 1


def _plan_teacher(
    plan: RosterPlan,
    row: RosterRow,
    user: User | None,
    heads: dict,
    head_of_user: dict,
    other_schools: set,
) -> None:
    if user is None:
        plan.new_teachers.append(row)
        return
    if user.role != Role.HEAD_TEACHER or row.username in other_schools:
        plan.errors.append(
            _error(row, "username", "username_taken",
                   ROSTER_USERNAME_TAKEN(),
                   row.username)
        )  # fmt: skip
        return
    school_class = plan.classes.get(row.class_key)
    current = head_of_user.get(user.pk)
    moves = school_class is None or current is None or current.school_class_id != school_class.pk
    fields = {}
    if user.full_name != row.name:
        fields["full_name"] = row.name
    if row.email and user.email != row.email:
        fields["email"] = row.email
    if not user.is_active:
        fields["is_active"] = True
    if fields or moves:
        plan.changed_teachers.append(TeacherChange(row, user, fields, moves))
    else:
        plan.unchanged += 1
