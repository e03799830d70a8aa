"""Class booking (集体组织): a head teacher holds seats and names students; unnamed seats return."""

from datetime import timedelta

import pytest
from django.utils import timezone, translation

from bases.errors import BaseError
from bases.models import (
    Application,
    ApplicationStatus,
    BaseLevel,
    BaseStatus,
    ClassReservation,
    Session,
)
from bases.services.applications import (
    application_apply,
    application_apply_or_waitlist,
    application_cancel,
)
from bases.services.reservations import (
    class_reservation_create,
    class_reservation_name,
    class_reservation_release,
    reservations_due_for_release,
)
from portal.models import AuditLog, Notification
from tests.factories import (
    BaseFactory,
    HeadTeacherFactory,
    PostFactory,
    SchoolClassFactory,
    StudentFactory,
    district,
)

from .conftest import XUHUI

pytestmark = pytest.mark.django_db


def _release_at(session):
    return session.applications_close_at - timedelta(hours=1)


def _reserve(session, school_class, teacher, seats=5):
    return class_reservation_create(
        session=session,
        school_class=school_class,
        seats=seats,
        release_at=_release_at(session),
        reserved_by=teacher,
    )


def _pass_cut_off(reservation):
    ClassReservation.objects.filter(pk=reservation.pk).update(
        release_at=timezone.now() - timedelta(minutes=1)
    )
    reservation.refresh_from_db()


class TestBooking:
    def test_the_head_teacher_books_seats_that_count_as_taken(
        self, session, school_class, head_teacher, assert_seats_consistent
    ):
        reservation = _reserve(session, school_class, head_teacher, seats=5)
        assert reservation.seats == 5
        assert reservation.reserved_by == head_teacher
        assert assert_seats_consistent(session) == 5
        entry = AuditLog.objects.get(action="reservation.create")
        assert entry.data == {"seats": 5}

    def test_a_teacher_of_another_class_may_not_book(self, session, school_class):
        other = HeadTeacherFactory().user
        with pytest.raises(BaseError) as error:
            _reserve(session, school_class, other)
        assert error.value.code == "not_authorised"
        assert not ClassReservation.objects.exists()
        session.refresh_from_db()
        assert session.taken == 0

    def test_no_more_seats_than_are_free(self, make_session, school_class, head_teacher):
        session = make_session(capacity=4)
        with pytest.raises(BaseError) as error:
            _reserve(session, school_class, head_teacher, seats=5)
        assert error.value.code == "full"
        assert not ClassReservation.objects.exists()
        session.refresh_from_db()
        assert session.taken == 0

    def test_a_class_books_a_session_once(self, session, school_class, head_teacher):
        _reserve(session, school_class, head_teacher, seats=2)
        with pytest.raises(BaseError) as error:
            _reserve(session, school_class, head_teacher, seats=2)
        assert error.value.code == "already_booked"
        session.refresh_from_db()
        assert session.taken == 2

    @pytest.mark.parametrize("release", ["past", "after_close"])
    def test_the_naming_cut_off_lies_between_now_and_the_close(
        self, session, school_class, head_teacher, release
    ):
        release_at = (
            timezone.now() - timedelta(minutes=1)
            if release == "past"
            else session.applications_close_at + timedelta(minutes=1)
        )
        with pytest.raises(BaseError) as error:
            class_reservation_create(
                session=session,
                school_class=school_class,
                seats=2,
                release_at=release_at,
                reserved_by=head_teacher,
            )
        assert error.value.code == "bad_release_time"
        assert not ClassReservation.objects.exists()

    def test_a_suspended_base_takes_no_class_booking(self, session, school_class, head_teacher):
        base = session.post.base
        base.status = BaseStatus.SUSPENDED
        base.save()
        with pytest.raises(BaseError) as error:
            _reserve(session, school_class, head_teacher)
        assert error.value.code == "not_open"
        session.refresh_from_db()
        assert session.taken == 0

    def test_a_class_of_a_grade_the_post_does_not_take_cannot_book(
        self, make_session, school_class, head_teacher
    ):
        grade = school_class.grade_on(timezone.localdate() + timedelta(days=7))
        other_grades = "".join(g for g in "123" if g != str(grade))
        session = make_session(post=PostFactory(eligible_grades=other_grades))
        with pytest.raises(BaseError) as error:
            _reserve(session, school_class, head_teacher)
        assert error.value.code == "not_eligible_grade"
        session.refresh_from_db()
        assert session.taken == 0

    def test_a_school_level_base_of_another_school_cannot_be_booked(
        self, make_session, school_class, head_teacher
    ):
        base = BaseFactory(level=BaseLevel.SCHOOL, district=district(XUHUI))
        session = make_session(post=PostFactory(base=base))
        with pytest.raises(BaseError) as error:
            _reserve(session, school_class, head_teacher)
        assert error.value.code == "not_eligible_school"


