"""A base runs its season: sessions changed and cancelled, students removed, posts closed.

Every change reaches the students it concerns as a notification; nothing is credited for a
cancelled session; seats, waiting lists and class reservations stay consistent.
"""

from datetime import timedelta

import pytest
from django.contrib.admin.sites import site
from django.urls import reverse
from django.utils import timezone

from bases.errors import BaseError
from bases.models import (
    Application,
    ApplicationStatus,
    Attendance,
    ClassReservation,
    PostStatus,
    Session,
)
from bases.selectors import post_listing
from bases.services.applications import (
    application_apply,
    application_apply_or_waitlist,
)
from bases.services.reservations import class_reservation_create
from bases.services.season import (
    application_remove,
    post_close,
    session_cancel,
    session_update,
)
from portal.models import AuditLog, Notification
from tests.factories import PostFactory, UserFactory

from .conftest import in_days

pytestmark = pytest.mark.django_db


@pytest.fixture
def own_session(make_session, coordinator):
    return make_session(post=PostFactory(base=coordinator.base), capacity=2)


def told(student, code):
    return Notification.objects.filter(user=student.user, code=code)


class TestChangingASession:
    def test_a_new_time_is_told_to_every_applicant_and_the_window_moves(
        self, own_session, coordinator, make_student
    ):
        first, second, third = make_student(), make_student(), make_student()
        for student in (first, second, third):
            application_apply_or_waitlist(student=student, session=own_session)
        close_before = own_session.starts_at - own_session.applications_close_at
        starts_at = own_session.starts_at + timedelta(days=1, hours=1)
        session_update(
            session=own_session,
            starts_at=starts_at,
            ends_at=starts_at + timedelta(hours=2),
            capacity=2,
            updated_by=coordinator.user,
        )
        own_session.refresh_from_db()
        assert own_session.starts_at - own_session.applications_close_at == close_before
        for student in (first, second, third):
            (notice,) = told(student, "session.changed")
            assert timezone.localtime(starts_at).strftime("%Y-%m-%d %H:%M") in notice.message
        entry = AuditLog.objects.get(action="session.update")
        assert entry.data["before"]["capacity"] == 2

    def test_capacity_never_below_the_seats_taken(self, own_session, coordinator, make_student):
        application_apply(student=make_student(), session=own_session)
        application_apply(student=make_student(), session=own_session)
        with pytest.raises(BaseError) as error:
            session_update(
                session=own_session,
                starts_at=own_session.starts_at,
                ends_at=own_session.ends_at,
                capacity=1,
                updated_by=coordinator.user,
            )
        assert error.value.code == "capacity_below_taken"
        assert "2" in error.value.messages[0]
        own_session.refresh_from_db()
        assert own_session.capacity == 2

    def test_more_seats_go_to_the_waiting_list_first(
        self, own_session, coordinator, make_student, assert_seats_consistent
    ):
        students = [make_student() for _ in range(4)]
        for student in students:
            application_apply_or_waitlist(student=student, session=own_session)
        session_update(
            session=own_session,
            starts_at=own_session.starts_at,
            ends_at=own_session.ends_at,
            capacity=3,
            updated_by=coordinator.user,
        )
        statuses = [
            Application.objects.get(student=s, session=own_session).status for s in students
        ]
        assert statuses == ["confirmed", "confirmed", "confirmed", "waitlisted"]
        assert assert_seats_consistent(own_session) == 3
        # Only the seats changed: nobody is told of a new time.
        assert not Notification.objects.filter(code="session.changed").exists()
        assert told(students[2], "application.promoted").exists()

    def test_another_bases_coordinator_cannot_change_it(self, own_session):
        from tests.factories import CoordinatorFactory

        with pytest.raises(BaseError) as error:
            session_update(
                session=own_session,
                starts_at=own_session.starts_at,
                ends_at=own_session.ends_at,
                capacity=5,
                updated_by=CoordinatorFactory().user,
            )
        assert error.value.code == "not_authorised"


