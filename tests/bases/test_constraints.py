from datetime import timedelta

import pytest
from django.utils import timezone

from bases.models import (
    Application,
    ApplicationStatus,
    Attendance,
    AttendanceScan,
    Base,
    BaseLevel,
    BaseStatus,
    ClassReservation,
    Coordinator,
    Post,
    ScanKind,
    SchoolContract,
    Session,
)
from students.models import RecordedVia
from tests.constraint_helpers import refused
from tests.factories import (
    ApplicationFactory,
    BaseFactory,
    CoordinatorFactory,
    PostFactory,
    SchoolClassFactory,
    SchoolContractFactory,
    SchoolFactory,
    SessionFactory,
    StudentFactory,
    UserFactory,
    district,
)

pytestmark = pytest.mark.django_db

LIVE = [
    ApplicationStatus.PENDING,
    ApplicationStatus.CONFIRMED,
    ApplicationStatus.WAITLISTED,
    ApplicationStatus.ATTENDED,
    ApplicationStatus.NO_SHOW,
]
ENDED = [ApplicationStatus.CANCELLED, ApplicationStatus.REJECTED]


def _base(**overrides) -> Base:
    values = {"code": "B-0001", "name": "徐汇区图书馆", "level": BaseLevel.DISTRICT}
    return Base.objects.create(district=district(), **{**values, **overrides})


class TestChoiceFields:
    def test_it_refuses_an_unknown_base_level_or_status(self):
        with refused(Base, "base_level_valid"):
            _base(level="national")
        with refused(Base, "base_status_valid"):
            _base(status="approved")
        assert _base(level=BaseLevel.PROJECT, status=BaseStatus.SUSPENDED).pk

    def test_it_refuses_an_unknown_post_status(self):
        post = PostFactory()
        with refused(Post, "post_status_valid"):
            Post.objects.filter(pk=post.pk).update(status="archived")
        assert Post.objects.filter(pk=post.pk).update(status="closed") == 1

    def test_it_refuses_an_unknown_allocation_mode(self):
        session = SessionFactory()
        with refused(Session, "session_allocation_valid"):
            Session.objects.filter(pk=session.pk).update(allocation="auction")
        assert Session.objects.filter(pk=session.pk).update(allocation="lottery") == 1


class TestBase:
    @pytest.mark.parametrize("code", ["B 0001", "B_0001", "B/0001", "基地0001", ""])
    def test_it_refuses_a_base_code_that_is_not_letters_digits_and_dashes(self, code):
        with refused(Base, "base_code_format"):
            _base(code=code)
        assert _base(code="XH-lib-01").pk

    def test_it_refuses_a_base_code_with_a_trailing_newline(self):
        with refused(Base, "base_code_format"):
            _base(code="B-0001\n")

    def test_it_refuses_a_base_without_a_name(self):
        with refused(Base, "base_name_not_empty"):
            _base(name="")
        assert _base(name="徐汇区图书馆").pk

    def test_it_refuses_a_certified_base_without_an_expiry_date(self):
        with refused(Base, "base_certified_has_expiry"):
            _base(status=BaseStatus.CERTIFIED, certified_until=None)
        assert _base(code="B-0001", status=BaseStatus.PENDING, certified_until=None).pk
        certified_until = timezone.localdate() + timedelta(days=365)
        assert _base(code="B-0002", status=BaseStatus.CERTIFIED, certified_until=certified_until)

    def test_it_refuses_two_bases_with_one_code(self):
        _base(code="B-0001")
        with refused(Base, "code"):
            _base(code="B-0001", name="另一个基地")
        assert _base(code="B-0002", name="另一个基地").pk


class TestSchoolContractAndCoordinator:
    def test_it_refuses_the_same_contract_twice(self):
        contract = SchoolContractFactory()
        with refused(SchoolContract, "contract_unique"):
            SchoolContract.objects.create(
                base=contract.base, school=contract.school, valid_until=contract.valid_until
            )
        assert SchoolContract.objects.create(
            base=contract.base, school=SchoolFactory(), valid_until=contract.valid_until
        ).pk

    def test_it_refuses_the_same_coordinator_twice_for_one_base(self):
        coordinator = CoordinatorFactory()
        with refused(Coordinator, "coordinator_unique"):
            Coordinator.objects.create(user=coordinator.user, base=coordinator.base)
        assert Coordinator.objects.create(user=coordinator.user, base=BaseFactory()).pk
        assert Coordinator.objects.create(user=UserFactory(), base=coordinator.base).pk


