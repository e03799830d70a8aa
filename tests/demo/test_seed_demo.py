"""seed_demo builds a consistent demo world with one login per role; a second run adds nothing."""

from io import StringIO
from types import SimpleNamespace

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.db import transaction
from django.db.models import Count, F, Q
from django.utils import timezone

from bases.models import (
    Allocation,
    Application,
    ApplicationStatus,
    Attendance,
    Base,
    BaseLevel,
    BaseStatus,
    Coordinator,
    Post,
    PostStatus,
    SchoolContract,
    Session,
)
from bases.services.lottery import session_lottery_replay
from demo.data import DEMO_LOGINS, DEMO_PASSWORD
from demo.management.commands.seed_demo import model_counts
from districts.models import District, DistrictAdmin
from portal.models import AuditLog, Role, User
from students.models import (
    OrganiserLevel,
    PracticeRecord,
    PracticeRecordVersion,
    RecordedVia,
    RecordStatus,
    Reflection,
    School,
    SchoolClass,
    Student,
    TeacherAssignment,
    TeacherRole,
)
from students.progress import school_year_of

# One worker of a parallel run seeds once for the whole module (tests/conftest.py).
pytestmark = [pytest.mark.django_db, pytest.mark.long]

CUSTOM_PASSWORD = "seed-pass-4821"
SEAT_HOLDING = [ApplicationStatus.CONFIRMED, ApplicationStatus.ATTENDED, ApplicationStatus.NO_SHOW]


def _logins_accept(password: str) -> dict[str, bool]:
    return {
        username: authenticate(username=username, password=password) is not None
        for username, *_ in DEMO_LOGINS
    }


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker):
    """Seed once for the module (about 1,000 students), run it again, and roll both back."""
    with django_db_blocker.unblock(), transaction.atomic():
        first, second = StringIO(), StringIO()
        call_command("seed_demo", password=CUSTOM_PASSWORD, stdout=first)
        after_first = model_counts()
        custom_accepted = _logins_accept(CUSTOM_PASSWORD)
        call_command("seed_demo", stdout=second)
        yield SimpleNamespace(
            first_output=first.getvalue(),
            second_output=second.getvalue(),
            after_first=after_first,
            after_second=model_counts(),
            custom_accepted=custom_accepted,
        )
        transaction.set_rollback(True)


