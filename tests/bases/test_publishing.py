"""Publishing: a coordinator writes posts and sessions, the district admin reviews each post."""

from datetime import time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from bases.errors import BaseError
from bases.models import Allocation, BaseStatus, Post, PostStatus, Session
from bases.selectors import post_listing
from bases.services.publishing import (
    SessionPlan,
    post_approve,
    post_create,
    post_return,
    post_submit,
    post_update,
    session_create,
    session_delete,
    session_series_create,
)
from bases.services.season import post_close
from portal.models import AuditLog, Notification
from tests.factories import ApplicationFactory, CoordinatorFactory, PostFactory, category, district

from .conftest import XUHUI, in_days

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
SATURDAY = 5


def _fields(**overrides):
    return {
        "title": "医院分诊引导",
        "category": category("volunteer_service"),
        "description": "在门诊大厅引导患者挂号、分诊。",
        "requirements": "穿校服，提前十分钟到岗。",
        "place": "门诊大厅",
        "eligible_grades": "12",
        **overrides,
    }


def _plan(**overrides):
    values = {
        "capacity": 20,
        "allocation": Allocation.FIRST_COME,
        "applications_open_at": timezone.now(),
        "close_hours_before": 24,
        "cancel_hours_before": 48,
    }
    return SessionPlan(**{**values, **overrides})


def _draft_with_session(coordinator):
    post = post_create(base=coordinator.base, created_by=coordinator.user, **_fields())
    session_create(
        post=post,
        starts_at=in_days(10),
        ends_at=in_days(10, hour=12),
        plan=_plan(),
        created_by=coordinator.user,
    )
    return post


def _in_review(coordinator):
    return post_submit(post=_draft_with_session(coordinator), submitted_by=coordinator.user)


def _listed(post):
    return post_listing(district=post.base.district, school_id=None, now=timezone.now())


class TestPosts:
    def test_a_coordinator_creates_a_draft_post(self, coordinator):
        post = post_create(base=coordinator.base, created_by=coordinator.user, **_fields())
        assert post.status == PostStatus.DRAFT
        assert post.created_by == coordinator.user
        assert post.eligible_grades == "12"
        assert AuditLog.objects.filter(action="post.create", object_id=str(post.pk)).exists()

    def test_optional_fields_may_be_left_out(self, coordinator):
        post = post_create(
            base=coordinator.base,
            created_by=coordinator.user,
            title="图书管理员",
            category=category("volunteer_service"),
        )
        assert post.eligible_grades == "123"
        assert post.place == ""

    def test_someone_elses_coordinator_may_not_create_a_post(self, coordinator):
        outsider = CoordinatorFactory()
        with pytest.raises(BaseError) as error:
            post_create(base=coordinator.base, created_by=outsider.user, **_fields())
        assert error.value.code == "not_authorised"
        assert not Post.objects.exists()

    def test_a_post_with_invalid_grades_is_refused(self, coordinator):
        with pytest.raises(ValidationError):
            post_create(
                base=coordinator.base, created_by=coordinator.user, **_fields(eligible_grades="4")
            )
        assert not Post.objects.exists()

    def test_editing_a_published_post_sends_it_back_to_review(self, coordinator):
        post = PostFactory(base=coordinator.base, status=PostStatus.PUBLISHED)
        post = post_update(post=post, updated_by=coordinator.user, **_fields(title="新标题"))
        post.refresh_from_db()
        assert post.title == "新标题"
        assert post.status == PostStatus.IN_REVIEW

    def test_a_draft_is_sent_for_review(self, coordinator):
        post = _in_review(coordinator)
        post.refresh_from_db()
        assert post.status == PostStatus.IN_REVIEW

    def test_a_post_without_sessions_cannot_be_sent_for_review(self, coordinator):
        post = post_create(base=coordinator.base, created_by=coordinator.user, **_fields())
        with pytest.raises(BaseError) as error:
            post_submit(post=post, submitted_by=coordinator.user)
        assert error.value.code == "no_sessions"
        post.refresh_from_db()
        assert post.status == PostStatus.DRAFT

    @pytest.mark.parametrize("state", ["suspended", "expired"])
    def test_a_base_that_is_not_certified_cannot_send_posts(self, coordinator, state):
        post = _draft_with_session(coordinator)
        base = coordinator.base
        if state == "suspended":
            base.status = BaseStatus.SUSPENDED
        else:
            base.certified_until = timezone.localdate() - timedelta(days=1)
        base.save()
        with pytest.raises(BaseError) as error:
            post_submit(post=post, submitted_by=coordinator.user)
        assert error.value.code == "base_not_certified"
        post.refresh_from_db()
        assert post.status == PostStatus.DRAFT

    def test_the_district_admin_approves_and_the_coordinator_is_told(
        self, coordinator, district_admin
    ):
        post = _in_review(coordinator)
        assert not _listed(post).exists()
        post_approve(post=post, reviewer=district_admin)
        post.refresh_from_db()
        assert post.status == PostStatus.PUBLISHED
        assert post.reviewed_by == district_admin
        assert list(_listed(post)) == [post]
        notification = Notification.objects.get(user=coordinator.user)
        assert post.title in notification.message
        assert AuditLog.objects.filter(action="post.approve", actor=district_admin).exists()

    def test_a_returned_post_carries_the_reason_to_the_coordinator(
        self, coordinator, district_admin
    ):
        post = _in_review(coordinator)
        post_return(post=post, reviewer=district_admin, reason="请补充安全注意事项")
        post.refresh_from_db()
        assert post.status == PostStatus.DRAFT
        assert post.review_note == "请补充安全注意事项"
        notification = Notification.objects.get(user=coordinator.user)
        assert "请补充安全注意事项" in notification.message
        entry = AuditLog.objects.get(action="post.return")
        assert entry.data["reason"] == "请补充安全注意事项"
        assert not _listed(post).exists()

    def test_a_post_is_not_returned_without_a_reason(self, coordinator, district_admin):
        post = _in_review(coordinator)
        with pytest.raises(BaseError) as error:
            post_return(post=post, reviewer=district_admin, reason="  ")
        assert error.value.code == "reason_required"
        post.refresh_from_db()
        assert post.status == PostStatus.IN_REVIEW
        assert not Notification.objects.exists()

    def test_an_admin_of_another_district_may_not_review(self, coordinator, other_district_admin):
        post = _in_review(coordinator)
        with pytest.raises(BaseError) as error:
            post_approve(post=post, reviewer=other_district_admin)
        assert error.value.code == "not_authorised"
        post.refresh_from_db()
        assert post.status == PostStatus.IN_REVIEW

    def test_only_a_post_in_review_can_be_approved(self, coordinator, district_admin):
        post = _draft_with_session(coordinator)
        with pytest.raises(BaseError) as error:
            post_approve(post=post, reviewer=district_admin)
        assert error.value.code == "not_in_review"
        post.refresh_from_db()
        assert post.status == PostStatus.DRAFT

    def test_a_closed_post_leaves_the_listing(self, coordinator, make_session):
        session = make_session(post=PostFactory(base=coordinator.base))
        assert _listed(session.post).exists()
        post_close(post=session.post, closed_by=coordinator.user)
        session.post.refresh_from_db()
        assert session.post.status == PostStatus.CLOSED
        assert not _listed(session.post).exists()

    @pytest.mark.parametrize("status", [PostStatus.DRAFT, PostStatus.IN_REVIEW, PostStatus.CLOSED])
    def test_only_published_posts_are_listed(self, coordinator, make_session, status):
        session = make_session(post=PostFactory(base=coordinator.base, status=status))
        assert not _listed(session.post).exists()


