"""Guards for minors on the bases' side: session hours when publishing (with a district admin's
exception), guardian consent before a student is confirmed, and the safety briefing."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from bases.errors import BaseError
from bases.models import (
    Allocation,
    Application,
    ApplicationStatus,
    BriefingAcknowledgement,
    ConsentVia,
    GuardianConsent,
    PostStatus,
)
from bases.services.applications import application_apply, application_cancel
from bases.services.consent import guardian_consent_record, guardian_consent_withdraw
from bases.services.lottery import session_lottery_draw
from bases.services.publishing import (
    SessionPlan,
    post_approve,
    post_create,
    post_hours_exception_grant,
    post_submit,
    session_create,
)
from bases.services.season import session_update
from portal.models import AuditLog, Notification
from students.models import SafetyPolicy
from tests.factories import BaseFactory, PostFactory, category, district
from tests.personas import outsider_of, owner_of

from .conftest import XUHUI, in_days

pytestmark = pytest.mark.django_db


def _plan():
    return SessionPlan(
        capacity=20,
        allocation=Allocation.FIRST_COME,
        applications_open_at=timezone.now(),
        close_hours_before=24,
        cancel_hours_before=None,
    )


def _post(coordinator, **fields):
    return post_create(
        base=coordinator.base,
        created_by=coordinator.user,
        title="夜间观鸟",
        category=category("social_investigation"),
        eligible_grades="123",
        **fields,
    )


def _add(post, coordinator, start, end):
    return session_create(
        post=post, starts_at=start, ends_at=end, plan=_plan(), created_by=coordinator.user
    )


class TestSessionHours:
    def test_a_post_with_a_session_ending_at_22_is_refused_with_the_rule_named(self, coordinator):
        post = _post(coordinator)
        _add(post, coordinator, in_days(10, hour=19), in_days(10, hour=22))
        with pytest.raises(BaseError) as error:
            post_submit(post=post, submitted_by=coordinator.user)
        assert error.value.code == "ends_too_late"
        message = error.value.messages[0]
        assert "07:00–21:00" in message
        assert in_days(10, hour=19).strftime("%Y-%m-%d 19:00–22:00") in message
        post.refresh_from_db()
        assert post.status == PostStatus.DRAFT

    def test_a_session_starting_at_22_is_refused(self, coordinator):
        post = _post(coordinator)
        _add(post, coordinator, in_days(10, hour=22), in_days(10, hour=23))
        with pytest.raises(BaseError) as error:
            post_submit(post=post, submitted_by=coordinator.user)
        assert error.value.code == "ends_too_late"

    def test_a_session_starting_before_seven_is_refused(self, coordinator):
        post = _post(coordinator)
        _add(post, coordinator, in_days(10, hour=6), in_days(10, hour=9))
        with pytest.raises(BaseError) as error:
            post_submit(post=post, submitted_by=coordinator.user)
        assert error.value.code == "starts_too_early"

    def test_a_session_inside_the_window_is_sent_for_review(self, coordinator):
        post = _post(coordinator)
        _add(post, coordinator, in_days(10, hour=7), in_days(10, hour=21))
        assert post_submit(post=post, submitted_by=coordinator.user).status == PostStatus.IN_REVIEW

    def test_the_window_is_the_policy_row_in_force_on_the_session_day(self, coordinator):
        SafetyPolicy.objects.create(
            effective_from=timezone.localdate() + timedelta(days=5),
            session_latest_end=in_days(10, hour=22).time(),
        )
        post = _post(coordinator)
        _add(post, coordinator, in_days(10, hour=19), in_days(10, hour=22))
        assert post_submit(post=post, submitted_by=coordinator.user).status == PostStatus.IN_REVIEW

    def test_past_midnight_needs_an_overnight_post(self, coordinator):
        post = _post(coordinator)
        _add(post, coordinator, in_days(10, hour=8), in_days(12, hour=17))
        with pytest.raises(BaseError) as error:
            post_submit(post=post, submitted_by=coordinator.user)
        assert error.value.code == "overnight_not_marked"
        overnight = _post(coordinator, overnight=True)
        _add(overnight, coordinator, in_days(10, hour=8), in_days(12, hour=17))
        post_submit(post=overnight, submitted_by=coordinator.user)

    def test_a_district_admin_grants_an_exception_with_a_reason_and_it_is_audited(
        self, coordinator, district_admin
    ):
        post = _post(coordinator)
        _add(post, coordinator, in_days(10, hour=19), in_days(10, hour=22))
        with pytest.raises(BaseError) as error:
            post_hours_exception_grant(post=post, granted_by=district_admin, reason=" ")
        assert error.value.code == "reason_required"
        post_hours_exception_grant(post=post, granted_by=district_admin, reason="天文观测须在夜间")
        post_submit(post=post, submitted_by=coordinator.user)
        assert post_approve(post=post, reviewer=district_admin).status == PostStatus.PUBLISHED
        entry = AuditLog.objects.get(action="post.hours_exception")
        assert (entry.actor, entry.data["reason"]) == (district_admin, "天文观测须在夜间")

    def test_an_admin_of_another_district_cannot_grant_it(self, coordinator, other_district_admin):
        post = _post(coordinator)
        with pytest.raises(BaseError) as error:
            post_hours_exception_grant(post=post, granted_by=other_district_admin, reason="x")
        assert error.value.code == "not_authorised"

    def test_approving_rechecks_the_hours(self, coordinator, district_admin):
        post = _post(coordinator)
        _add(post, coordinator, in_days(10, hour=9), in_days(10, hour=12))
        post_submit(post=post, submitted_by=coordinator.user)
        SafetyPolicy.objects.update(session_earliest_start=in_days(10, hour=10).time())
        with pytest.raises(BaseError) as error:
            post_approve(post=post, reviewer=district_admin)
        assert error.value.code == "starts_too_early"

    def test_a_session_added_or_moved_on_a_published_post_keeps_to_the_window(
        self, coordinator, district_admin
    ):
        post = _post(coordinator)
        session = _add(post, coordinator, in_days(10, hour=9), in_days(10, hour=12))
        post_submit(post=post, submitted_by=coordinator.user)
        post_approve(post=post, reviewer=district_admin)
        with pytest.raises(BaseError):
            _add(post, coordinator, in_days(11, hour=20), in_days(11, hour=22))
        with pytest.raises(BaseError) as error:
            session_update(
                session=session,
                starts_at=in_days(10, hour=20),
                ends_at=in_days(10, hour=23),
                capacity=20,
                updated_by=coordinator.user,
            )
        assert error.value.code == "ends_too_late"


class TestReviewPage:
    @pytest.fixture
    def client(self, client):
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
        return client

    def test_the_coordinator_is_told_which_session_breaks_which_rule(self, client, coordinator):
        post = _post(coordinator)
        _add(post, coordinator, in_days(10, hour=19), in_days(10, hour=22))
        client.force_login(coordinator.user)
        response = client.post(reverse("bases:post-submit", args=[post.pk]), follow=True)
        assert "Session hours for minors" in response.text
        assert "19:00–22:00" in response.text and "07:00–21:00" in response.text
        post.refresh_from_db()
        assert post.status == PostStatus.DRAFT

    def test_a_past_session_does_not_block_a_new_review(self, coordinator, district_admin):
        post = _post(coordinator)
        _add(post, coordinator, in_days(10, hour=9), in_days(10, hour=12))
        post.sessions.update(starts_at=in_days(-3, hour=20), ends_at=in_days(-3, hour=22))
        _add(post, coordinator, in_days(10, hour=9), in_days(10, hour=12))
        assert post_submit(post=post, submitted_by=coordinator.user).status == PostStatus.IN_REVIEW

    def test_the_reviewer_sees_the_refusal_and_grants_the_exception(
        self, client, coordinator, district_admin
    ):
        post = _post(coordinator)
        _add(post, coordinator, in_days(10, hour=9), in_days(10, hour=12))
        post_submit(post=post, submitted_by=coordinator.user)
        _add(post, coordinator, in_days(11, hour=20), in_days(11, hour=21))
        post.sessions.filter(starts_at=in_days(11, hour=20)).update(ends_at=in_days(11, hour=22))
        client.force_login(district_admin)
        page = client.get(reverse("bases:review-post", args=[post.pk]))
        assert "Outside the session hours for minors" in page.text
        refused = client.post(reverse("bases:post-approve", args=[post.pk]), {"approve-note": ""})
        assert "Session hours for minors" in refused.text
        client.post(
            reverse("bases:post-hours-exception", args=[post.pk]),
            {"exception-reason": "夜间天文观测"},
        )
        client.post(reverse("bases:post-approve", args=[post.pk]), {"approve-note": ""})
        post.refresh_from_db()
        assert post.status == PostStatus.PUBLISHED
        assert post.hours_exception_reason == "夜间天文观测"


@pytest.fixture
def overnight_session(make_session):
    """A session of a 学农 post marked overnight: it needs a guardian's consent by default."""
    post = PostFactory(base=BaseFactory(district=district(XUHUI)), title="学农", overnight=True)
    return make_session(post=post, capacity=1)


