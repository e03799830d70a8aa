"""Applying, each refusal with its own code, cancelling and promotion from the waiting list."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from bases.errors import BaseError
from bases.models import Application, ApplicationStatus, BaseLevel, PostStatus, Session
from bases.services.applications import (
    application_apply,
    application_apply_or_waitlist,
    application_cancel,
    waitlist_position,
)
from portal.models import AuditLog, Notification
from tests.factories import BaseFactory, PostFactory, SchoolContractFactory, SchoolFactory, district

from .conftest import XUHUI, in_days

pytestmark = pytest.mark.django_db


def _refused(code, service, **kwargs):
    """Call a service expecting refusal `code`; return the error for further checks."""
    applications_before = Application.objects.count()
    with pytest.raises(BaseError) as error:
        service(**kwargs)
    assert error.value.code == code
    assert Application.objects.count() == applications_before
    return error.value


class TestApplying:
    def test_a_student_is_confirmed_while_seats_remain(self, session, student):
        application = application_apply(student=student, session=session)
        assert application.status == ApplicationStatus.CONFIRMED
        session.refresh_from_db()
        assert session.taken == 1
        entry = AuditLog.objects.get(action="application.create")
        assert entry.actor == student.user
        assert entry.data == {"status": ApplicationStatus.CONFIRMED}

    def test_a_full_session_refuses_and_saves_nothing(self, make_session, make_student):
        session = make_session(capacity=1)
        application_apply(student=make_student(), session=session)
        late = make_student()
        error = _refused("full", application_apply, student=late, session=session)
        assert "waiting list" in error.messages[0] or "候补" in error.messages[0]
        session.refresh_from_db()
        assert session.taken == 1
        assert not late.applications.exists()

    def test_a_full_session_offers_the_waiting_list_in_order(
        self, make_session, make_student, assert_seats_consistent
    ):
        session = make_session(capacity=1)
        application_apply(student=make_student(), session=session)
        first = application_apply_or_waitlist(student=make_student(), session=session)
        second = application_apply_or_waitlist(student=make_student(), session=session)
        assert first.status == second.status == ApplicationStatus.WAITLISTED
        assert waitlist_position(first) == 1
        assert waitlist_position(second) == 2
        assert assert_seats_consistent(session) == 1

    def test_applications_before_the_window_opens_are_refused(self, make_session, student):
        session = make_session(applications_open_at=timezone.now() + timedelta(hours=2))
        _refused("window_not_open", application_apply, student=student, session=session)
        session.refresh_from_db()
        assert session.taken == 0

    def test_applications_after_the_window_closes_are_refused(self, make_session, student):
        session = make_session(
            applications_open_at=timezone.now() - timedelta(days=3),
            applications_close_at=timezone.now() - timedelta(minutes=1),
        )
        _refused("window_closed", application_apply_or_waitlist, student=student, session=session)

    def test_a_student_of_another_grade_is_refused(self, make_session, student):
        grade = student.school_class.grade_on(in_days(7).date())
        other_grades = "".join(g for g in "123" if g != str(grade))
        session = make_session(post=PostFactory(eligible_grades=other_grades))
        error = _refused("not_eligible_grade", application_apply, student=student, session=session)
        assert str(grade) in error.messages[0]

    def test_a_school_level_base_of_another_school_is_refused(self, make_session, student):
        base = BaseFactory(level=BaseLevel.SCHOOL, district=district(XUHUI))
        SchoolContractFactory(base=base, school=SchoolFactory())
        session = make_session(post=PostFactory(base=base))
        _refused("not_eligible_school", application_apply, student=student, session=session)

    def test_a_school_level_base_of_the_students_school_takes_the_application(
        self, make_session, student
    ):
        base = BaseFactory(level=BaseLevel.SCHOOL, district=district(XUHUI))
        SchoolContractFactory(base=base, school=student.school_class.school)
        session = make_session(post=PostFactory(base=base))
        assert application_apply(student=student, session=session).status == "confirmed"

    def test_an_expired_contract_no_longer_admits_the_school(self, make_session, student):
        base = BaseFactory(level=BaseLevel.SCHOOL, district=district(XUHUI))
        SchoolContractFactory(
            base=base,
            school=student.school_class.school,
            valid_until=timezone.localdate() - timedelta(days=1),
        )
        session = make_session(post=PostFactory(base=base))
        _refused("not_eligible_school", application_apply, student=student, session=session)

    @pytest.mark.parametrize("status", [PostStatus.DRAFT, PostStatus.IN_REVIEW, PostStatus.CLOSED])
    def test_a_post_that_is_not_published_takes_no_applications(
        self, make_session, student, status
    ):
        session = make_session(post=PostFactory(status=status))
        _refused("not_open", application_apply, student=student, session=session)

    @pytest.mark.parametrize("service", [application_apply, application_apply_or_waitlist])
    def test_applying_twice_is_refused(self, session, student, service):
        application_apply(student=student, session=session)
        error = _refused("already_applied", service, student=student, session=session)
        assert "已确认" in error.messages[0] or "Confirmed" in error.messages[0]
        session.refresh_from_db()
        assert session.taken == 1

    def test_a_waitlisted_student_applying_again_is_refused(
        self, make_session, make_student, student
    ):
        session = make_session(capacity=1)
        application_apply(student=make_student(), session=session)
        application_apply_or_waitlist(student=student, session=session)
        _refused("already_applied", application_apply_or_waitlist, student=student, session=session)

    def test_after_cancelling_a_student_may_apply_again(self, session, student):
        first = application_apply(student=student, session=session)
        application_cancel(application=first, cancelled_by=student.user)
        again = application_apply(student=student, session=session)
        assert again.status == ApplicationStatus.CONFIRMED
        session.refresh_from_db()
        assert session.taken == 1

    def test_a_session_at_the_same_time_is_refused_naming_the_other(self, make_session, student):
        first = make_session(post=PostFactory(title="图书管理员"))
        overlapping = make_session(
            post=PostFactory(title="艺术馆参观礼仪督导"),
            starts_at=first.starts_at + timedelta(hours=2),
        )
        application_apply(student=student, session=first)
        error = _refused("time_clash", application_apply, student=student, session=overlapping)
        message = error.messages[0]
        start = timezone.localtime(first.starts_at)
        assert "图书管理员" in message
        assert start.strftime("%Y-%m-%d %H:%M") in message
        overlapping.refresh_from_db()
        assert overlapping.taken == 0

    def test_back_to_back_sessions_do_not_clash(self, make_session, student):
        first = make_session()
        after = make_session(starts_at=first.ends_at)
        application_apply(student=student, session=first)
        assert application_apply(student=student, session=after).status == "confirmed"

    def test_a_waitlisted_place_does_not_block_another_session(
        self, make_session, make_student, student
    ):
        full = make_session(capacity=1)
        application_apply(student=make_student(), session=full)
        application_apply_or_waitlist(student=student, session=full)
        other = make_session(starts_at=full.starts_at)
        assert application_apply(student=student, session=other).status == "confirmed"

    def test_applying_in_a_rush_takes_few_statements(
        self, make_session, make_student, django_assert_max_num_queries
    ):
        """The apply rush (README, Performance): the student's lock, the session with what the
        student already holds, the seat with the application and its audit entry, the
        notification and its e-mail (the waiting list: a second look at the seats and the
        place), counting the savepoint around it. It was 16 for a seat, 18 for the list."""
        session = make_session(capacity=1)
        first, second = make_student(), make_student()
        with django_assert_max_num_queries(9):  # PostgreSQL: 7
            seated = application_apply_or_waitlist(student=first, session=session)
        with django_assert_max_num_queries(11):  # PostgreSQL: 8
            waiting = application_apply_or_waitlist(student=second, session=session)
        assert (seated.status, waiting.status) == ("confirmed", "waitlisted")
        assert waitlist_position(waiting) == 1
        entries = AuditLog.objects.filter(action="application.create").order_by("pk")
        assert [e.data for e in entries] == [{"status": "confirmed"}, {"status": "waitlisted"}]
        assert Notification.objects.filter(user=waiting.student.user).get().params["position"] == 1


class TestCancelling:
    def test_a_student_cancels_before_the_cut_off_and_the_seat_is_freed(
        self, session, student, assert_seats_consistent
    ):
        application = application_apply(student=student, session=session)
        application_cancel(application=application, cancelled_by=student.user)
        application.refresh_from_db()
        assert application.status == ApplicationStatus.CANCELLED
        assert assert_seats_consistent(session) == 0
        assert AuditLog.objects.filter(action="application.cancel").exists()

    def test_after_the_cut_off_the_student_cannot_cancel(self, make_session, student):
        session = make_session()
        application = application_apply(student=student, session=session)
        Session.objects.filter(pk=session.pk).update(
            cancel_cutoff_at=timezone.now() - timedelta(minutes=1)
        )
        with pytest.raises(BaseError) as error:
            application_cancel(application=application, cancelled_by=student.user)
        assert error.value.code == "cutoff_passed"
        application.refresh_from_db()
        assert application.status == ApplicationStatus.CONFIRMED
        session.refresh_from_db()
        assert session.taken == 1

    def test_without_a_cut_off_the_start_is_the_cut_off(self, make_session, student):
        session = make_session(cancel_cutoff_at=None)
        application = application_apply(student=student, session=session)
        application_cancel(application=application, cancelled_by=student.user)
        application.refresh_from_db()
        assert application.status == ApplicationStatus.CANCELLED

    def test_a_cancelled_application_cannot_be_cancelled_again(self, session, student):
        application = application_apply(student=student, session=session)
        application_cancel(application=application, cancelled_by=student.user)
        with pytest.raises(BaseError) as error:
            application_cancel(application=application, cancelled_by=student.user)
        assert error.value.code == "not_cancellable"
        session.refresh_from_db()
        assert session.taken == 0

    def test_a_freed_seat_goes_to_the_first_on_the_waiting_list_who_is_told(
        self,
        make_session,
        make_student,
        assert_seats_consistent,
        django_capture_on_commit_callbacks,
        eager_celery,
    ):
        session = make_session(capacity=1)
        holder = make_student()
        seat = application_apply(student=holder, session=session)
        first = application_apply_or_waitlist(student=make_student(), session=session)
        second = application_apply_or_waitlist(student=make_student(), session=session)

        with django_capture_on_commit_callbacks(execute=True):
            application_cancel(application=seat, cancelled_by=holder.user)

        first.refresh_from_db()
        second.refresh_from_db()
        assert first.status == ApplicationStatus.CONFIRMED
        assert second.status == ApplicationStatus.WAITLISTED
        assert waitlist_position(second) == 1
        assert assert_seats_consistent(session) == 1
        notification = Notification.objects.get(
            user=first.student.user, code="application.promoted"
        )
        assert session.post.title in notification.message
        assert [message.to for message in mail.outbox] == [[first.student.user.email]]
        assert mail.outbox[0].body.startswith(notification.message)
        notification.refresh_from_db()
        assert notification.emailed_at is not None
        assert AuditLog.objects.filter(
            action="application.promote", object_id=str(first.pk)
        ).exists()

    def test_no_e_mail_leaves_if_the_cancellation_is_rolled_back(
        self, make_session, make_student, django_capture_on_commit_callbacks
    ):
        session = make_session(capacity=1)
        holder = make_student()
        seat = application_apply(student=holder, session=session)
        application_apply_or_waitlist(student=make_student(), session=session)
        Session.objects.filter(pk=session.pk).update(
            cancel_cutoff_at=timezone.now() - timedelta(minutes=1)
        )
        with django_capture_on_commit_callbacks() as callbacks, pytest.raises(BaseError):
            application_cancel(application=seat, cancelled_by=holder.user)
        assert callbacks == []
        assert not Notification.objects.filter(code="application.promoted").exists()

    def test_cancelling_a_waitlisted_place_promotes_nobody(
        self, make_session, make_student, assert_seats_consistent
    ):
        session = make_session(capacity=1)
        application_apply(student=make_student(), session=session)
        first = application_apply_or_waitlist(student=make_student(), session=session)
        second = application_apply_or_waitlist(student=make_student(), session=session)
        application_cancel(application=first, cancelled_by=first.student.user)
        second.refresh_from_db()
        assert second.status == ApplicationStatus.WAITLISTED
        assert waitlist_position(second) == 1
        assert assert_seats_consistent(session) == 1
        assert not Notification.objects.filter(code="application.promoted").exists()

    def test_a_waitlisted_student_now_busy_at_that_time_is_passed_over(
        self, make_session, make_student, assert_seats_consistent
    ):
        session = make_session(capacity=1)
        holder = make_student()
        seat = application_apply(student=holder, session=session)
        busy = make_student()
        busy_place = application_apply_or_waitlist(student=busy, session=session)
        free = application_apply_or_waitlist(student=make_student(), session=session)
        # While waiting, `busy` is confirmed elsewhere at the same time.
        application_apply(student=busy, session=make_session(starts_at=session.starts_at))

        application_cancel(application=seat, cancelled_by=holder.user)

        busy_place.refresh_from_db()
        free.refresh_from_db()
        assert busy_place.status == ApplicationStatus.WAITLISTED
        assert free.status == ApplicationStatus.CONFIRMED
        assert assert_seats_consistent(session) == 1
        clashes = busy.applications.filter(
            status=ApplicationStatus.CONFIRMED, session__starts_at=session.starts_at
        )
        assert clashes.count() == 1

    def test_the_seat_count_stays_true_through_a_busy_morning(
        self, make_session, make_student, assert_seats_consistent
    ):
        session = make_session(capacity=3)
        students = [make_student() for _ in range(6)]
        applications = [application_apply_or_waitlist(student=s, session=session) for s in students]
        assert [a.status for a in applications] == ["confirmed"] * 3 + ["waitlisted"] * 3
        for application in (applications[0], applications[4], applications[1]):
            application.refresh_from_db()
            application_cancel(application=application, cancelled_by=application.student.user)
            assert_seats_consistent(session)
        statuses = {a.student_id: a.status for a in Application.objects.filter(session=session)}
        assert [statuses[s.pk] for s in students] == [
            "cancelled",
            "cancelled",
            "confirmed",
            "confirmed",
            "cancelled",
            "confirmed",
        ]
        assert assert_seats_consistent(session) == 3
