"""The lottery: applications collect, a seeded weighted draw confirms and waitlists, and anyone
can recompute it from the stored seed."""

from datetime import timedelta

import pytest
from django.utils import timezone

from bases.errors import BaseError
from bases.models import Allocation, Application, ApplicationStatus, Session
from bases.services.applications import (
    application_apply,
    application_apply_or_waitlist,
    application_cancel,
)
from bases.services.lottery import (
    lottery_weight,
    session_lottery_draw,
    session_lottery_replay,
    sessions_due_for_lottery,
)
from portal.models import AuditLog, Notification
from students.models import ReliabilityPolicy

pytestmark = pytest.mark.django_db

REQUIRED_MINUTES = 60 * 40  # 60 学时 of 40 minutes, the default policy
REQUIRED_DAYS = 90


@pytest.fixture
def lottery_session(make_session):
    return make_session(allocation=Allocation.LOTTERY, capacity=3)


def _close_window(session):
    Session.objects.filter(pk=session.pk).update(
        applications_close_at=timezone.now() - timedelta(minutes=1)
    )
    session.refresh_from_db()


def _apply_all(session, students):
    return [application_apply(student=student, session=session) for student in students]


class TestCollecting:
    def test_applications_collect_as_pending_whatever_the_capacity(
        self, lottery_session, make_student
    ):
        applications = _apply_all(lottery_session, [make_student() for _ in range(5)])
        assert {a.status for a in applications} == {ApplicationStatus.PENDING}
        lottery_session.refresh_from_db()
        assert lottery_session.taken == 0

    def test_the_waiting_list_variant_also_collects_as_pending(self, lottery_session, make_student):
        application = application_apply_or_waitlist(student=make_student(), session=lottery_session)
        assert application.status == ApplicationStatus.PENDING

    def test_the_stored_allocation_decides_not_the_callers_copy(
        self, lottery_session, make_student
    ):
        stub = Session(pk=lottery_session.pk)  # first come by default, as an API caller may pass
        application = application_apply_or_waitlist(student=make_student(), session=stub)
        assert application.status == ApplicationStatus.PENDING
        lottery_session.refresh_from_db()
        assert lottery_session.taken == 0

    def test_a_pending_application_blocks_a_session_at_the_same_time(
        self, lottery_session, make_session, student
    ):
        application_apply(student=student, session=lottery_session)
        with pytest.raises(BaseError) as error:
            application_apply(
                student=student, session=make_session(starts_at=lottery_session.starts_at)
            )
        assert error.value.code == "time_clash"


