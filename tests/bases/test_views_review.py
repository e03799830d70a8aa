"""District and city admins: the review queue, approving and returning posts, certifying bases."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from bases.models import BaseLevel, BaseStatus, PostStatus
from portal.models import AuditLog, Notification, Role
from tests.factories import (
    BaseFactory,
    CoordinatorFactory,
    HeadTeacherFactory,
    PostFactory,
    SchoolAdminFactory,
    SessionFactory,
    StudentFactory,
    UserFactory,
    district,
)
from tests.queries import queries_for

pytestmark = pytest.mark.django_db

XUHUI, PUDONG = "310104", "310115"


@pytest.fixture
def client(client):
    """Pages in English, so messages read the same whatever the catalogue holds."""
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


@pytest.fixture
def owned():
    """Owner and colleague are district admins of Xuhui, where the bases below are; the
    outsider is Pudong's."""
    return district(XUHUI)


@pytest.fixture
def city_admin():
    return UserFactory(role=Role.CITY_ADMIN)


@pytest.fixture
def in_review():
    post = PostFactory(title="图书管理员", status=PostStatus.IN_REVIEW, base__name="徐汇区图书馆")
    SessionFactory(post=post)
    return post


OTHER_ROLES = [
    pytest.param(lambda: StudentFactory().user, id="student"),
    pytest.param(lambda: CoordinatorFactory().user, id="coordinator"),
    pytest.param(lambda: HeadTeacherFactory().user, id="head_teacher"),
    pytest.param(lambda: SchoolAdminFactory().user, id="school_admin"),
]


def _messages(response) -> list[str]:
    return [str(message) for message in response.wsgi_request._messages]


# ------------------------------------------------------------------------------
# The review queue
# ------------------------------------------------------------------------------
class TestReviewQueue:
    def test_it_lists_the_posts_in_review_of_my_district_only(self, client, owner, in_review):
        PostFactory(title="草稿", status=PostStatus.DRAFT)
        PostFactory(title="已发布", status=PostStatus.PUBLISHED)
        PostFactory(title="浦东岗位", status=PostStatus.IN_REVIEW, base__district=district(PUDONG))
        client.force_login(owner)
        response = client.get(reverse("bases:review-queue"))
        assert response.status_code == 200
        assert [p.title for p in response.context["page"].object_list] == ["图书管理员"]
        assert reverse("bases:review-post", args=[in_review.pk]) in response.content.decode()

    def test_the_city_admin_sees_every_district(self, client, city_admin, in_review):
        PostFactory(title="浦东岗位", status=PostStatus.IN_REVIEW, base__district=district(PUDONG))
        client.force_login(city_admin)
        response = client.get(reverse("bases:review-queue"))
        assert {p.title for p in response.context["page"].object_list} == {"图书管理员", "浦东岗位"}

    def test_an_empty_queue_says_so(self, client, owner):
        client.force_login(owner)
        page = client.get(reverse("bases:review-queue")).content.decode()
        assert "No posts are waiting for review." in page

    @pytest.mark.parametrize("make_user", OTHER_ROLES)
    def test_other_roles_get_404(self, client, make_user):
        client.force_login(make_user())
        assert client.get(reverse("bases:review-queue")).status_code == 404

    def test_the_number_of_queries_does_not_grow_with_the_queue(self, client, owner):
        url = reverse("bases:review-queue")

        def add_posts(numbers):
            for n in numbers:
                SessionFactory(post__status=PostStatus.IN_REVIEW, post__title=f"岗位{n}")

        add_posts(range(2))
        client.force_login(owner)
        small, _ = queries_for(lambda: client.get(url))
        add_posts(range(2, 12))
        large, response = queries_for(lambda: client.get(url))
        assert len(response.context["page"].object_list) == 12
        # session, user, count, page
        assert small == large <= 4

    def test_the_dashboards_link_to_review_and_certification(self, client, owner, city_admin):
        for user, dashboard in ((owner, "district"), (city_admin, "city")):
            client.force_login(user)
            page = client.get(reverse(f"dashboards:dashboard-{dashboard}")).content.decode()
            assert reverse("bases:review-queue") in page
            assert reverse("bases:base-certification") in page