class TestSessions:
    def test_a_coordinator_adds_one_session(self, coordinator):
        post = PostFactory(base=coordinator.base)
        starts_at = in_days(10)
        session = session_create(
            post=post,
            starts_at=starts_at,
            ends_at=starts_at + timedelta(hours=3),
            plan=_plan(capacity=12, allocation=Allocation.LOTTERY),
            created_by=coordinator.user,
        )
        session.refresh_from_db()
        assert session.capacity == 12
        assert session.allocation == Allocation.LOTTERY
        assert session.applications_close_at == starts_at - timedelta(hours=24)
        assert session.cancel_cutoff_at == starts_at - timedelta(hours=48)
        assert session.taken == 0

    @pytest.mark.parametrize(
        ("start", "hours", "plan", "code"),
        [
            (in_days(10), -1, {}, "ends_before_start"),
            (in_days(-1), 3, {}, "starts_in_past"),
            (in_days(10), 3, {"capacity": 0}, "no_capacity"),
            (in_days(10), 3, {"applications_open_at": in_days(11)}, "window_order"),
            (in_days(10), 3, {"cancel_hours_before": -2}, "window_after_start"),
            (in_days(10), 3, {"close_hours_before": -2}, "window_after_start"),
        ],
    )
    def test_a_bad_session_is_refused_and_nothing_is_saved(
        self, coordinator, start, hours, plan, code
    ):
        with pytest.raises(BaseError) as error:
            session_create(
                post=PostFactory(base=coordinator.base),
                starts_at=start,
                ends_at=start + timedelta(hours=hours),
                plan=_plan(**plan),
                created_by=coordinator.user,
            )
        assert error.value.code == code
        assert not Session.objects.exists()

    def test_every_saturday_for_eight_weeks_makes_eight_saturday_mornings(self, coordinator):
        post = PostFactory(base=coordinator.base)
        first_day = timezone.localdate() + timedelta(days=1)
        sessions = session_series_create(
            post=post,
            first_day=first_day,
            weekdays=[SATURDAY],
            weeks=8,
            start_time=time(9, 0),
            end_time=time(12, 0),
            plan=_plan(),
            created_by=coordinator.user,
        )
        assert len(sessions) == 8
        saved = list(post.sessions.order_by("starts_at"))
        assert len(saved) == 8
        days = []
        for session in saved:
            start = session.starts_at.astimezone(SHANGHAI)
            end = session.ends_at.astimezone(SHANGHAI)
            assert start.weekday() == SATURDAY
            assert (start.hour, start.minute, end.hour, end.minute) == (9, 0, 12, 0)
            assert session.applications_close_at == session.starts_at - timedelta(hours=24)
            days.append(start.date())
        assert [later - earlier for earlier, later in zip(days, days[1:], strict=False)] == [
            timedelta(days=7)
        ] * 7
        assert first_day <= days[0] < first_day + timedelta(days=7)
        entry = AuditLog.objects.get(action="session.series_create")
        assert entry.data["count"] == 8

    def test_the_series_is_in_shanghai_time_whatever_zone_is_active(self, coordinator):
        post = PostFactory(base=coordinator.base)
        # A week ahead in Shanghai: the application window fits whatever the time of day.
        first_day = timezone.localdate(timezone=SHANGHAI) + timedelta(days=8)
        with timezone.override(ZoneInfo("UTC")):
            session_series_create(
                post=post,
                first_day=first_day,
                weekdays=[SATURDAY],
                weeks=1,
                start_time=time(9, 0),
                end_time=time(12, 0),
                plan=_plan(),
                created_by=coordinator.user,
            )
        assert post.sessions.get().starts_at.astimezone(SHANGHAI).hour == 9

    def test_a_series_with_a_past_date_saves_nothing(self, coordinator):
        post = PostFactory(base=coordinator.base)
        with pytest.raises(BaseError) as error:
            session_series_create(
                post=post,
                first_day=timezone.localdate() - timedelta(days=7),
                weekdays=[SATURDAY],
                weeks=8,
                start_time=time(9, 0),
                end_time=time(12, 0),
                plan=_plan(),
                created_by=coordinator.user,
            )
        assert error.value.code == "starts_in_past"
        assert not Session.objects.exists()
        assert not AuditLog.objects.exists()

    def test_a_series_whose_first_window_would_close_before_it_opens_saves_nothing(
        self, coordinator
    ):
        post = PostFactory(base=coordinator.base)
        first_day = timezone.localdate() + timedelta(days=1)
        # Applications open three days in: the first Saturday's window (closing a day before it)
        # is impossible, the later ones are fine. All or nothing.
        with pytest.raises(BaseError) as error:
            session_series_create(
                post=post,
                first_day=first_day,
                weekdays=[SATURDAY],
                weeks=8,
                start_time=time(9, 0),
                end_time=time(12, 0),
                plan=_plan(applications_open_at=in_days(8)),
                created_by=coordinator.user,
            )
        assert error.value.code == "window_order"
        assert not Session.objects.exists()

    def test_a_series_with_no_dates_is_refused(self, coordinator):
        with pytest.raises(BaseError) as error:
            session_series_create(
                post=PostFactory(base=coordinator.base),
                first_day=timezone.localdate() + timedelta(days=1),
                weekdays=[],
                weeks=8,
                start_time=time(9, 0),
                end_time=time(12, 0),
                plan=_plan(),
                created_by=coordinator.user,
            )
        assert error.value.code == "empty_series"

    def test_an_outsider_may_not_add_sessions(self, coordinator):
        with pytest.raises(BaseError) as error:
            session_create(
                post=PostFactory(base=coordinator.base),
                starts_at=in_days(10),
                ends_at=in_days(10, hour=12),
                plan=_plan(),
                created_by=CoordinatorFactory().user,
            )
        assert error.value.code == "not_authorised"
        assert not Session.objects.exists()

    def test_a_session_nobody_applied_for_is_deleted(self, coordinator, make_session):
        session = make_session(post=PostFactory(base=coordinator.base))
        session_delete(session=session, deleted_by=coordinator.user)
        assert not Session.objects.exists()
        assert AuditLog.objects.filter(action="session.delete").exists()

    def test_a_session_with_applications_cannot_be_deleted(self, coordinator, make_session):
        session = make_session(post=PostFactory(base=coordinator.base))
        ApplicationFactory(session=session)
        with pytest.raises(BaseError) as error:
            session_delete(session=session, deleted_by=coordinator.user)
        assert error.value.code == "has_applications"
        assert Session.objects.filter(pk=session.pk).exists()
        assert session.applications.count() == 1


def test_the_listing_shows_posts_of_the_district_only(coordinator, make_session):
    session = make_session(post=PostFactory(base=coordinator.base))
    assert coordinator.base.district == district(XUHUI)
    now = timezone.now()
    assert list(post_listing(district=district(XUHUI), school_id=None, now=now)) == [session.post]
    assert not post_listing(district=district("310101"), school_id=None, now=now).exists()