class TestDrawing:
    def test_the_draw_waits_for_the_window_to_close(self, lottery_session, make_student):
        _apply_all(lottery_session, [make_student() for _ in range(2)])
        with pytest.raises(BaseError) as error:
            session_lottery_draw(session=lottery_session, seed=1)
        assert error.value.code == "window_open"
        lottery_session.refresh_from_db()
        assert lottery_session.lottery_drawn_at is None
        assert lottery_session.lottery_seed is None
        assert set(lottery_session.applications.values_list("status", flat=True)) == {"pending"}

    def test_the_draw_confirms_up_to_capacity_and_waitlists_the_rest_in_draw_order(
        self, lottery_session, make_student, assert_seats_consistent
    ):
        _apply_all(lottery_session, [make_student() for _ in range(5)])
        _close_window(lottery_session)

        drawn = session_lottery_draw(session=lottery_session, seed=20261128)

        assert [a.draw_position for a in drawn] == [1, 2, 3, 4, 5]
        assert [a.status for a in drawn] == ["confirmed"] * 3 + ["waitlisted"] * 2
        saved = {a.pk: a for a in Application.objects.filter(session=lottery_session)}
        assert [(saved[a.pk].draw_position, saved[a.pk].status) for a in drawn] == [
            (a.draw_position, a.status) for a in drawn
        ]
        lottery_session.refresh_from_db()
        assert lottery_session.lottery_seed == 20261128
        assert lottery_session.lottery_drawn_at is not None
        assert assert_seats_consistent(lottery_session) == 3
        entry = AuditLog.objects.get(action="session.lottery")
        assert entry.data == {"seed": 20261128, "order": [a.pk for a in drawn], "confirmed": 3}

    def test_every_applicant_is_told_the_outcome(self, lottery_session, make_student):
        _apply_all(lottery_session, [make_student() for _ in range(5)])
        _close_window(lottery_session)
        drawn = session_lottery_draw(session=lottery_session, seed=7)
        for application in drawn:
            message = Notification.objects.get(
                user=application.student.user, code__startswith="lottery."
            ).message
            assert lottery_session.post.title in message
            if application.status == ApplicationStatus.WAITLISTED:
                assert str(application.draw_position - 3) in message

    def test_the_same_seed_gives_the_same_order_on_replay(self, lottery_session, make_student):
        _apply_all(lottery_session, [make_student() for _ in range(8)])
        _close_window(lottery_session)
        drawn = session_lottery_draw(session=lottery_session, seed=99)
        assert session_lottery_replay(session=lottery_session) == [a.pk for a in drawn]

    def test_a_drawn_session_is_never_drawn_again(self, lottery_session, make_student):
        _apply_all(lottery_session, [make_student() for _ in range(4)])
        _close_window(lottery_session)
        drawn = session_lottery_draw(session=lottery_session, seed=5)
        with pytest.raises(BaseError) as error:
            session_lottery_draw(session=lottery_session, seed=6)
        assert error.value.code == "already_drawn"
        lottery_session.refresh_from_db()
        assert lottery_session.lottery_seed == 5
        assert session_lottery_replay(session=lottery_session) == [a.pk for a in drawn]

    def test_an_undrawn_session_has_nothing_to_replay(self, lottery_session):
        with pytest.raises(BaseError) as error:
            session_lottery_replay(session=lottery_session)
        assert error.value.code == "not_drawn"

    def test_a_first_come_session_is_not_drawn(self, make_session):
        session = make_session()
        _close_window(session)
        with pytest.raises(BaseError) as error:
            session_lottery_draw(session=session, seed=1)
        assert error.value.code == "not_lottery"

    def test_without_a_seed_one_is_chosen_and_stored(self, lottery_session, make_student):
        _apply_all(lottery_session, [make_student() for _ in range(4)])
        _close_window(lottery_session)
        drawn = session_lottery_draw(session=lottery_session)
        lottery_session.refresh_from_db()
        assert lottery_session.lottery_seed is not None
        assert session_lottery_replay(session=lottery_session) == [a.pk for a in drawn]

    def test_a_draw_with_no_applicants_is_recorded(self, lottery_session):
        _close_window(lottery_session)
        assert session_lottery_draw(session=lottery_session, seed=3) == []
        lottery_session.refresh_from_db()
        assert lottery_session.lottery_drawn_at is not None
        assert lottery_session.taken == 0

    def test_a_cancellation_after_the_draw_promotes_in_draw_order(
        self, lottery_session, make_student, assert_seats_consistent
    ):
        _apply_all(lottery_session, [make_student() for _ in range(5)])
        _close_window(lottery_session)
        drawn = session_lottery_draw(session=lottery_session, seed=11)
        confirmed, fourth, fifth = drawn[0], drawn[3], drawn[4]
        application_cancel(application=confirmed, cancelled_by=confirmed.student.user)
        fourth.refresh_from_db()
        fifth.refresh_from_db()
        assert fourth.status == ApplicationStatus.CONFIRMED
        assert fifth.status == ApplicationStatus.WAITLISTED
        assert assert_seats_consistent(lottery_session) == 3

    def test_only_sessions_whose_window_closed_and_not_yet_drawn_are_due(
        self, make_session, make_student
    ):
        due = make_session(allocation=Allocation.LOTTERY)
        open_ = make_session(allocation=Allocation.LOTTERY)
        drawn = make_session(allocation=Allocation.LOTTERY)
        first_come = make_session()
        for session in (due, drawn, first_come):
            _close_window(session)
        session_lottery_draw(session=drawn, seed=1)
        assert sessions_due_for_lottery() == [due.pk]
        assert open_.pk not in sessions_due_for_lottery()