@pytest.fixture
def school_admin(school_class):
    return owner_of(school_class.school)


class TestConsent:
    def test_without_consent_the_application_waits_and_holds_no_seat(
        self, overnight_session, student, school_admin
    ):
        application = application_apply(student=student, session=overnight_session)
        assert application.status == ApplicationStatus.AWAITING_CONSENT
        overnight_session.refresh_from_db()
        assert overnight_session.taken == 0
        assert Notification.objects.filter(
            user=student.user, code="application.awaiting_consent"
        ).exists()
        assert Notification.objects.filter(user=school_admin, code="consent.awaited").exists()

    def test_consent_on_paper_confirms_the_waiting_application_and_is_audited(
        self, overnight_session, student, school_admin
    ):
        application = application_apply(student=student, session=overnight_session)
        consent = guardian_consent_record(
            student=student, post=overnight_session.post, recorded_by=school_admin
        )
        application.refresh_from_db()
        assert application.status == ApplicationStatus.CONFIRMED
        overnight_session.refresh_from_db()
        assert overnight_session.taken == 1
        assert (consent.given_via, consent.recorded_by) == (ConsentVia.PAPER, school_admin)
        entry = AuditLog.objects.get(action="consent.record")
        assert entry.actor == school_admin

    def test_a_student_held_back_by_the_reliability_rule_still_waits_once_consent_comes(
        self, overnight_session, student, school_admin, make_no_show
    ):
        for days_ago in (5, 6, 7):
            make_no_show(student, days_ago=days_ago)
        application = application_apply(student=student, session=overnight_session)
        assert application.status == ApplicationStatus.AWAITING_CONSENT
        guardian_consent_record(
            student=student, post=overnight_session.post, recorded_by=school_admin
        )
        application.refresh_from_db()
        assert application.status == ApplicationStatus.WAITLISTED  # as if applied now: held
        overnight_session.refresh_from_db()
        assert overnight_session.taken == 0
        assert Notification.objects.filter(
            user=student.user, code="application.waitlisted_held"
        ).exists()

    def test_with_consent_already_given_applying_confirms_at_once(
        self, overnight_session, student, school_admin
    ):
        guardian_consent_record(
            student=student, post=overnight_session.post, recorded_by=school_admin
        )
        application = application_apply(student=student, session=overnight_session)
        assert application.status == ApplicationStatus.CONFIRMED

    def test_consent_when_the_session_is_full_puts_the_student_on_the_waiting_list(
        self, overnight_session, student, make_student, school_admin
    ):
        waiting = application_apply(student=student, session=overnight_session)
        other = make_student()
        guardian_consent_record(
            student=other, post=overnight_session.post, recorded_by=school_admin
        )
        application_apply(student=other, session=overnight_session)
        guardian_consent_record(
            student=student, post=overnight_session.post, recorded_by=school_admin
        )
        waiting.refresh_from_db()
        assert waiting.status == ApplicationStatus.WAITLISTED

    def test_a_lottery_draws_only_students_with_consent(
        self, make_session, make_student, school_admin
    ):
        post = PostFactory(base=BaseFactory(district=district(XUHUI)), physical_risk=True)
        session = make_session(post=post, allocation=Allocation.LOTTERY, capacity=5)
        with_consent, without = make_student(), make_student()
        guardian_consent_record(student=with_consent, post=post, recorded_by=school_admin)
        first = application_apply(student=with_consent, session=session)
        second = application_apply(student=without, session=session)
        assert (first.status, second.status) == (
            ApplicationStatus.PENDING,
            ApplicationStatus.AWAITING_CONSENT,
        )
        session.applications_close_at = timezone.now() - timedelta(minutes=1)
        session.save()
        session_lottery_draw(session=session, seed=7)
        first.refresh_from_db()
        second.refresh_from_db()
        assert (first.status, second.status) == (
            ApplicationStatus.CONFIRMED,
            ApplicationStatus.AWAITING_CONSENT,
        )

    def test_withdrawing_frees_the_seat_for_the_next_on_the_waiting_list(
        self, overnight_session, student, make_student, school_admin
    ):
        post = overnight_session.post
        guardian_consent_record(student=student, post=post, recorded_by=school_admin)
        seated = application_apply(student=student, session=overnight_session)
        other = make_student()
        consent_other = guardian_consent_record(student=other, post=post, recorded_by=school_admin)
        assert consent_other.pk
        from bases.services.applications import application_apply_or_waitlist

        waiting = application_apply_or_waitlist(student=other, session=overnight_session)
        assert waiting.status == ApplicationStatus.WAITLISTED
        consent = GuardianConsent.objects.get(student=student, post=post)
        guardian_consent_withdraw(consent=consent, withdrawn_by=school_admin)
        seated.refresh_from_db()
        waiting.refresh_from_db()
        assert seated.status == ApplicationStatus.AWAITING_CONSENT
        assert waiting.status == ApplicationStatus.CONFIRMED
        consent.refresh_from_db()
        assert consent.withdrawn_by == school_admin and consent.withdrawn_at is not None
        assert AuditLog.objects.filter(action="consent.withdraw", actor=school_admin).exists()

    def test_a_post_of_a_kind_the_policy_does_not_list_needs_no_consent(
        self, overnight_session, student
    ):
        SafetyPolicy.objects.update(consent_overnight=False)
        application = application_apply(student=student, session=overnight_session)
        assert application.status == ApplicationStatus.CONFIRMED

    def test_only_the_students_school_admin_records_paper_consent(
        self, overnight_session, student, school_class
    ):
        with pytest.raises(BaseError) as error:
            guardian_consent_record(
                student=student,
                post=overnight_session.post,
                recorded_by=outsider_of(school_class.school),
            )
        assert error.value.code == "not_authorised"

    def test_a_waiting_application_may_be_cancelled(self, overnight_session, student):
        application = application_apply(student=student, session=overnight_session)
        application_cancel(application=application, cancelled_by=student.user)
        application.refresh_from_db()
        assert application.status == ApplicationStatus.CANCELLED

    def test_a_head_teacher_cannot_name_a_student_without_consent(
        self, overnight_session, student, head_teacher, school_class
    ):
        from bases.services.reservations import class_reservation_create, class_reservation_name

        overnight_session.capacity = 5
        overnight_session.save()
        reservation = class_reservation_create(
            session=overnight_session,
            school_class=school_class,
            seats=2,
            release_at=overnight_session.starts_at - timedelta(days=2),
            reserved_by=head_teacher,
        )
        with pytest.raises(BaseError) as error:
            class_reservation_name(reservation=reservation, student=student, named_by=head_teacher)
        assert error.value.code == "consent_missing"
        assert student.name in error.value.messages[0]

    def test_marking_a_post_risky_sends_seated_students_without_consent_back_to_wait(
        self, make_session, make_student, coordinator, school_admin
    ):
        from bases.services.publishing import post_update

        post = PostFactory(base=coordinator.base)
        session = make_session(post=post, capacity=2)
        with_consent, without = make_student(), make_student()
        first = application_apply(student=with_consent, session=session)
        second = application_apply(student=without, session=session)
        guardian_consent_record(student=with_consent, post=post, recorded_by=school_admin)
        post_update(post=post, updated_by=coordinator.user, physical_risk=True)
        first.refresh_from_db()
        second.refresh_from_db()
        session.refresh_from_db()
        assert (first.status, second.status) == (
            ApplicationStatus.CONFIRMED,
            ApplicationStatus.AWAITING_CONSENT,
        )
        assert session.taken == 1
        assert Notification.objects.filter(
            user=without.user, code="application.awaiting_consent"
        ).exists()


