"""Factories for the whole domain; each builds a consistent object graph with few arguments."""

from datetime import timedelta

import factory
from django.utils import timezone

from bases.models import (
    Allocation,
    Application,
    ApplicationStatus,
    Base,
    BaseLevel,
    BaseStatus,
    Coordinator,
    Post,
    PostStatus,
    SchoolContract,
    Session,
)
from districts.models import District, DistrictAdmin
from portal.models import Role, User
from students.models import Category, School, SchoolClass, Student, TeacherAssignment, TeacherRole

PASSWORD = "pass12345"


def district(code: str = "310104") -> District:
    """The seeded Shanghai district with this code (migrations create all 16)."""
    return District.objects.get(code=code)


def category(code: str = "volunteer_service") -> Category:
    return Category.objects.get(code=code)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    full_name = factory.Sequence(lambda n: f"用户{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    password = factory.django.Password(PASSWORD)
    role = ""


class SchoolFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = School

    code = factory.Sequence(lambda n: f"S{n:05d}")
    name = factory.Sequence(lambda n: f"上海市第{n}中学")
    district = factory.LazyFunction(district)


class SchoolClassFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SchoolClass

    school = factory.SubFactory(SchoolFactory)
    entry_year = 2025
    number = factory.Sequence(lambda n: n % 99 + 1)


class StudentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Student

    student_number = factory.Sequence(lambda n: f"G31010420090101{n:04d}")
    name = factory.Sequence(lambda n: f"学生{n}号")
    school_class = factory.SubFactory(SchoolClassFactory)
    user = factory.SubFactory(UserFactory, role=Role.STUDENT)


class HeadTeacherFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TeacherAssignment

    user = factory.SubFactory(UserFactory, role=Role.HEAD_TEACHER)
    school_class = factory.SubFactory(SchoolClassFactory)
    school = factory.LazyAttribute(lambda a: a.school_class.school)
    role = TeacherRole.HEAD_TEACHER


class SchoolAdminFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TeacherAssignment

    user = factory.SubFactory(UserFactory, role=Role.SCHOOL_ADMIN)
    school = factory.SubFactory(SchoolFactory)
    school_class = None
    role = TeacherRole.SCHOOL_ADMIN


class DistrictAdminFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DistrictAdmin

    user = factory.SubFactory(UserFactory, role=Role.DISTRICT_ADMIN)
    district = factory.LazyFunction(district)


class BaseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Base

    code = factory.Sequence(lambda n: f"B{n:05d}")
    name = factory.Sequence(lambda n: f"第{n}实践基地")
    level = BaseLevel.DISTRICT
    district = factory.LazyFunction(district)
    status = BaseStatus.CERTIFIED
    certified_until = factory.LazyFunction(lambda: timezone.localdate() + timedelta(days=365))
    certified_at = factory.LazyFunction(timezone.now)


class SchoolContractFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SchoolContract

    base = factory.SubFactory(BaseFactory, level=BaseLevel.SCHOOL)
    school = factory.SubFactory(SchoolFactory)
    valid_until = factory.LazyFunction(lambda: timezone.localdate() + timedelta(days=365))


class CoordinatorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Coordinator

    user = factory.SubFactory(UserFactory, role=Role.COORDINATOR)
    base = factory.SubFactory(BaseFactory)


class PostFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Post

    base = factory.SubFactory(BaseFactory)
    title = "图书管理员"
    category = factory.LazyFunction(category)
    description = "协助整理图书、引导读者。"
    place = "馆内一楼服务台"
    status = PostStatus.PUBLISHED


class SessionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Session

    post = factory.SubFactory(PostFactory)
    starts_at = factory.LazyFunction(
        lambda: (timezone.localtime() + timedelta(days=7)).replace(
            hour=9, minute=0, second=0, microsecond=0
        )
    )
    ends_at = factory.LazyAttribute(lambda s: s.starts_at + timedelta(hours=3))
    capacity = 30
    taken = 0
    allocation = Allocation.FIRST_COME
    # Open since yesterday at the latest, and always before the window closes (whatever the hour).
    applications_open_at = factory.LazyAttribute(
        lambda s: min(timezone.now() - timedelta(days=1), s.starts_at - timedelta(days=14))
    )
    applications_close_at = factory.LazyAttribute(lambda s: s.starts_at - timedelta(hours=12))


def session_ran_this_morning(*, taken: int = 0) -> Session:
    """A three-hour session that started five hours ago, applications closed the day before."""
    start = (timezone.localtime() - timedelta(hours=5)).replace(second=0, microsecond=0)
    return SessionFactory(
        starts_at=start,
        ends_at=start + timedelta(hours=3),
        applications_open_at=start - timedelta(days=10),
        applications_close_at=start - timedelta(days=1),
        taken=taken,
    )


class ApplicationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Application

    student = factory.SubFactory(StudentFactory)
    session = factory.SubFactory(SessionFactory)
    status = ApplicationStatus.CONFIRMED


def guardian_for(*students, username: str = "", password: str = "Pa55-guardian-word"):
    """A guardian who signed up with the first student's code and linked the others with theirs."""
    from students.guardians import (
        guardian_code_check,
        guardian_codes_issue,
        guardian_link,
        guardian_sign_up,
    )

    codes = guardian_codes_issue(students=students, issued_by=None)
    first, *others = students
    link = guardian_sign_up(
        code=guardian_code_check(student_number=first.student_number, code=codes[first.pk]),
        username=username or f"parent-{first.student_number}",
        full_name=f"{first.name}家长",
        password=password,
    )
    for student in others:
        guardian_link(
            code=guardian_code_check(student_number=student.student_number, code=codes[student.pk]),
            guardian=link.guardian,
        )
    return link.guardian
