"""Login slips (登录凭条): one per person, with a one-time activation code, printed per class.

Printing a class's slips issues fresh codes (`portal.activation.activation_codes_issue`) for
its students and head teacher whose login is not activated yet, which invalidates their older
unused codes: the printed PDF is the only place a code appears in clear. A head teacher's reset
of one student (`student_login_reset`) issues one new code the same way.
"""

from dataclasses import dataclass

from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language

from districts.models import District, DistrictAdmin
from portal.activation import (
    ACTIVATION_CODE_DAYS,
    activation_codes_issue,
    login_reset,
    user_is_activated,
)
from portal.models import User

from .guardians import guardian_codes_issue
from .models import Guardianship, School, SchoolClass, Student, TeacherAssignment, TeacherRole
from .pdf import html_to_pdf


@dataclass
class Slip:
    name: str
    username: str
    code: str
    kind: str  # "student", "teacher", "school_admin", "district_admin" or "guardian"


def class_logins_pending(*, school_class: SchoolClass) -> tuple[list[Student], list[User]]:
    """The class's students (not left) and head teacher whose login is not activated yet."""
    students = [
        s
        for s in Student.objects.filter(
            school_class=school_class, left_on__isnull=True, user__isnull=False
        )
        .select_related("user")
        .order_by("student_number")
        if not user_is_activated(s.user)
    ]
    teachers = [
        a.user
        for a in TeacherAssignment.objects.filter(
            school_class=school_class, role=TeacherRole.HEAD_TEACHER
        ).select_related("user")
        if not user_is_activated(a.user)
    ]
    return students, teachers


def class_login_slips_issue(*, school_class: SchoolClass, issued_by: User) -> list[Slip]:
    """Fresh codes for everyone of the class not yet activated, as slips (teacher first)."""
    students, teachers = class_logins_pending(school_class=school_class)
    codes = activation_codes_issue(
        users=[*teachers, *(s.user for s in students)], issued_by=issued_by
    )
    return [
        *(Slip(t.get_full_name(), t.username, codes[t.pk], "teacher") for t in teachers),
        *(Slip(s.name, s.user.username, codes[s.user.pk], "student") for s in students),
    ]


def class_guardian_slips_issue(*, school_class: SchoolClass, issued_by: User) -> list[Slip]:
    """Guardian slips for the class's students (not left) with no guardian linked yet: a fresh
    one-time guardian code each (`students.guardians`), with the child's 学籍号 to type."""
    students = list(
        Student.objects.filter(school_class=school_class, left_on__isnull=True)
        .exclude(pk__in=Guardianship.objects.filter(ended_at__isnull=True).values("student_id"))
        .order_by("student_number")
    )
    codes = guardian_codes_issue(students=students, issued_by=issued_by)
    return [Slip(s.name, s.student_number, codes[s.pk], "guardian") for s in students]


def student_login_reset(*, student: Student, reset_by: User) -> Slip:
    """A head teacher's reset of one student's login: a new one-time code, shown once."""
    code = login_reset(user=student.user, reset_by=reset_by)
    return Slip(student.name, student.user.username, code, "student")


def staff_login_slips_issue(
    *, people: list[tuple[str, User]], issued_by: User, kind: str
) -> list[Slip]:
    """Fresh codes for the admins (each named with their school or district) not activated."""
    pending = [(where, user) for where, user in people if not user_is_activated(user)]
    codes = activation_codes_issue(users=[user for _, user in pending], issued_by=issued_by)
    return [
        Slip(f"{user.get_full_name()} · {where}", user.username, codes[user.pk], kind)
        for where, user in pending
    ]


def staff_login_reset(*, user: User, where: str, reset_by: User, kind: str) -> Slip:
    code = login_reset(user=user, reset_by=reset_by)
    return Slip(f"{user.get_full_name()} · {where}", user.username, code, kind)


def school_admins_of_district(*, district: District) -> list[tuple[School, User]]:
    """The district's schools' admins, school by school (the district admin onboards them)."""
    return [
        (a.school, a.user)
        for a in TeacherAssignment.objects.filter(
            school__district=district, role=TeacherRole.SCHOOL_ADMIN, user__is_active=True
        )
        .select_related("school", "user")
        .order_by("school__code", "user__username")
    ]


def district_admins() -> list[tuple[District, User]]:
    """Every district's admins (the city admin onboards them)."""
    return [
        (a.district, a.user)
        for a in DistrictAdmin.objects.filter(user__is_active=True)
        .select_related("district", "user")
        .order_by("district__sort_order", "user__username")
    ]


def render_login_slips_pdf(slips: list[Slip], *, title: str, site_url: str) -> bytes:
    html = render_to_string(
        "students/login_slips_pdf.html",
        {
            "slips": slips,
            "title": title,
            "activate_url": site_url.rstrip("/") + reverse("activate"),
            "guardian_url": site_url.rstrip("/") + reverse("students:guardian-sign-up"),
            "login_url": site_url.rstrip("/") + reverse("login"),
            "days": ACTIVATION_CODE_DAYS,
            "printed": timezone.localtime(),
            "LANGUAGE_CODE": get_language(),
        },
    )
    return html_to_pdf(html)