class TestReviewPost:
    def test_it_shows_the_post_its_sessions_and_both_forms(self, client, owner, in_review):
        client.force_login(owner)
        response = client.get(reverse("bases:review-post", args=[in_review.pk]))
        page = response.content.decode()
        assert response.status_code == 200
        assert "图书管理员" in page and "徐汇区图书馆" in page
        assert 'data-testid="approve-form"' in page and 'data-testid="return-form"' in page

    def test_sessions_late_at_night_or_longer_than_a_day_are_flagged(self, client, owner):
        post = PostFactory(status=PostStatus.IN_REVIEW, base__district=district(XUHUI))
        day = (timezone.localtime() + timedelta(days=10)).replace(
            hour=0, minute=0, second=0, microsecond=0
        )
        sessions = {
            "daytime": (day + timedelta(hours=9), day + timedelta(hours=12)),
            "night": (day + timedelta(hours=22, minutes=30), day + timedelta(hours=23, minutes=30)),
            "dawn": (day + timedelta(hours=4), day + timedelta(hours=8)),
            "long": (day + timedelta(hours=9), day + timedelta(days=2, hours=10)),
        }
        for starts_at, ends_at in sessions.values():
            SessionFactory(post=post, starts_at=starts_at, ends_at=ends_at)
        client.force_login(owner)
        page = client.get(reverse("bases:review-post", args=[post.pk])).content.decode()
        rows = page.split('data-testid="sessions"')[1].split("</table>")[0].split("<tr")[2:]
        assert len(rows) == 4
        flags = [
            (
                'data-testid="flag-late_night"' in row,
                'data-testid="flag-longer_than_a_day"' in row,
            )
            for row in rows
        ]
        # In order of start: long (day, 09:00), daytime (09:00) share a start; then dawn, night.
        by_start = sorted(
            sessions.items(), key=lambda item: (item[1][0], list(sessions).index(item[0]))
        )
        expected = {
            "daytime": (False, False),
            "night": (True, False),
            "dawn": (True, False),
            "long": (True, True),  # it runs through two nights as well
        }
        assert flags == [expected[name] for name, _span in by_start]
        assert "Late at night (22:00–06:00)" in page and "Longer than a day" in page
        # A session over several days shows the date it ends on.
        assert (day + timedelta(days=2)).strftime("%Y-%m-%d") + " 10:00" in rows[
            [name for name, _span in by_start].index("long")
        ]

    def test_a_colleague_may_review_and_another_district_gets_404(
        self, client, colleague, outsider, in_review
    ):
        url = reverse("bases:review-post", args=[in_review.pk])
        client.force_login(colleague)
        assert client.get(url).status_code == 200
        client.force_login(outsider)
        assert client.get(url).status_code == 404

    def test_approving_publishes_the_post_and_tells_the_coordinator(self, client, owner, in_review):
        coordinator = CoordinatorFactory(base=in_review.base).user
        client.force_login(owner)
        response = client.post(
            reverse("bases:post-approve", args=[in_review.pk]), {"approve-note": "很好"}
        )
        in_review.refresh_from_db()
        assert response.status_code == 302
        assert (in_review.status, in_review.reviewed_by) == (PostStatus.PUBLISHED, owner)
        assert Notification.objects.filter(user=coordinator, message__contains="图书管理员")
        client.logout()
        assert client.get(reverse("bases:post-detail", args=[in_review.pk])).status_code == 200

    def test_returning_keeps_the_reason_and_the_coordinator_sees_it(self, client, owner, in_review):
        coordinator = CoordinatorFactory(base=in_review.base).user
        client.force_login(owner)
        client.post(
            reverse("bases:post-return", args=[in_review.pk]), {"return-reason": "缺少安全须知"}
        )
        in_review.refresh_from_db()
        assert (in_review.status, in_review.review_note) == (PostStatus.DRAFT, "缺少安全须知")
        assert AuditLog.objects.get(action="post.return").data["reason"] == "缺少安全须知"
        client.force_login(coordinator)
        assert "缺少安全须知" in client.get(reverse("bases:my-posts")).content.decode()

    def test_returning_without_a_reason_is_refused_and_changes_nothing(
        self, client, owner, in_review
    ):
        client.force_login(owner)
        response = client.post(
            reverse("bases:post-return", args=[in_review.pk]), {"return-reason": "  "}
        )
        in_review.refresh_from_db()
        assert response.status_code == 200
        assert "Say why the post is returned." in response.content.decode()
        assert in_review.status == PostStatus.IN_REVIEW

    def test_a_post_no_longer_in_review_cannot_be_approved_again(self, client, owner):
        post = PostFactory(status=PostStatus.PUBLISHED)
        client.force_login(owner)
        response = client.post(reverse("bases:post-approve", args=[post.pk]), {})
        assert "This post is not waiting for review." in response.content.decode()
        assert not AuditLog.objects.filter(action="post.approve").exists()

    def test_another_district_cannot_approve(self, client, outsider, in_review):
        client.force_login(outsider)
        assert client.post(reverse("bases:post-approve", args=[in_review.pk])).status_code == 404
        in_review.refresh_from_db()
        assert in_review.status == PostStatus.IN_REVIEW

    def test_the_city_admin_may_approve(self, client, city_admin, in_review):
        client.force_login(city_admin)
        client.post(reverse("bases:post-approve", args=[in_review.pk]), {})
        in_review.refresh_from_db()
        assert in_review.status == PostStatus.PUBLISHED