class TestPost:
    def test_it_refuses_a_post_without_a_title(self):
        post = PostFactory()
        with refused(Post, "post_title_not_empty"):
            Post.objects.filter(pk=post.pk).update(title="")
        Post.objects.filter(pk=post.pk).update(title="医院分诊引导")

    @pytest.mark.parametrize("grades", ["", "21", "11", "4", "0", "1 3", "1,2"])
    def test_it_refuses_eligible_grades_that_are_not_ascending_grades_1_to_3(self, grades):
        post = PostFactory()
        with refused(Post, "post_grades_format"):
            Post.objects.filter(pk=post.pk).update(eligible_grades=grades)

    @pytest.mark.parametrize("grades", ["1", "2", "3", "12", "13", "23", "123"])
    def test_it_accepts_any_ascending_set_of_grades(self, grades):
        post = PostFactory()
        Post.objects.filter(pk=post.pk).update(eligible_grades=grades)
        post.refresh_from_db()
        assert post.eligible_grades == grades

    def test_it_refuses_eligible_grades_with_a_trailing_newline(self):
        post = PostFactory()
        with refused(Post, "post_grades_format"):
            Post.objects.filter(pk=post.pk).update(eligible_grades="12\n")


class TestSession:
    @pytest.mark.parametrize(
        "constraint, bad, good",
        [
            (
                "session_starts_before_end",
                lambda s: {"ends_at": s.starts_at},
                lambda s: {"ends_at": s.starts_at + timedelta(minutes=1)},
            ),
            ("session_capacity_positive", lambda s: {"capacity": 0}, lambda s: {"capacity": 1}),
            (
                "session_taken_within_capacity",
                lambda s: {"taken": s.capacity + 1},
                lambda s: {"taken": s.capacity},
            ),
            (
                "session_window_order",
                lambda s: {"applications_close_at": s.applications_open_at},
                lambda s: {"applications_close_at": s.applications_open_at + timedelta(hours=1)},
            ),
            (
                "session_cutoff_before_start",
                lambda s: {"cancel_cutoff_at": s.starts_at + timedelta(minutes=1)},
                lambda s: {"cancel_cutoff_at": s.starts_at},
            ),
        ],
    )
    def test_it_refuses_a_session_that_breaks(self, constraint, bad, good):
        session = SessionFactory()
        with refused(Session, constraint):
            Session.objects.filter(pk=session.pk).update(**bad(session))
        assert Session.objects.filter(pk=session.pk).update(**good(session)) == 1

    def test_a_session_without_a_cancellation_cutoff_is_accepted(self):
        session = SessionFactory()
        assert Session.objects.filter(pk=session.pk).update(cancel_cutoff_at=None) == 1


class TestClassReservation:
    def _reserve(self, session, school_class, seats=5):
        return ClassReservation.objects.create(
            session=session,
            school_class=school_class,
            seats=seats,
            release_at=session.starts_at - timedelta(days=2),
        )

    def test_it_refuses_two_reservations_for_one_class_on_one_session(self):
        session, school_class = SessionFactory(), SchoolClassFactory()
        self._reserve(session, school_class)
        with refused(ClassReservation, "reservation_once_per_class"):
            self._reserve(session, school_class)
        assert self._reserve(session, SchoolClassFactory()).pk
        assert self._reserve(SessionFactory(), school_class).pk

    def test_it_refuses_a_reservation_of_no_seats(self):
        session, school_class = SessionFactory(), SchoolClassFactory()
        with refused(ClassReservation, "reservation_seats_positive"):
            self._reserve(session, school_class, seats=0)
        assert self._reserve(session, school_class, seats=1).pk


class TestApplication:
    @pytest.mark.parametrize("live", LIVE)
    def test_it_refuses_two_live_applications_for_one_session(self, live):
        existing = ApplicationFactory(status=live)
        with refused(Application, "one_live_application_per_session"):
            Application.objects.create(
                student=existing.student, session=existing.session, status=ApplicationStatus.PENDING
            )
        other_session = SessionFactory(post=existing.session.post)
        assert Application.objects.create(
            student=existing.student, session=other_session, status=live
        ).pk

    @pytest.mark.parametrize("ended", ENDED)
    def test_a_cancelled_or_rejected_application_leaves_room_for_a_new_live_one(self, ended):
        old = ApplicationFactory(status=ended)
        again = Application.objects.create(
            student=old.student, session=old.session, status=ApplicationStatus.CONFIRMED
        )
        assert again.pk
        assert Application.objects.create(student=old.student, session=old.session, status=ended).pk
        with refused(Application, "one_live_application_per_session"):
            Application.objects.create(
                student=old.student, session=old.session, status=ApplicationStatus.WAITLISTED
            )

    def test_it_refuses_an_application_status_that_does_not_exist(self):
        application = ApplicationFactory()
        with refused(Application, "application_status_valid"):
            Application.objects.filter(pk=application.pk).update(status="approved")
        Application.objects.filter(pk=application.pk).update(status=ApplicationStatus.ATTENDED)