class TestCancellingASession:
    def test_every_applicant_is_told_seats_and_class_seats_are_released(
        self, own_session, coordinator, make_student, school_class, head_teacher
    ):
        own_session.capacity = 5
        own_session.save()
        confirmed, waiting = make_student(), make_student()
        application_apply(student=confirmed, session=own_session)
        reservation = class_reservation_create(
            session=own_session,
            school_class=school_class,
            seats=3,
            release_at=in_days(6),
            reserved_by=head_teacher,
        )
        application_apply_or_waitlist(student=waiting, session=own_session)
        session_cancel(session=own_session, cancelled_by=coordinator.user, reason="台风停课")

        own_session.refresh_from_db()
        assert own_session.cancelled_at is not None and own_session.taken == 0
        assert own_session.cancel_reason == "台风停课"
        reservation.refresh_from_db()
        assert reservation.released_at is not None
        for student in (confirmed, waiting):
            application = Application.objects.get(student=student, session=own_session)
            assert application.status == ApplicationStatus.CANCELLED
            assert application.status_reason == "台风停课"
            (notice,) = told(student, "session.cancelled")
            assert "台风停课" in notice.message
        assert AuditLog.objects.get(action="session.cancel").data["applications"] == 2

    def test_a_cancelled_session_leaves_the_listing_and_takes_no_application(
        self, own_session, coordinator, make_student
    ):
        post = own_session.post
        listing = post_listing(district=post.base.district, school_id=None, now=timezone.now())
        assert listing.filter(pk=post.pk).exists()
        session_cancel(session=own_session, cancelled_by=coordinator.user, reason="场馆维修")
        listing = post_listing(district=post.base.district, school_id=None, now=timezone.now())
        assert not listing.filter(pk=post.pk).exists()
        with pytest.raises(BaseError) as error:
            application_apply(student=make_student(), session=own_session)
        assert error.value.code == "cancelled"

    def test_no_attendance_can_be_recorded_for_a_cancelled_session(
        self, coordinator, make_session, make_student
    ):
        from bases.services.attendance import attendance_walk_in_add

        start = timezone.now() + timedelta(minutes=10)
        session = make_session(
            post=PostFactory(base=coordinator.base),
            starts_at=start,
            applications_close_at=start - timedelta(minutes=5),
            cancel_cutoff_at=None,
        )
        session_cancel(session=session, cancelled_by=coordinator.user, reason="暴雨预警")
        with pytest.raises(BaseError) as error:
            attendance_walk_in_add(
                session=session, student=make_student(), reason="到场", added_by=coordinator.user
            )
        assert error.value.code == "cancelled"
        assert not Attendance.objects.exists()

    def test_a_reason_is_required(self, own_session, coordinator):
        with pytest.raises(BaseError) as error:
            session_cancel(session=own_session, cancelled_by=coordinator.user, reason="  ")
        assert error.value.code == "reason_required"
        own_session.refresh_from_db()
        assert own_session.cancelled_at is None

    def test_a_session_that_started_cannot_be_cancelled(self, coordinator, make_session):
        start = timezone.now() - timedelta(hours=1)
        session = make_session(
            post=PostFactory(base=coordinator.base),
            starts_at=start,
            applications_open_at=start - timedelta(days=3),
            applications_close_at=start - timedelta(days=1),
            cancel_cutoff_at=None,
        )
        with pytest.raises(BaseError) as error:
            session_cancel(session=session, cancelled_by=coordinator.user, reason="雨")
        assert error.value.code == "started"
        assert not Attendance.objects.exists()


class TestRemovingAStudent:
    def test_after_the_cut_off_the_student_is_told_and_the_waiting_list_moves(
        self, own_session, coordinator, make_student, assert_seats_consistent, client
    ):
        removed, kept, waiting = make_student(), make_student(), make_student()
        for student in (removed, kept, waiting):
            application_apply_or_waitlist(student=student, session=own_session)
        Session.objects.filter(pk=own_session.pk).update(
            cancel_cutoff_at=timezone.now() - timedelta(minutes=5)
        )
        application = Application.objects.get(student=removed, session=own_session)
        application_remove(
            application=application, removed_by=coordinator.user, reason="未提交安全承诺书"
        )
        application.refresh_from_db()
        assert application.status == ApplicationStatus.REMOVED
        (notice,) = told(removed, "application.removed")
        assert "未提交安全承诺书" in notice.message
        promoted = Application.objects.get(student=waiting, session=own_session)
        assert promoted.status == ApplicationStatus.CONFIRMED
        assert assert_seats_consistent(own_session) == 2
        client.force_login(removed.user)
        page = client.get(reverse("bases:my-applications")).content.decode()
        assert "未提交安全承诺书" in page

    def test_the_student_may_apply_again_after_being_removed(
        self, own_session, coordinator, make_student
    ):
        student = make_student()
        application = application_apply(student=student, session=own_session)
        application_remove(application=application, removed_by=coordinator.user, reason="误报")
        again = application_apply(student=student, session=own_session)
        assert again.status == ApplicationStatus.CONFIRMED