# ------------------------------------------------------------------------------
# Certification
# ------------------------------------------------------------------------------
def _rows(response) -> set[str]:
    return {base.name for base in response.context["page"].object_list}


class TestCertificationList:
    def test_a_district_admin_sees_district_bases_and_projects_of_the_district(self, client, owner):
        BaseFactory(name="区级基地", level=BaseLevel.DISTRICT)
        BaseFactory(name="项目", level=BaseLevel.PROJECT, status=BaseStatus.PENDING)
        BaseFactory(name="市级基地", level=BaseLevel.CITY)
        BaseFactory(name="校级基地", level=BaseLevel.SCHOOL)
        BaseFactory(name="浦东基地", district=district(PUDONG))
        client.force_login(owner)
        response = client.get(reverse("bases:base-certification"))
        assert response.status_code == 200
        assert _rows(response) == {"区级基地", "项目"}

    def test_the_city_admin_sees_city_level_bases_of_every_district(self, client, city_admin):
        BaseFactory(name="市级基地", level=BaseLevel.CITY, district=district(PUDONG))
        BaseFactory(name="区级基地", level=BaseLevel.DISTRICT)
        BaseFactory(name="校级基地", level=BaseLevel.SCHOOL)
        client.force_login(city_admin)
        response = client.get(reverse("bases:base-certification"), {"level": "city"})
        assert _rows(response) == {"市级基地"}
        assert "校级基地" not in _rows(client.get(reverse("bases:base-certification")))

    def test_it_filters_by_status_and_keyword(self, client, owner):
        BaseFactory(name="徐汇图书馆", code="XH-LIB")
        BaseFactory(name="徐汇医院", status=BaseStatus.SUSPENDED)
        client.force_login(owner)
        url = reverse("bases:base-certification")
        assert _rows(client.get(url, {"status": "suspended"})) == {"徐汇医院"}
        assert _rows(client.get(url, {"q": "xh-lib"})) == {"徐汇图书馆"}

    def test_bases_needing_a_decision_come_first(self, client, owner):
        BaseFactory(name="later", certified_until=timezone.localdate() + timedelta(days=300))
        BaseFactory(name="soon", certified_until=timezone.localdate() + timedelta(days=3))
        BaseFactory(name="pending", status=BaseStatus.PENDING, certified_until=None)
        client.force_login(owner)
        response = client.get(reverse("bases:base-certification"))
        assert [b.name for b in response.context["page"].object_list] == [
            "pending",
            "soon",
            "later",
        ]

    def test_it_shows_recent_decisions_with_their_reasons_for_my_bases_only(
        self, client, owner, city_admin
    ):
        mine = BaseFactory(name="徐汇图书馆", status=BaseStatus.PENDING, certified_until=None)
        other = BaseFactory(name="浦东基地", district=district(PUDONG))
        client.force_login(owner)
        client.post(
            reverse("bases:base-certify", args=[mine.pk]),
            {"certify-valid_until": "2099-12-31", "certify-reason": "现场检查合格"},
        )
        client.force_login(city_admin)
        client.post(reverse("bases:base-suspend", args=[other.pk]), {"suspend-reason": "整改"})
        client.force_login(owner)
        page = client.get(reverse("bases:base-certification")).content.decode()
        assert "现场检查合格" in page and "2099-12-31" in page
        assert "整改" not in page

    @pytest.mark.parametrize("make_user", OTHER_ROLES)
    def test_other_roles_get_404(self, client, make_user):
        client.force_login(make_user())
        assert client.get(reverse("bases:base-certification")).status_code == 404

    def test_the_number_of_queries_does_not_grow_with_the_bases(self, client, owner):
        url = reverse("bases:base-certification")

        def add_bases(count, decided):
            for base in BaseFactory.create_batch(count)[:decided]:
                AuditLog.objects.create(
                    action="base.certify",
                    object_type="bases.base",
                    object_id=str(base.pk),
                    data={"reason": "ok"},
                    actor=owner,
                )

        add_bases(2, decided=1)
        client.force_login(owner)
        small, _ = queries_for(lambda: client.get(url))
        add_bases(13, decided=4)
        large, response = queries_for(lambda: client.get(url))
        assert len(response.context["page"].object_list) == 15
        assert len(response.context["decisions"]) == 5
        # session, user, count, page, decisions
        assert small == large <= 5