class TestNaming:
    def test_a_named_student_is_confirmed_and_the_seat_count_does_not_change(
        self, session, school_class, head_teacher, make_student, assert_seats_consistent
    ):
        reservation = _reserve(session, school_class, head_teacher, seats=3)
        student = make_student()
        application = class_reservation_name(
            reservation=reservation, student=student, named_by=head_teacher
        )
        assert application.status == ApplicationStatus.CONFIRMED
        assert application.reservation == reservation
        assert assert_seats_consistent(session) == 3
        assert AuditLog.objects.filter(action="reservation.name", actor=head_teacher).exists()
        (told,) = Notification.objects.filter(user=student.user, code="reservation.named")
        assert session.post.title in told.message

    def test_a_student_of_another_class_cannot_be_named(self, session, school_class, head_teacher):
        reservation = _reserve(session, school_class, head_teacher)
        outsider = StudentFactory(school_class=SchoolClassFactory(school=school_class.school))
        with pytest.raises(BaseError) as error:
            class_reservation_name(reservation=reservation, student=outsider, named_by=head_teacher)
        assert error.value.code == "not_in_class"
        assert not Application.objects.exists()

    def test_no_more_students_than_seats(self, session, school_class, head_teacher, make_student):
        reservation = _reserve(session, school_class, head_teacher, seats=2)
        for _ in range(2):
            class_reservation_name(
                reservation=reservation, student=make_student(), named_by=head_teacher
            )
        with pytest.raises(BaseError) as error:
            class_reservation_name(
                reservation=reservation, student=make_student(), named_by=head_teacher
            )
        assert error.value.code == "reservation_full"
        assert Application.objects.count() == 2
        session.refresh_from_db()
        assert session.taken == 2

    def test_only_the_head_teacher_names(self, session, school_class, head_teacher, student):
        reservation = _reserve(session, school_class, head_teacher)
        with pytest.raises(BaseError) as error:
            class_reservation_name(
                reservation=reservation, student=student, named_by=HeadTeacherFactory().user
            )
        assert error.value.code == "not_authorised"
        assert not Application.objects.exists()

    def test_a_student_who_already_applied_is_not_named_twice(
        self, session, school_class, head_teacher, student
    ):
        application_apply(student=student, session=session)
        reservation = _reserve(session, school_class, head_teacher)
        with pytest.raises(BaseError) as error:
            class_reservation_name(reservation=reservation, student=student, named_by=head_teacher)
        assert error.value.code == "already_applied"
        assert Application.objects.count() == 1

    def test_the_teacher_is_told_the_student_applied_not_themselves(
        self, make_session, session, school_class, head_teacher, student
    ):
        clashing = make_session(starts_at=session.starts_at + timedelta(hours=1))
        application_apply(student=student, session=clashing)
        reservation = _reserve(session, school_class, head_teacher)
        with translation.override("en"), pytest.raises(BaseError) as error:
            class_reservation_name(reservation=reservation, student=student, named_by=head_teacher)
        assert error.value.code == "time_clash"
        message = error.value.messages[0]
        assert message.endswith(f", which {student.name} has already applied for.")
        assert "you " not in message.lower()
        with translation.override("zh-hans"), pytest.raises(BaseError) as error:
            class_reservation_name(reservation=reservation, student=student, named_by=head_teacher)
        message = error.value.messages[0]
        assert student.name in message and "你" not in message and "您" not in message

    def test_the_teacher_is_told_the_student_already_applied_for_this_session(
        self, session, school_class, head_teacher, student
    ):
        application_apply(student=student, session=session)
        reservation = _reserve(session, school_class, head_teacher)
        with translation.override("en"), pytest.raises(BaseError) as error:
            class_reservation_name(reservation=reservation, student=student, named_by=head_teacher)
        assert error.value.messages[0].startswith(f"{student.name} has already applied")

    def test_the_student_is_still_told_you_applied(self, make_session, session, student):
        application_apply(student=student, session=make_session(starts_at=session.starts_at))
        with translation.override("en"), pytest.raises(BaseError) as error:
            application_apply(student=student, session=session)
        assert "which you have already applied for" in error.value.messages[0]

    def test_students_are_named_before_the_window_opens_for_individuals(
        self, make_session, school_class, head_teacher, student, assert_seats_consistent
    ):
        session = make_session(applications_open_at=timezone.now() + timedelta(days=2))
        reservation = _reserve(session, school_class, head_teacher, seats=2)
        application = class_reservation_name(
            reservation=reservation, student=student, named_by=head_teacher
        )
        assert application.status == ApplicationStatus.CONFIRMED
        assert assert_seats_consistent(session) == 2

    def test_after_the_cut_off_nobody_is_named_even_before_the_release_runs(
        self, session, school_class, head_teacher, student
    ):
        reservation = _reserve(session, school_class, head_teacher)
        _pass_cut_off(reservation)
        with pytest.raises(BaseError) as error:
            class_reservation_name(reservation=reservation, student=student, named_by=head_teacher)
        assert error.value.code == "released"
        assert not Application.objects.exists()

    def test_a_named_student_who_cancels_leaves_the_seat_with_the_class(
        self, session, school_class, head_teacher, make_student, assert_seats_consistent
    ):
        reservation = _reserve(session, school_class, head_teacher, seats=1)
        named = class_reservation_name(
            reservation=reservation, student=make_student(), named_by=head_teacher
        )
        application_cancel(application=named, cancelled_by=named.student.user)
        assert assert_seats_consistent(session) == 1
        replacement = class_reservation_name(
            reservation=reservation, student=make_student(), named_by=head_teacher
        )
        assert replacement.status == ApplicationStatus.CONFIRMED
        assert assert_seats_consistent(session) == 1


