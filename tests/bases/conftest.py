"""Personas and helpers for the bases tests: a certified base with its coordinator, an open
session, students of the right grade, and the seat count every change must keep."""

from datetime import date, datetime, timedelta

import pytest
from django.db.models import Q, Sum
from django.utils import timezone

from bases.models import Application, ApplicationStatus, ClassReservation, Post, Session
from portal.celery import app as celery_app
from portal.models import Role
from students.models import (
    OrganiserLevel,
    PracticeRecord,
    RecordedVia,
    RecordStatus,
    SchoolClass,
    Student,
)
from tests.factories import (
    BaseFactory,
    CoordinatorFactory,
    PostFactory,
    SchoolClassFactory,
    SchoolFactory,
    SessionFactory,
    StudentFactory,
    UserFactory,
    category,
    district,
)
from tests.personas import owner_of

XUHUI = "310104"
HUANGPU = "310101"


def entry_year_for_grade(grade: int, day: date) -> int:
    """The entry year (届) of a class that is in `grade` on `day` (school years start 1 Sept)."""
    school_year = day.year if day.month >= 9 else day.year - 1
    return school_year - grade + 1


def in_days(days: int, hour: int = 9) -> datetime:
    """A Shanghai wall-clock time `days` from today, on the hour."""
    return (timezone.localtime() + timedelta(days=days)).replace(
        hour=hour, minute=0, second=0, microsecond=0
    )


def expected_taken(session: Session) -> int:
    """Seats a session must count: confirmed applications not covered by a held class
    reservation, plus the seats every held (unreleased) reservation keeps."""
    held = ClassReservation.objects.filter(session=session, released_at__isnull=True)
    confirmed = (
        Application.objects.filter(session=session, status=ApplicationStatus.CONFIRMED)
        .filter(Q(reservation__isnull=True) | Q(reservation__released_at__isnull=False))
        .count()
    )
    return confirmed + (held.aggregate(seats=Sum("seats"))["seats"] or 0)


@pytest.fixture
def assert_seats_consistent():
    """Check `Session.taken` against the applications and reservations actually held."""

    def check(session: Session) -> int:
        session.refresh_from_db()
        assert session.taken == expected_taken(session)
        assert 0 <= session.taken <= session.capacity
        return session.taken

    return check


@pytest.fixture
def coordinator():
    """A coordinator of a certified district-level base in Xuhui."""
    return CoordinatorFactory(base=BaseFactory(district=district(XUHUI)))


@pytest.fixture
def district_admin():
    return owner_of(district(XUHUI))


@pytest.fixture
def other_district_admin():
    return owner_of(district(HUANGPU))


@pytest.fixture
def city_admin():
    return UserFactory(role=Role.CITY_ADMIN)


@pytest.fixture
def make_session():
    """A published post's session in a week, 09:00-12:00, window open now, cut-off a day before."""

    def make(post: Post | None = None, **fields) -> Session:
        starts_at = fields.pop("starts_at", in_days(7))
        values = {
            "starts_at": starts_at,
            "ends_at": starts_at + timedelta(hours=3),
            "capacity": 30,
            "applications_open_at": timezone.now() - timedelta(days=1),
            "applications_close_at": starts_at - timedelta(hours=12),
            "cancel_cutoff_at": starts_at - timedelta(days=1),
        }
        values.update(fields)
        if post is None:
            post = PostFactory(base=BaseFactory(district=district(XUHUI)))
        return SessionFactory(post=post, **values)

    return make


@pytest.fixture
def session(make_session):
    return make_session()


@pytest.fixture
def school_class():
    """A grade-1 class (in the week the sessions take place) of a Xuhui school."""
    return SchoolClassFactory(
        school=SchoolFactory(district=district(XUHUI)),
        entry_year=entry_year_for_grade(1, in_days(7).date()),
    )


@pytest.fixture
def make_student(school_class):
    """A student with a user account and an e-mail address, in `school_class` by default."""

    def make(**fields) -> Student:
        fields.setdefault("school_class", school_class)
        return StudentFactory(**fields)

    return make