class TestBaseDecisions:
    def test_the_page_shows_status_expiry_and_the_forms(self, client, owner):
        base = BaseFactory(name="徐汇图书馆")
        client.force_login(owner)
        response = client.get(reverse("bases:base-decide", args=[base.pk]))
        page = response.content.decode()
        assert response.status_code == 200
        assert base.certified_until.isoformat() in page
        for form in ("certify-form", "suspend-form", "revoke-form"):
            assert f'data-testid="{form}"' in page

    @pytest.mark.parametrize(
        "make_base",
        [
            pytest.param(lambda: BaseFactory(district=district(PUDONG)), id="other-district"),
            pytest.param(lambda: BaseFactory(level=BaseLevel.CITY), id="city-level"),
            pytest.param(lambda: BaseFactory(level=BaseLevel.SCHOOL), id="school-level"),
        ],
    )
    def test_bases_a_district_admin_does_not_certify_are_404(self, client, owner, make_base):
        base = make_base()
        client.force_login(owner)
        assert client.get(reverse("bases:base-decide", args=[base.pk])).status_code == 404
        response = client.post(
            reverse("bases:base-suspend", args=[base.pk]), {"suspend-reason": "x"}
        )
        assert response.status_code == 404
        base.refresh_from_db()
        assert base.status == BaseStatus.CERTIFIED

    def test_certifying_a_pending_base_sets_its_expiry_and_keeps_the_reason(self, client, owner):
        base = BaseFactory(status=BaseStatus.PENDING, certified_until=None)
        until = timezone.localdate() + timedelta(days=400)
        client.force_login(owner)
        response = client.post(
            reverse("bases:base-certify", args=[base.pk]),
            {"certify-valid_until": until.isoformat(), "certify-reason": "现场检查合格"},
        )
        base.refresh_from_db()
        assert response.status_code == 302
        assert (base.status, base.certified_until, base.certified_by) == (
            BaseStatus.CERTIFIED,
            until,
            owner,
        )
        entry = AuditLog.objects.get(action="base.certify", object_id=str(base.pk))
        assert entry.data["reason"] == "现场检查合格"
        page = client.get(response.url).content.decode()
        assert "现场检查合格" in page and until.isoformat() in page

    def test_renewing_moves_the_expiry(self, client, colleague):
        base = BaseFactory()
        until = base.certified_until + timedelta(days=365)
        client.force_login(colleague)
        client.post(
            reverse("bases:base-certify", args=[base.pk]),
            {"certify-valid_until": until.isoformat(), "certify-reason": "续期"},
        )
        base.refresh_from_db()
        assert base.certified_until == until

    def test_an_expiry_in_the_past_is_refused_and_nothing_changes(self, client, owner):
        base = BaseFactory(status=BaseStatus.PENDING, certified_until=None)
        client.force_login(owner)
        response = client.post(
            reverse("bases:base-certify", args=[base.pk]),
            {
                "certify-valid_until": (timezone.localdate() - timedelta(days=1)).isoformat(),
                "certify-reason": "ok",
            },
        )
        base.refresh_from_db()
        assert response.status_code == 200
        assert "The expiry date must be in the future." in response.content.decode()
        assert base.status == BaseStatus.PENDING
        assert not AuditLog.objects.filter(action="base.certify").exists()

    @pytest.mark.parametrize("action", ["certify", "suspend", "revoke"])
    def test_every_decision_needs_a_reason(self, client, owner, action):
        base = BaseFactory(status=BaseStatus.PENDING, certified_until=None)
        client.force_login(owner)
        response = client.post(
            reverse(f"bases:base-{action}", args=[base.pk]),
            {f"{action}-valid_until": "2099-01-01", f"{action}-reason": ""},
        )
        base.refresh_from_db()
        assert "Give a reason for this decision." in response.content.decode()
        assert base.status == BaseStatus.PENDING
        assert not AuditLog.objects.exists()

    def test_suspending_takes_the_bases_posts_out_of_the_listing(self, client, owner):
        session = SessionFactory()
        base = session.post.base
        client.force_login(owner)
        client.post(reverse("bases:base-suspend", args=[base.pk]), {"suspend-reason": "安全整改"})
        base.refresh_from_db()
        assert base.status == BaseStatus.SUSPENDED
        assert AuditLog.objects.get(action="base.suspend").data["reason"] == "安全整改"
        client.logout()
        assert client.get(reverse("bases:post-detail", args=[session.post_id])).status_code == 404

    def test_revoking_keeps_the_reason(self, client, owner):
        base = BaseFactory()
        client.force_login(owner)
        response = client.post(
            reverse("bases:base-revoke", args=[base.pk]), {"revoke-reason": "停止运营"}
        )
        base.refresh_from_db()
        assert base.status == BaseStatus.REVOKED
        assert AuditLog.objects.get(action="base.revoke").data == {
            "reason": "停止运营",
            "before": "certified",
        }
        assert any("revoked" in m for m in _messages(response))

    def test_the_city_admin_certifies_a_city_level_base(self, client, city_admin):
        base = BaseFactory(level=BaseLevel.CITY, status=BaseStatus.PENDING, certified_until=None)
        client.force_login(city_admin)
        client.post(
            reverse("bases:base-certify", args=[base.pk]),
            {"certify-valid_until": "2099-06-30", "certify-reason": "市级认证"},
        )
        base.refresh_from_db()
        assert (base.status, base.certified_until.isoformat()) == ("certified", "2099-06-30")