class TestSeedDemo:
    def test_it_keeps_the_16_districts_of_the_migrations(self, seeded):
        assert District.objects.count() == 16

    def test_it_creates_about_20_schools_with_three_cohorts_each(self, seeded):
        assert 18 <= School.objects.count() <= 22
        assert School.objects.values("district").distinct().count() >= 8
        today = timezone.localdate()
        school_year = today.year if today.month >= 9 else today.year - 1
        years = set(SchoolClass.objects.values_list("entry_year", flat=True))
        assert years == {school_year - 2, school_year - 1, school_year}
        cohorts = School.objects.annotate(years=Count("classes__entry_year", distinct=True))
        assert not cohorts.exclude(years=3).exists()

    def test_it_creates_about_1000_students_with_text_student_numbers(self, seeded):
        assert 950 <= Student.objects.count() <= 1050
        numbers = list(Student.objects.values_list("student_number", flat=True))
        assert all(n.startswith("G") and len(n) == 19 for n in numbers)
        assert len(set(numbers)) == len(numbers)
        assert Student.objects.values("name").distinct().count() > 500

    def test_it_creates_about_40_bases_of_every_level(self, seeded):
        assert 35 <= Base.objects.count() <= 45
        assert set(Base.objects.values_list("level", flat=True)) == set(BaseLevel.values)
        statuses = set(Base.objects.values_list("status", flat=True))
        assert {BaseStatus.CERTIFIED, BaseStatus.PENDING, BaseStatus.SUSPENDED} <= statuses
        certified = Base.objects.filter(status=BaseStatus.CERTIFIED)
        assert certified.count() >= 30
        assert not certified.filter(certified_until__lte=timezone.localdate()).exists()
        school_bases = Base.objects.filter(level=BaseLevel.SCHOOL)
        assert not school_bases.exclude(pk__in=SchoolContract.objects.values("base")).exists()

    def test_it_creates_posts_mostly_published(self, seeded):
        statuses = list(Post.objects.values_list("status", flat=True))
        assert len(statuses) >= 60
        assert {PostStatus.PUBLISHED, PostStatus.IN_REVIEW, PostStatus.DRAFT} <= set(statuses)
        assert statuses.count(PostStatus.PUBLISHED) > len(statuses) / 2
        titles = set(Post.objects.values_list("title", flat=True))
        assert {"图书管理员", "医院分诊引导", "艺术馆参观礼仪督导", "社区垃圾分类指导"} <= titles
        assert not Post.objects.filter(
            status=PostStatus.PUBLISHED, base__status=BaseStatus.PENDING
        ).exists()

    def test_every_post_in_review_is_one_post_submit_would_have_accepted(self, seeded):
        in_review = Post.objects.filter(status=PostStatus.IN_REVIEW).select_related("base")
        assert in_review.exists()
        for post in in_review:
            assert post.base.status == BaseStatus.CERTIFIED, post.title
            assert post.base.certified_until >= timezone.localdate()
            sessions = post.sessions.all()
            assert sessions.exists(), f"{post.base.code} {post.title} has no sessions"
            # Not yet published: its sessions are still to come and nobody has applied.
            assert not sessions.filter(applications_close_at__lte=timezone.now()).exists()
            assert not sessions.filter(lottery_drawn_at__isnull=False).exists()
            assert not Application.objects.filter(session__post=post).exists()

    def test_it_creates_past_and_future_sessions_of_both_allocations(self, seeded):
        now = timezone.now()
        assert Session.objects.filter(ends_at__lt=now).count() >= 100
        assert Session.objects.filter(starts_at__gt=now).count() >= 100
        assert set(Session.objects.values_list("allocation", flat=True)) == set(Allocation.values)
        for starts_at, ends_at in Session.objects.values_list("starts_at", "ends_at"):
            local = timezone.localtime(starts_at)
            assert (local.hour, local.minute) in {(9, 0), (13, 30)}
            assert ends_at - starts_at == timezone.timedelta(hours=3)
        assert Session.objects.filter(
            allocation=Allocation.LOTTERY, lottery_seed__isnull=False
        ).exists()

    def test_seats_taken_match_the_applications_holding_a_seat(self, seeded):
        sessions = Session.objects.annotate(
            holding=Count("applications", filter=Q(applications__status__in=SEAT_HOLDING)),
            confirmed=Count(
                "applications", filter=Q(applications__status=ApplicationStatus.CONFIRMED)
            ),
        )
        assert not sessions.exclude(taken=F("holding")).exists()
        assert not sessions.filter(taken__gt=F("capacity")).exists()
        # Before a session is held, every seat taken is a confirmed application.
        upcoming = sessions.filter(starts_at__gt=timezone.now())
        assert not upcoming.exclude(taken=F("confirmed")).exists()
        statuses = set(Application.objects.values_list("status", flat=True))
        assert {
            ApplicationStatus.CONFIRMED,
            ApplicationStatus.WAITLISTED,
            ApplicationStatus.PENDING,
        } <= statuses

    def test_a_drawn_lottery_replays_to_the_stored_order(self, seeded):
        drawn = Session.objects.filter(lottery_seed__isnull=False)[:10]
        assert drawn
        for session in drawn:
            stored = list(
                session.applications.filter(draw_position__isnull=False)
                .order_by("draw_position")
                .values_list("pk", flat=True)
            )
            assert session_lottery_replay(session=session) == stored

    def test_every_attendance_is_in_the_ledger_through_its_source_ref(self, seeded):
        attendance_ids = set(Attendance.objects.values_list("pk", flat=True))
        assert len(attendance_ids) >= 1000
        refs = set(
            PracticeRecord.objects.filter(source_ref__startswith="attendance:").values_list(
                "source_ref", flat=True
            )
        )
        assert refs == {f"attendance:{pk}" for pk in attendance_ids}
        assert not Attendance.objects.filter(session__attendance_closed_at__isnull=True).exists()

    def test_records_were_written_by_the_ledger_service(self, seeded):
        records = PracticeRecord.objects.count()
        assert PracticeRecordVersion.objects.count() == records
        assert AuditLog.objects.filter(action="record.create").count() == records
        school = PracticeRecord.objects.filter(recorded_via=RecordedVia.SCHOOL)
        assert school.filter(category__code="military_training").exists()
        assert school.filter(category__code="rural_practice").exists()
        assert not school.exclude(organiser_level=OrganiserLevel.SCHOOL_OWN).exists()
        statuses = set(PracticeRecord.objects.values_list("status", flat=True))
        assert {RecordStatus.FINAL, RecordStatus.IN_NOTICE} <= statuses
        assert not PracticeRecord.objects.filter(
            status=RecordStatus.FINAL, notice_ends_on__gte=timezone.localdate()
        ).exists()

    def test_the_demo_guardian_has_the_demo_student_and_a_consent_to_give(self, seeded):
        from students.guardians import children_of
        from students.selectors import student_list_for_user

        guardian = User.objects.get(username="guardian")
        student = User.objects.get(username="student").student
        assert list(children_of(guardian=guardian)) == [student]
        assert list(student_list_for_user(user=guardian)) == [student]
        assert Application.objects.filter(
            student=student, status=ApplicationStatus.AWAITING_CONSENT
        ).exists()

    def test_each_demo_login_has_its_role(self, seeded):
        roles = dict(User.objects.values_list("username", "role"))
        assert {username: roles.get(username) for username, *_ in DEMO_LOGINS} == {
            "student": Role.STUDENT,
            "coordinator": Role.COORDINATOR,
            "teacher": Role.HEAD_TEACHER,
            "school_admin": Role.SCHOOL_ADMIN,
            "district_admin": Role.DISTRICT_ADMIN,
            "city_admin": Role.CITY_ADMIN,
            "guardian": Role.GUARDIAN,
        }
        assert all(User.objects.get(username=username).full_name for username, *_ in DEMO_LOGINS)
        city_admin = User.objects.get(username="city_admin")
        assert city_admin.is_staff and city_admin.is_superuser

    def test_the_demo_scopes_fit_together(self, seeded):
        student = Student.objects.select_related("school_class__school").get(
            user__username="student"
        )
        school = student.school_class.school
        head = TeacherAssignment.objects.get(
            user__username="teacher", role=TeacherRole.HEAD_TEACHER
        )
        assert head.school_class == student.school_class
        assert student in head.school_class.students.all()
        assert TeacherAssignment.objects.filter(
            user__username="school_admin", school=school, role=TeacherRole.SCHOOL_ADMIN
        ).exists()
        assert DistrictAdmin.objects.get(user__username="district_admin").district_id == (
            school.district_id
        )
        base = Coordinator.objects.get(user__username="coordinator").base
        assert base.status == BaseStatus.CERTIFIED
        assert Session.objects.filter(post__base=base, starts_at__gt=timezone.now()).exists()
        assert Session.objects.filter(post__base=base, ends_at__lt=timezone.now()).exists()

    def test_the_demo_student_has_visible_progress_and_upcoming_seats(self, seeded):
        student = Student.objects.get(user__username="student")
        records = student.records.all()
        assert records.filter(status=RecordStatus.FINAL).count() >= 5
        assert records.filter(status=RecordStatus.IN_NOTICE).exists()
        assert records.filter(category__counts_as_volunteer_service=True).exists()
        upcoming = student.applications.filter(session__starts_at__gt=timezone.now())
        statuses = set(upcoming.values_list("status", flat=True))
        assert {ApplicationStatus.CONFIRMED, ApplicationStatus.WAITLISTED} <= statuses

    def test_the_demo_student_has_a_typical_case_with_a_photo_and_a_reflection_in_notice(
        self, seeded
    ):
        reflections = Reflection.objects.filter(record__student__user__username="student")
        typical = reflections.get(is_typical=True)
        assert typical.typical_marked_by.username == "teacher"
        assert typical.photos.count() == 1 and typical.comments.count() == 1
        assert reflections.filter(is_typical=False).count() == 1

    def test_the_demo_shows_a_students_reliability_and_a_bases_figures(self, seeded):
        from bases.base_review import base_figures
        from bases.reliability import student_reliability
        from demo.data import DEMO_BASE_CODE

        student = Student.objects.get(user__username="student")
        reliability = student_reliability(student_id=student.pk)
        assert {e.kind for e in reliability.events} == {"no_show", "late_cancel"}
        assert 0 < reliability.score < 100 and reliability.hold is None
        base = Base.objects.filter(code=DEMO_BASE_CODE)
        year = school_year_of(timezone.localdate())
        _rules, [figures] = base_figures(bases=base, year=year, active_only=False)
        assert figures.recorded_on_time < figures.sessions_due
        assert figures.cancelled == 2 and figures.cancelled_late == 1
        assert figures.seats_settled > 0

    def test_a_second_run_creates_nothing(self, seeded):
        assert seeded.after_second == seeded.after_first
        assert "Created 0 rows" in seeded.second_output
        assert "students.Student" in seeded.first_output

    def test_the_password_option_sets_every_demo_password(self, seeded):
        assert all(seeded.custom_accepted.values())
        # The second run, without --password, set the default again.
        assert all(_logins_accept(DEMO_PASSWORD).values())
        assert not any(_logins_accept(CUSTOM_PASSWORD).values())


class TestSafetyGuards:
    def test_posts_show_kinds_briefings_consents_and_a_wait_for_consent(self, seeded):
        from bases.models import GuardianConsent, Post

        assert Post.objects.filter(overnight=True).exists()
        assert Post.objects.exclude(safety_briefing="").exists()
        assert GuardianConsent.objects.exists()
        student = Student.objects.get(user__username="student")
        assert student.applications.filter(status=ApplicationStatus.AWAITING_CONSENT).exists()

    def test_the_demo_student_has_minutes_held_for_review(self, seeded):
        student = Student.objects.get(user__username="student")
        assert student.records.filter(held_minutes__gt=0).exists()

    def test_every_seat_on_a_consent_post_has_a_consent(self, seeded):
        from bases.models import GuardianConsent

        seated = Application.objects.filter(
            session__post__in=GuardianConsent.objects.values("post"),
            status__in=[ApplicationStatus.CONFIRMED, ApplicationStatus.ATTENDED],
        )
        for application in seated[:200]:
            assert GuardianConsent.objects.filter(
                student=application.student, post=application.session.post
            ).exists()