class TestRelease:
    def test_unnamed_seats_return_and_go_to_the_waiting_list(
        self, make_session, school_class, head_teacher, make_student, assert_seats_consistent
    ):
        session = make_session(capacity=4)
        reservation = _reserve(session, school_class, head_teacher, seats=3)
        class_reservation_name(
            reservation=reservation, student=make_student(), named_by=head_teacher
        )
        outsiders = [make_student() for _ in range(3)]
        placed = [application_apply_or_waitlist(student=s, session=session) for s in outsiders]
        assert [a.status for a in placed] == ["confirmed", "waitlisted", "waitlisted"]

        _pass_cut_off(reservation)
        returned = class_reservation_release(reservation=reservation)

        assert returned == 2
        for application in placed:
            application.refresh_from_db()
        assert [a.status for a in placed] == ["confirmed"] * 3
        assert assert_seats_consistent(session) == 4
        for application in placed[1:]:
            assert Notification.objects.filter(user=application.student.user).exists()
        entry = AuditLog.objects.get(action="reservation.release")
        assert entry.data == {"returned": 2}

    def test_returned_seats_beyond_the_waiting_list_become_free(
        self, session, school_class, head_teacher, make_student, assert_seats_consistent
    ):
        reservation = _reserve(session, school_class, head_teacher, seats=5)
        class_reservation_name(
            reservation=reservation, student=make_student(), named_by=head_teacher
        )
        _pass_cut_off(reservation)
        assert class_reservation_release(reservation=reservation) == 4
        assert assert_seats_consistent(session) == 1

    def test_releasing_twice_returns_nothing_more(
        self, session, school_class, head_teacher, assert_seats_consistent
    ):
        reservation = _reserve(session, school_class, head_teacher, seats=5)
        _pass_cut_off(reservation)
        assert class_reservation_release(reservation=reservation) == 5
        assert class_reservation_release(reservation=reservation) == 0
        assert assert_seats_consistent(session) == 0

    def test_a_named_student_cancelling_after_the_release_frees_a_seat(
        self, make_session, school_class, head_teacher, make_student, assert_seats_consistent
    ):
        session = make_session(capacity=1)
        reservation = _reserve(session, school_class, head_teacher, seats=1)
        named = class_reservation_name(
            reservation=reservation, student=make_student(), named_by=head_teacher
        )
        waiting = application_apply_or_waitlist(student=make_student(), session=session)
        _pass_cut_off(reservation)
        class_reservation_release(reservation=reservation)
        assert assert_seats_consistent(session) == 1

        application_cancel(application=named, cancelled_by=named.student.user)

        waiting.refresh_from_db()
        assert waiting.status == ApplicationStatus.CONFIRMED
        assert assert_seats_consistent(session) == 1

    def test_only_reservations_past_their_cut_off_are_due(
        self, make_session, school_class, head_teacher
    ):
        due = _reserve(make_session(), school_class, head_teacher, seats=1)
        later = _reserve(make_session(), school_class, head_teacher, seats=1)
        released = _reserve(make_session(), school_class, head_teacher, seats=1)
        for reservation in (due, released):
            _pass_cut_off(reservation)
        class_reservation_release(reservation=released)
        assert reservations_due_for_release() == [due.pk]
        assert later.pk not in reservations_due_for_release()
        assert Session.objects.count() == 3