class TestWeights:
    """Both measures of the requirement weigh: the share of volunteer minutes missing and the
    share of practice days missing, averaged. A student done on one measure only is still
    halfway favoured (2.0), where the hours-only weight made them 1.0."""

    def test_weights_favour_students_behind_on_hours_and_days(self):
        def weight(minutes, days):
            return lottery_weight(
                minutes_done=minutes,
                minutes_required=REQUIRED_MINUTES,
                days_done=days,
                days_required=REQUIRED_DAYS,
            )

        assert weight(0, 0) == 3.0
        assert weight(REQUIRED_MINUTES // 2, REQUIRED_DAYS // 2) == 2.0
        assert weight(REQUIRED_MINUTES, 0) == 2.0
        assert weight(0, REQUIRED_DAYS) == 2.0
        assert weight(REQUIRED_MINUTES, REQUIRED_DAYS) == 1.0
        assert weight(REQUIRED_MINUTES * 2, REQUIRED_DAYS * 2) == 1.0

    def test_a_held_back_students_weight_is_multiplied_by_the_policys_factor(self):
        assert (
            lottery_weight(
                minutes_done=0,
                minutes_required=REQUIRED_MINUTES,
                days_done=0,
                days_required=REQUIRED_DAYS,
                held_factor=0.5,
            )
            == 1.5
        )

    def test_the_draw_stores_each_applicants_weight_from_the_ledger(
        self, lottery_session, make_student, credit_progress
    ):
        # Previously weighted on hours alone: halfway 2.0 and done 1.0. Now the days count too.
        behind, hours_only, days_only, done = (make_student() for _ in range(4))
        credit_progress(hours_only, volunteer_minutes=REQUIRED_MINUTES, days=3)
        credit_progress(days_only, days=REQUIRED_DAYS)
        credit_progress(done, volunteer_minutes=REQUIRED_MINUTES, days=REQUIRED_DAYS)
        Session.objects.filter(pk=lottery_session.pk).update(capacity=4)
        _apply_all(lottery_session, [behind, hours_only, days_only, done])
        _close_window(lottery_session)
        session_lottery_draw(session=lottery_session, seed=1)
        weights = dict(
            Application.objects.filter(session=lottery_session).values_list(
                "student_id", "draw_weight"
            )
        )
        assert weights == {
            behind.pk: 3.0,
            hours_only.pk: round(1 + (REQUIRED_DAYS - 3) / REQUIRED_DAYS, 6),
            days_only.pk: 2.0,
            done.pk: 1.0,
        }

    def test_a_student_held_back_by_no_shows_is_drawn_with_the_policys_weight(
        self, lottery_session, make_student, make_no_show
    ):
        held, other = make_student(), make_student()
        for days_ago in (5, 10, 20):
            make_no_show(held, days_ago=days_ago)
        _apply_all(lottery_session, [held, other])
        _close_window(lottery_session)
        drawn = session_lottery_draw(session=lottery_session, seed=42)
        weights = {a.student_id: a.draw_weight for a in drawn}
        factor = ReliabilityPolicy.objects.get().held_lottery_factor
        assert weights == {held.pk: 3.0 * factor, other.pk: 3.0}
        assert session_lottery_replay(session=lottery_session) == [a.pk for a in drawn]

    def test_a_student_with_nothing_done_wins_more_often_over_many_seeds(
        self, make_session, make_student, credit_progress
    ):
        """One seat, two applicants, 200 fixed seeds: the expected share for the student with
        nothing done is 3 / (3 + 1) = 75%. Fixed seeds keep the count the same on every run.
        The other has met both measures (hours alone no longer bring the weight down to 1)."""
        self._assert_share(make_session, make_student, credit_progress, 0.65, 0.85, days=90)

    def test_a_student_behind_on_days_wins_more_often_than_one_with_the_same_hours(
        self, make_session, make_student, credit_progress
    ):
        """Equal hours (none), one with every practice day done: 3 against 2, so the student
        behind on days wins about 60% of 200 fixed seeds."""
        self._assert_share(make_session, make_student, credit_progress, 0.5, 0.7, minutes=0)

    @staticmethod
    def _assert_share(
        make_session, make_student, credit_progress, low, high, *, days=90, minutes=None
    ):
        session = make_session(allocation=Allocation.LOTTERY, capacity=1)
        behind, ahead = make_student(), make_student()
        credit_progress(
            ahead,
            volunteer_minutes=REQUIRED_MINUTES if minutes is None else minutes,
            days=days,
        )
        _apply_all(session, [behind, ahead])
        _close_window(session)
        wins = 0
        seeds = range(1000, 1200)
        for seed in seeds:
            Application.objects.filter(session=session).update(
                status=ApplicationStatus.PENDING, draw_position=None
            )
            Session.objects.filter(pk=session.pk).update(
                taken=0, lottery_drawn_at=None, lottery_seed=None
            )
            winner = session_lottery_draw(session=session, seed=seed)[0]
            wins += winner.student_id == behind.pk
        share = wins / len(seeds)
        assert low < share < high, share