class TestConsentPage:
    @pytest.fixture
    def client(self, client):
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
        return client

    def test_the_school_admin_records_consent_from_the_list(
        self, client, overnight_session, make_student, school_admin
    ):
        student = make_student(name="李小红")
        application = application_apply(student=student, session=overnight_session)
        client.force_login(school_admin)
        page = client.get(reverse("bases:consents-awaiting"))
        assert "李小红" in page.text and "学农" in page.text
        response = client.post(reverse("bases:consent-record", args=[application.pk]), follow=True)
        assert "Consent recorded for 李小红: the application is now Confirmed." in response.text
        assert "No application is waiting for a guardian's consent." in response.text
        consent = GuardianConsent.objects.get(student=student)
        response = client.post(reverse("bases:consent-withdraw", args=[consent.pk]), follow=True)
        assert "Consent withdrawn for 李小红" in response.text
        application.refresh_from_db()
        assert application.status == ApplicationStatus.AWAITING_CONSENT

    def test_another_school_sees_nothing_and_cannot_record(
        self, client, overnight_session, student, school_class
    ):
        application = application_apply(student=student, session=overnight_session)
        client.force_login(outsider_of(school_class.school))
        assert student.name not in client.get(reverse("bases:consents-awaiting")).text
        response = client.post(reverse("bases:consent-record", args=[application.pk]))
        assert response.status_code == 404
        assert not GuardianConsent.objects.exists()