class TestClosingAPost:
    def test_refused_with_the_count_unless_the_sessions_are_cancelled(
        self, own_session, coordinator, make_student, make_session
    ):
        later = make_session(post=own_session.post, starts_at=in_days(14))
        students = [make_student() for _ in range(3)]
        application_apply(student=students[0], session=own_session)
        application_apply(student=students[1], session=own_session)
        application_apply(student=students[2], session=later)
        with pytest.raises(BaseError) as error:
            post_close(post=own_session.post, closed_by=coordinator.user)
        assert error.value.code == "has_applicants"
        assert "3" in error.value.messages[0]
        post_close(
            post=own_session.post,
            closed_by=coordinator.user,
            cancel_sessions=True,
            reason="基地停止接待",
        )
        own_session.post.refresh_from_db()
        assert own_session.post.status == PostStatus.CLOSED
        assert Session.objects.filter(post=own_session.post, cancelled_at=None).count() == 0
        for student in students:
            assert told(student, "session.cancelled").count() == 1

    def test_the_page_says_how_many_students_then_closes_with_notice(
        self, client, own_session, coordinator, make_student
    ):
        student = make_student()
        application_apply(student=student, session=own_session)
        client.force_login(coordinator.user)
        url = reverse("bases:post-close", args=[own_session.post_id])
        page = client.get(url).content.decode()
        assert 'data-testid="affected"' in page and "1 名学生" in page
        refused = client.post(url, {"reason": ""})
        assert refused.status_code == 200
        own_session.post.refresh_from_db()
        assert own_session.post.status == PostStatus.PUBLISHED
        done = client.post(url, {"reason": "展馆闭馆"})
        assert done.status_code == 302
        own_session.post.refresh_from_db()
        assert own_session.post.status == PostStatus.CLOSED
        assert told(student, "session.cancelled").exists()
        # The student's pages no longer link to the closed post's page (a 404).
        client.force_login(student.user)
        post_url = reverse("bases:post-detail", args=[own_session.post_id])
        for page_url in (reverse("bases:my-applications"), "/dashboard/student/"):
            assert f'href="{post_url}"' not in client.get(page_url).content.decode()

    def test_a_post_without_applicants_closes_at_once(self, client, own_session, coordinator):
        client.force_login(coordinator.user)
        url = reverse("bases:post-close", args=[own_session.post_id])
        assert 'data-testid="affected"' not in client.get(url).content.decode()
        assert client.post(url).status_code == 302
        own_session.post.refresh_from_db()
        assert own_session.post.status == PostStatus.CLOSED


class TestPages:
    def test_edit_cancel_and_remove_through_the_pages(
        self, client, own_session, coordinator, make_student
    ):
        student = make_student()
        application = application_apply(student=student, session=own_session)
        client.force_login(coordinator.user)
        manage = client.get(reverse("bases:post-manage", args=[own_session.post_id]))
        html = manage.content.decode()
        assert reverse("bases:session-edit", args=[own_session.pk]) in html
        assert reverse("bases:session-cancel", args=[own_session.pk]) in html

        edit_url = reverse("bases:session-edit", args=[own_session.pk])
        start = timezone.localtime(own_session.starts_at)
        form = {
            "day": start.date().isoformat(),
            "start_time": "10:00",
            "end_time": "12:00",
            "capacity": 0,
        }
        assert client.post(edit_url, form).status_code == 200
        form["capacity"] = 5
        assert client.post(edit_url, form).status_code == 302
        own_session.refresh_from_db()
        assert (own_session.capacity, timezone.localtime(own_session.starts_at).hour) == (5, 10)
        assert told(student, "session.changed").exists()

        applicants = client.get(reverse("bases:session-applicants", args=[own_session.pk]))
        remove_url = reverse("bases:application-remove", args=[application.pk])
        assert remove_url in applicants.content.decode()
        assert client.post(remove_url, {"reason": "身体不适"}).status_code == 302
        application.refresh_from_db()
        assert application.status == ApplicationStatus.REMOVED

        cancel_url = reverse("bases:session-cancel", args=[own_session.pk])
        assert "0 名学生" in client.get(cancel_url).content.decode()
        assert client.post(cancel_url, {"reason": "台风"}).status_code == 302
        own_session.refresh_from_db()
        assert own_session.cancelled_at is not None
        html = client.get(reverse("bases:post-manage", args=[own_session.post_id])).content
        assert 'data-testid="session-cancelled"' in html.decode()

    def test_another_bases_coordinator_gets_404(self, client, own_session, make_student):
        from tests.factories import CoordinatorFactory

        application = application_apply(student=make_student(), session=own_session)
        client.force_login(CoordinatorFactory().user)
        for url in (
            reverse("bases:session-edit", args=[own_session.pk]),
            reverse("bases:session-cancel", args=[own_session.pk]),
            reverse("bases:application-remove", args=[application.pk]),
            reverse("bases:post-close", args=[own_session.post_id]),
        ):
            assert client.get(url).status_code == 404, url
            assert client.post(url, {"reason": "x"}).status_code == 404, url
        own_session.refresh_from_db()
        assert own_session.cancelled_at is None


@pytest.mark.parametrize("model", [Session, Application, Attendance, ClassReservation])
def test_django_admin_shows_but_never_changes_seats_and_attendance(model):
    model_admin = site._registry[model]
    request = type("Request", (), {"user": UserFactory(is_staff=True, is_superuser=True)})()
    assert model_admin.has_view_permission(request)
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request)
    assert not model_admin.has_delete_permission(request)
