"""A student's reliability (信誉): no-shows and late cancellations lower a decayed figure with
its reasons shown; three no-shows in 90 days send new applications to the waiting list for 30
days; the student's head teacher can lift that with a reason."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from bases.errors import BaseError
from bases.models import Application, ApplicationStatus, Session
from bases.reliability import student_reliability
from bases.services.applications import application_apply, application_cancel
from bases.services.attendance import session_attendance_close
from bases.services.reliability import reliability_hold_lift
from bases.services.season import session_cancel
from portal.models import AuditLog, Notification
from students.models import ReliabilityPolicy
from tests.bases.conftest import in_days
from tests.personas import owner_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def no_show_by_closing(make_session):
    """A past session the student was confirmed on, closed by its coordinator without them."""

    def make(student, *, days_ago: int) -> Application:
        starts_at = in_days(-days_ago)
        session = make_session(
            starts_at=starts_at,
            applications_open_at=starts_at - timedelta(days=10),
            applications_close_at=starts_at - timedelta(days=1),
            cancel_cutoff_at=starts_at - timedelta(days=1),
        )
        application = Application.objects.create(
            student=student, session=session, status=ApplicationStatus.CONFIRMED
        )
        Session.objects.filter(pk=session.pk).update(taken=1)
        session_attendance_close(session=session, closed_by=owner_of(session))
        application.refresh_from_db()
        assert application.status == ApplicationStatus.NO_SHOW
        return application

    return make


def _policy() -> ReliabilityPolicy:
    return ReliabilityPolicy.objects.get()


class TestTheHold:
    def test_three_no_shows_move_the_next_application_to_the_waiting_list_with_the_reason_shown(
        self, client, student, session, no_show_by_closing
    ):
        for days_ago in (40, 20, 3):
            no_show_by_closing(student, days_ago=days_ago)
        client.force_login(student.user)
        until = timezone.localtime(in_days(-3) + timedelta(days=30)).strftime("%Y-%m-%d %H:%M")

        before = client.get(reverse("bases:post-detail", args=[session.post_id]))
        shown = before.content.decode()
        assert "只能进入候补名单" in shown and until in shown

        after = client.post(reverse("bases:session-apply", args=[session.pk]), follow=True)
        application = Application.objects.get(student=student, session=session)
        assert application.status == ApplicationStatus.WAITLISTED
        session.refresh_from_db()
        assert session.taken == 0  # the seats stay free for others
        page = after.content.decode()
        assert "缺席 3 次" in page and until in page
        told = Notification.objects.get(user=student.user, code="application.waitlisted_held")
        assert until in told.message
        entry = AuditLog.objects.get(action="application.create", object_id=str(application.pk))
        assert entry.data["status"] == "waitlisted" and "held_until" in entry.data

    def test_two_no_shows_do_not_hold(self, student, session, make_no_show):
        make_no_show(student, days_ago=5)
        make_no_show(student, days_ago=6)
        assert application_apply(student=student, session=session).status == "confirmed"

    def test_no_shows_spread_wider_than_the_window_do_not_hold(self, student, make_no_show):
        for days_ago in (10, 70, 130):  # never three within 90 days
            make_no_show(student, days_ago=days_ago)
        assert student_reliability(student_id=student.pk).hold is None

    def test_the_hold_ends_after_the_policys_days(self, student, make_no_show):
        for days_ago in (31, 32, 33):
            make_no_show(student, days_ago=days_ago)
        assert student_reliability(student_id=student.pk).hold is None
        ReliabilityPolicy.objects.update(hold_days=40)
        hold = student_reliability(student_id=student.pk).hold
        assert hold is not None
        assert hold.until == in_days(-31) + timedelta(days=40)

    def test_the_policy_in_force_is_the_latest_effective_on_or_before_today(
        self, student, make_no_show
    ):
        for days_ago in (1, 2):
            make_no_show(student, days_ago=days_ago)
        assert student_reliability(student_id=student.pk).hold is None
        ReliabilityPolicy.objects.create(
            effective_from=timezone.localdate() - timedelta(days=1), hold_no_shows=2
        )
        ReliabilityPolicy.objects.create(
            effective_from=timezone.localdate() + timedelta(days=10), hold_no_shows=5
        )
        assert student_reliability(student_id=student.pk).hold.no_shows == 2


class TestTheFigure:
    def test_a_fresh_student_has_a_full_figure_and_no_reasons(self, student):
        reliability = student_reliability(student_id=student.pk)
        assert (reliability.score, reliability.events, reliability.hold) == (100, [], None)

    def test_a_no_show_costs_its_points_halved_every_half_life(self, student, make_no_show):
        policy = _policy()
        make_no_show(student, days_ago=policy.half_life_days)
        reliability = student_reliability(student_id=student.pk)
        assert reliability.score == round(100 - policy.no_show_points / 2)
        assert [e.kind for e in reliability.events] == ["no_show"]

    def test_a_late_cancellation_counts_and_an_early_one_does_not(
        self, student, make_session, make_student
    ):
        policy = _policy()
        late = make_session(
            starts_at=timezone.now() + timedelta(hours=policy.late_cancel_hours - 2),
            cancel_cutoff_at=None,
            applications_close_at=timezone.now() + timedelta(hours=1),
        )
        early = make_session(starts_at=in_days(10))
        for session in (late, early):
            application = application_apply(student=student, session=session)
            application_cancel(application=application, cancelled_by=student.user)
        reliability = student_reliability(student_id=student.pk)
        assert [(e.kind, e.session.pk) for e in reliability.events] == [("late_cancel", late.pk)]
        assert reliability.score == 100 - policy.late_cancel_points

    def test_a_session_the_base_cancelled_costs_the_student_nothing(self, student, session):
        application_apply(student=student, session=session)
        session_cancel(session=session, cancelled_by=owner_of(session), reason="台风停课")
        assert student_reliability(student_id=student.pk).score == 100

    def test_the_student_sees_the_figure_and_each_reason_on_the_dashboard(
        self, client, student, make_no_show
    ):
        no_show = make_no_show(student, days_ago=2)
        client.force_login(student.user)
        page = client.get(reverse("dashboards:dashboard-student")).content.decode()
        assert 'data-testid="reliability-score">90<' in page
        assert no_show.session.post.title in page
        assert "缺席" in page


class TestLifting:
    @pytest.fixture
    def held(self, student, make_no_show):
        for days_ago in (1, 2, 3):
            make_no_show(student, days_ago=days_ago)
        return student

    def test_the_head_teacher_lifts_the_hold_with_a_reason_and_the_student_is_told(
        self, client, held, head_teacher, session
    ):
        client.force_login(head_teacher)
        page = client.get(reverse("bases:class-reliability")).content.decode()
        assert 'data-testid="held"' in page and held.name in page
        response = client.post(
            reverse("bases:student-hold-lift", args=[held.pk]), {"reason": "家长来电说明情况"}
        )
        assert response.status_code == 302
        assert student_reliability(student_id=held.pk).hold is None
        assert student_reliability(student_id=held.pk).score < 100  # the reasons stay
        entry = AuditLog.objects.get(action="reliability.hold_lift")
        assert entry.actor == head_teacher and entry.data["reason"] == "家长来电说明情况"
        told = Notification.objects.get(user=held.user, code="reliability.hold_lifted")
        assert "家长来电说明情况" in told.message
        assert application_apply(student=held, session=session).status == "confirmed"

    def test_a_lift_needs_a_reason(self, held, head_teacher):
        with pytest.raises(BaseError) as error:
            reliability_hold_lift(student=held, lifted_by=head_teacher, reason="  ")
        assert error.value.code == "reason_missing"
        assert student_reliability(student_id=held.pk).hold is not None

    def test_a_head_teacher_of_another_class_cannot_lift(self, client, held):
        other = owner_of(
            type(held.school_class).objects.create(
                school=held.school_class.school,
                entry_year=held.school_class.entry_year,
                number=held.school_class.number + 1,
            )
        )
        with pytest.raises(BaseError) as error:
            reliability_hold_lift(student=held, lifted_by=other, reason="理由")
        assert error.value.code == "not_authorised"
        client.force_login(other)
        response = client.post(
            reverse("bases:student-hold-lift", args=[held.pk]), {"reason": "理由"}
        )
        assert response.status_code == 404
        assert student_reliability(student_id=held.pk).hold is not None

    def test_nothing_to_lift_is_refused(self, student, head_teacher):
        with pytest.raises(BaseError) as error:
            reliability_hold_lift(student=student, lifted_by=head_teacher, reason="理由")
        assert error.value.code == "not_held"

    def test_no_shows_after_the_lift_count_again(self, held, head_teacher, make_no_show):
        reliability_hold_lift(student=held, lifted_by=head_teacher, reason="理由")
        ReliabilityPolicy.objects.update(hold_no_shows=1)
        assert student_reliability(student_id=held.pk).hold is None
        later = make_no_show(held, days_ago=0)
        # A session started after the lift.
        Session.objects.filter(pk=later.session_id).update(
            starts_at=timezone.now(), ends_at=timezone.now() + timedelta(hours=3)
        )
        assert student_reliability(student_id=held.pk).hold is not None