@pytest.fixture
def student(make_student):
    return make_student()


@pytest.fixture
def head_teacher(school_class):
    return owner_of(school_class)


@pytest.fixture
def credit_volunteer_minutes():
    """Give a student credited volunteer-service minutes in the ledger (a final record)."""

    def credit(student: Student, minutes: int) -> PracticeRecord:
        started_at = timezone.now() - timedelta(days=30)
        return PracticeRecord.objects.create(
            student=student,
            source_ref=f"test:volunteer:{student.pk}:{minutes}",
            category=category("volunteer_service"),
            title="社区志愿服务",
            organiser_name="社区服务中心",
            organiser_level=OrganiserLevel.OTHER,
            started_at=started_at,
            ended_at=started_at + timedelta(minutes=minutes),
            credited_minutes=minutes,
            recorded_via=RecordedVia.TRANSFER,
            status=RecordStatus.FINAL,
            confirmed_at=timezone.now(),
        )

    return credit


@pytest.fixture
def eager_celery():
    """Run Celery tasks in-process when queued, so an e-mail queued on commit is really sent."""
    before = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = before


def bulk_students(*, count: int, school_class: SchoolClass, prefix: str) -> list[Student]:
    """Many students without user accounts, in one INSERT (the factories are slow for hundreds)."""
    Student.objects.bulk_create(
        Student(
            student_number=f"{prefix}{n:06d}",
            name=f"学生{n}",
            school_class=school_class,
            personal_code=f"P{prefix}{n:06d}",
        )
        for n in range(count)
    )
    return list(
        Student.objects.filter(student_number__startswith=prefix).order_by("student_number")
    )


@pytest.fixture
def make_students(school_class):
    def make(count: int, prefix: str = "GB") -> list[Student]:
        return bulk_students(count=count, school_class=school_class, prefix=prefix)

    return make


@pytest.fixture
def credit_progress():
    """Give a student `days` distinct practice days (one record a day at 08:00, Shanghai, on the
    days before today), `volunteer_minutes` of them volunteer service spread over those days."""

    def credit(student: Student, *, volunteer_minutes: int = 0, days: int = 0) -> None:
        assert days or not volunteer_minutes, "volunteer minutes need at least one day"
        today = timezone.localtime().replace(hour=8, minute=0, second=0, microsecond=0)
        each, extra = divmod(volunteer_minutes, days) if days else (0, 0)
        records = []
        for n in range(days):
            minutes = each + (extra if n == 0 else 0)
            volunteer = minutes > 0
            started_at = today - timedelta(days=n + 1)
            minutes = minutes or 60
            records.append(
                PracticeRecord(
                    student=student,
                    source_ref=f"test:progress:{student.pk}:{n}",
                    category=category("volunteer_service" if volunteer else "social_investigation"),
                    title="社区志愿服务" if volunteer else "社会考察",
                    organiser_name="社区服务中心",
                    organiser_level=OrganiserLevel.OTHER,
                    started_at=started_at,
                    ended_at=started_at + timedelta(minutes=minutes),
                    credited_minutes=minutes,
                    recorded_via=RecordedVia.TRANSFER,
                    status=RecordStatus.FINAL,
                    confirmed_at=timezone.now(),
                )
            )
        PracticeRecord.objects.bulk_create(records)

    return credit


@pytest.fixture
def make_no_show(make_session):
    """A past session, closed, on which the student was confirmed and did not come."""

    def make(student: Student, *, days_ago: int, **fields) -> Application:
        starts_at = in_days(-days_ago)
        session = make_session(
            starts_at=starts_at,
            applications_open_at=starts_at - timedelta(days=10),
            applications_close_at=starts_at - timedelta(days=1),
            cancel_cutoff_at=starts_at - timedelta(days=1),
            attendance_closed_at=starts_at + timedelta(hours=4),
            **fields,
        )
        return Application.objects.create(
            student=student, session=session, status=ApplicationStatus.NO_SHOW
        )

    return make