class TestAttendance:
    def _attendance(self, of, **overrides):
        values = {"session": of.session, "student": of.student, "application": of}
        return Attendance.objects.create(**{**values, **overrides})

    def test_it_refuses_two_attendance_rows_for_one_student_at_one_session(self):
        application = ApplicationFactory()
        self._attendance(application)
        with refused(Attendance, "attendance_once_per_session"):
            self._attendance(application, application=None, walk_in_reason="补录")
        other = ApplicationFactory(session=application.session)
        assert self._attendance(other).pk

    def test_it_refuses_one_application_on_two_attendance_rows(self):
        application = ApplicationFactory()
        self._attendance(application)
        with refused(Attendance, "application"):
            self._attendance(application, student=StudentFactory())

    def test_it_refuses_a_check_out_that_is_not_after_the_check_in(self):
        application = ApplicationFactory()
        start = application.session.starts_at
        with refused(Attendance, "attendance_in_before_out"):
            self._attendance(application, checked_in_at=start, checked_out_at=start)
        assert self._attendance(
            application, checked_in_at=start, checked_out_at=start + timedelta(minutes=1)
        ).pk

    def test_it_refuses_a_check_out_without_a_check_in(self):
        application = ApplicationFactory()
        end = application.session.ends_at
        with refused(Attendance, "attendance_out_needs_in"):
            self._attendance(application, checked_out_at=end)
        assert self._attendance(application, checked_in_at=application.session.starts_at).pk

    def test_it_refuses_a_walk_in_without_a_reason(self):
        application = ApplicationFactory()
        with refused(Attendance, "attendance_walk_in_has_reason"):
            self._attendance(application, application=None, walk_in_reason="")
        assert self._attendance(application, application=None, walk_in_reason="现场报名").pk


class TestAttendanceScan:
    def _scan(self, session, student, nonce):
        return AttendanceScan.objects.create(
            nonce=nonce,
            session=session,
            student=student,
            kind=ScanKind.CHECK_IN,
            happened_at=session.starts_at,
            source=RecordedVia.SCAN,
            payload_digest="0" * 64,
        )

    def test_it_refuses_the_same_nonce_twice(self):
        application = ApplicationFactory()
        self._scan(application.session, application.student, "scan-0001")
        with refused(AttendanceScan, "nonce"):
            self._scan(application.session, application.student, "scan-0001")
        assert self._scan(application.session, application.student, "scan-0002").pk

    @pytest.mark.parametrize("nonce", ["short", "has space1", "slash/0001", "扫码00000001", ""])
    def test_it_refuses_a_nonce_that_is_not_8_to_64_safe_characters(self, nonce):
        application = ApplicationFactory()
        with refused(AttendanceScan, "scan_nonce_format"):
            self._scan(application.session, application.student, nonce)
        assert self._scan(application.session, application.student, "ph0ne-1:scan_2.ok").pk

    def test_it_refuses_a_nonce_with_a_trailing_newline(self):
        application = ApplicationFactory()
        with refused(AttendanceScan, "scan_nonce_format"):
            self._scan(application.session, application.student, "scan-0001\n")


class TestTokensAndImports:
    def test_it_refuses_an_api_token_without_a_name(self):
        from bases.models import BaseApiToken

        base = BaseFactory()
        with refused(BaseApiToken, "api_token_name_not_empty"):
            BaseApiToken.objects.create(base=base, name="", prefix="abc", key_hash="x" * 64)
        assert BaseApiToken.objects.create(base=base, name="闸机", prefix="abd", key_hash="y" * 64)

    def test_it_refuses_an_import_marked_imported_without_a_time(self):
        from bases.models import AttendanceImport, ImportStatus

        values = {"base": BaseFactory(), "original_name": "考勤.xlsx", "sha256": "0" * 64}
        with refused(AttendanceImport, "import_done_has_time"):
            AttendanceImport.objects.create(status=ImportStatus.IMPORTED, **values)
        assert AttendanceImport.objects.create(
            status=ImportStatus.IMPORTED, imported_at=timezone.now(), **values
        ).pk