BRIEFING = "涉水作业：必须穿救生衣，听从带队老师指挥。"


class TestBriefing:
    @pytest.fixture
    def briefed_session(self, make_session):
        post = PostFactory(base=BaseFactory(district=district(XUHUI)), safety_briefing=BRIEFING)
        return make_session(post=post)

    def test_applying_without_the_acknowledgement_is_refused(self, briefed_session, student):
        with pytest.raises(BaseError) as error:
            application_apply(student=student, session=briefed_session)
        assert error.value.code == "briefing_not_acknowledged"
        assert not Application.objects.exists()

    def test_the_acknowledgement_is_stored_with_the_text_and_its_digest(
        self, briefed_session, student
    ):
        digest = briefed_session.post.briefing_digest
        application = application_apply(
            student=student, session=briefed_session, briefing_digest=digest
        )
        ack = BriefingAcknowledgement.objects.get()
        assert (ack.application, ack.student, ack.digest, ack.text) == (
            application,
            student,
            digest,
            BRIEFING,
        )
        assert ack.acknowledged_by == student.user and ack.acknowledged_at is not None

    def test_an_acknowledgement_of_an_older_text_is_refused(self, briefed_session, student):
        digest = briefed_session.post.briefing_digest
        briefed_session.post.safety_briefing = BRIEFING + "禁止单独下水。"
        briefed_session.post.save()
        with pytest.raises(BaseError) as error:
            application_apply(student=student, session=briefed_session, briefing_digest=digest)
        assert error.value.code == "briefing_changed"

    def test_the_page_shows_the_briefing_and_the_tick_is_needed(
        self, client, briefed_session, student
    ):
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
        client.force_login(student.user)
        page = client.get(reverse("bases:post-detail", args=[briefed_session.post_id]))
        assert BRIEFING in page.text and 'name="briefing_ack"' in page.text
        url = reverse("bases:session-apply", args=[briefed_session.pk])
        digest = briefed_session.post.briefing_digest
        refused = client.post(url, {"briefing_digest": digest}, follow=True)
        assert "Read the post&#x27;s safety briefing and tick" in refused.text
        assert not Application.objects.exists()
        client.post(url, {"briefing_digest": digest, "briefing_ack": "1"})
        assert Application.objects.get().status == ApplicationStatus.CONFIRMED


class TestConstraints:
    def test_one_live_consent_per_student_and_post_and_a_known_way_of_giving_it(
        self, overnight_session, student
    ):
        from tests.constraint_helpers import refused

        post = overnight_session.post
        first = GuardianConsent.objects.create(
            student=student, post=post, given_via=ConsentVia.PAPER, given_at=timezone.now()
        )
        with refused(GuardianConsent, "one_live_consent_per_student_post"):
            GuardianConsent.objects.create(
                student=student, post=post, given_via=ConsentVia.PAPER, given_at=timezone.now()
            )
        with refused(GuardianConsent, "consent_given_via_valid"):
            GuardianConsent.objects.filter(pk=first.pk).update(given_via="phone")
        GuardianConsent.objects.filter(pk=first.pk).update(withdrawn_at=timezone.now())
        assert GuardianConsent.objects.create(
            student=student, post=post, given_via=ConsentVia.GUARDIAN, given_at=timezone.now()
        ).pk
