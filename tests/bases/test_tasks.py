"""The beat tasks: draw the lotteries whose window has closed, return unnamed class seats."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from bases import tasks
from bases.errors import BaseError
from bases.models import Allocation, ApplicationStatus, ClassReservation, Session
from bases.services.applications import application_apply, application_apply_or_waitlist
from bases.services.reservations import class_reservation_create, class_reservation_name
from portal.models import Notification

pytestmark = pytest.mark.django_db


def _close_window(session):
    Session.objects.filter(pk=session.pk).update(
        applications_close_at=timezone.now() - timedelta(minutes=1)
    )


class TestLotteryBeat:
    def test_it_draws_every_due_lottery_and_leaves_the_others(
        self, make_session, make_student, eager_celery
    ):
        due = make_session(allocation=Allocation.LOTTERY, capacity=2)
        still_open = make_session(allocation=Allocation.LOTTERY, capacity=2)
        first_come = make_session(capacity=2)
        students = [make_student() for _ in range(3)]
        for student in students:
            application_apply(student=student, session=due)
        application_apply(student=make_student(), session=still_open)
        for session in (due, first_come):
            _close_window(session)

        assert tasks.sessions_lottery_draw_due() == [due.pk]

        due.refresh_from_db()
        still_open.refresh_from_db()
        assert due.lottery_drawn_at is not None
        assert due.taken == 2
        assert sorted(due.applications.values_list("status", flat=True)) == [
            ApplicationStatus.CONFIRMED,
            ApplicationStatus.CONFIRMED,
            ApplicationStatus.WAITLISTED,
        ]
        assert still_open.lottery_drawn_at is None
        assert set(still_open.applications.values_list("status", flat=True)) == {"pending"}
        assert (
            Notification.objects.filter(
                user__student__in=students, code__startswith="lottery."
            ).count()
            == 3
        )
        assert tasks.sessions_lottery_draw_due() == []

    def test_a_draw_queued_twice_runs_once(self, make_session, make_student):
        session = make_session(allocation=Allocation.LOTTERY, capacity=1)
        for _ in range(2):
            application_apply(student=make_student(), session=session)
        _close_window(session)
        assert tasks.session_lottery_draw(session_id=session.pk) == session.pk
        session.refresh_from_db()
        seed = session.lottery_seed
        assert tasks.session_lottery_draw(session_id=session.pk) == session.pk
        session.refresh_from_db()
        assert session.lottery_seed == seed
        assert session.taken == 1
        assert Notification.objects.filter(code__startswith="lottery.").count() == 2

    def test_other_refusals_are_not_swallowed(self, make_session):
        session = make_session()
        _close_window(session)
        with pytest.raises(BaseError) as error:
            tasks.session_lottery_draw(session_id=session.pk)
        assert error.value.code == "not_lottery"


class TestReservationBeat:
    def test_it_returns_unnamed_seats_once_the_cut_off_has_passed(
        self,
        make_session,
        school_class,
        head_teacher,
        make_student,
        assert_seats_consistent,
        django_capture_on_commit_callbacks,
        eager_celery,
    ):
        session = make_session(capacity=3)
        reservations = [
            class_reservation_create(
                session=session,
                school_class=school_class,
                seats=2,
                release_at=session.applications_close_at - timedelta(hours=1),
                reserved_by=head_teacher,
            )
        ]
        class_reservation_name(
            reservation=reservations[0], student=make_student(), named_by=head_teacher
        )
        outsider = make_student()
        application_apply(student=make_student(), session=session)
        waiting = application_apply_or_waitlist(student=outsider, session=session)
        assert waiting.status == ApplicationStatus.WAITLISTED
        assert tasks.class_reservations_release_due() == []

        ClassReservation.objects.update(release_at=timezone.now() - timedelta(minutes=1))
        with django_capture_on_commit_callbacks(execute=True):
            released = tasks.class_reservations_release_due()

        assert released == [reservations[0].pk]
        waiting.refresh_from_db()
        assert waiting.status == ApplicationStatus.CONFIRMED
        assert assert_seats_consistent(session) == 3
        assert [m.to for m in mail.outbox] == [[outsider.user.email]]
        assert tasks.class_reservations_release_due() == []
