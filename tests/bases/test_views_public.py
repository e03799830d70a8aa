"""The public listing by district, the post page, and a student's applications through the web."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from bases.models import Application, ApplicationStatus, BaseLevel, BaseStatus, PostStatus
from tests.factories import (
    PASSWORD,
    SchoolContractFactory,
    SessionFactory,
    StudentFactory,
    category,
    district,
)

pytestmark = pytest.mark.django_db


def _listing(client, code="310104", **params):
    return client.get(reverse("bases:district-posts", args=[code]), params)


def _titles(response):
    return [row.record.title for row in response.context["table"].page.object_list]


class TestHomePage:
    def test_it_shows_all_16_districts_with_their_open_post_counts(self, client):
        SessionFactory(post__title="图书管理员")
        SessionFactory(post__title="医院分诊引导", post__base__district=district("310115"))
        SessionFactory(post__status=PostStatus.IN_REVIEW)
        response = client.get("/")
        districts = response.context["districts"]
        assert len(districts) == 16
        counts = {d.code: d.open_posts for d in districts}
        assert counts["310104"] == 1
        assert counts["310115"] == 1
        assert sum(counts.values()) == 2

    def test_a_students_own_district_comes_first(self, client):
        student = StudentFactory(school_class__school__district=district("310151"))
        client.force_login(student.user)
        response = client.get("/")
        first = response.context["districts"][0]
        assert (first.code, first.is_own) == ("310151", True)
        assert "我的学校" in response.content.decode() or "My school" in response.content.decode()


class TestDistrictListing:
    def test_anyone_can_read_it_without_signing_in(self, client):
        SessionFactory(post__title="图书管理员")
        response = _listing(client)
        assert response.status_code == 200
        assert _titles(response) == ["图书管理员"]

    def test_posts_of_suspended_revoked_or_expired_bases_are_not_listed(self, client):
        SessionFactory(post__title="ok")
        SessionFactory(post__title="suspended", post__base__status=BaseStatus.SUSPENDED)
        SessionFactory(post__title="revoked", post__base__status=BaseStatus.REVOKED)
        SessionFactory(
            post__title="expired",
            post__base__certified_until=timezone.localdate() - timedelta(days=1),
        )
        assert _titles(_listing(client)) == ["ok"]

    def test_it_filters_by_category_keyword_and_free_seats(self, client):
        SessionFactory(post__title="图书管理员", post__description="整理书架")
        SessionFactory(
            post__title="社区垃圾分类指导", post__category=category("social_investigation")
        )
        SessionFactory(post__title="满员岗位", capacity=2, taken=2)
        volunteer = category().pk
        assert _titles(_listing(client, category=volunteer, free="on")) == ["图书管理员"]
        assert _titles(_listing(client, q="书架")) == ["图书管理员"]
        assert set(_titles(_listing(client, free="on"))) == {"图书管理员", "社区垃圾分类指导"}

    def test_it_filters_weekends_and_dates_and_counts_only_matching_sessions(self, client):
        now = timezone.localtime()
        saturday = (now + timedelta(days=(5 - now.weekday()) % 7 + 7)).replace(
            hour=9, minute=0, second=0, microsecond=0
        )
        monday = saturday + timedelta(days=2)
        weekend = SessionFactory(post__title="周末岗位", starts_at=saturday, capacity=10)
        SessionFactory(post=weekend.post, starts_at=monday, capacity=5)
        SessionFactory(post__title="工作日岗位", starts_at=monday)
        response = _listing(client, days="weekend")
        rows = list(response.context["table"].page.object_list)
        assert [r.record.title for r in rows] == ["周末岗位"]
        assert rows[0].record.seats_left == 10
        on_monday = _listing(client, date_from=monday.date().isoformat())
        assert set(_titles(on_monday)) == {"周末岗位", "工作日岗位"}

    def test_it_sorts_by_seats_left(self, client):
        SessionFactory(post__title="few", capacity=3)
        SessionFactory(post__title="many", capacity=50)
        assert _titles(_listing(client, sort="-seats_left")) == ["many", "few"]
        assert _titles(_listing(client, sort="seats_left")) == ["few", "many"]

    def test_school_level_bases_are_listed_only_for_students_of_contracted_schools(self, client):
        contract = SchoolContractFactory()
        SessionFactory(post__title="校级基地岗位", post__base=contract.base)
        own = StudentFactory(school_class__school=contract.school)
        other = StudentFactory()
        # (the page anyone sees comes from the cache the second time: read its text)
        assert "校级基地岗位" not in _listing(client).content.decode()
        client.force_login(other.user)
        assert "校级基地岗位" not in _listing(client).content.decode()
        client.force_login(own.user)
        assert _titles(_listing(client)) == ["校级基地岗位"]

    def test_the_number_of_queries_does_not_grow_with_the_page(
        self, client, django_assert_num_queries
    ):
        # district, count, page of posts, district tabs, category choices, and when the first
        # of its sessions starts or closes (how long the cached page holds)
        SessionFactory()
        with django_assert_num_queries(6):
            assert _listing(client).status_code == 200
        for _ in range(25):
            SessionFactory()
        with django_assert_num_queries(6):
            response = _listing(client)
            assert response.status_code == 200
        assert len(response.context["table"].page.object_list) == 20
        with django_assert_num_queries(6):
            assert _listing(client, page=2).status_code == 200

    def test_an_unknown_district_is_404(self, client):
        assert _listing(client, code="999999").status_code == 404


class TestPostPage:
    def test_it_shows_the_base_sessions_and_seats_left(self, client):
        session = SessionFactory(capacity=30, taken=12, post__base__name="徐汇区图书馆")
        response = client.get(reverse("bases:post-detail", args=[session.post_id]))
        text = response.content.decode()
        assert "徐汇区图书馆" in text
        assert "18" in text and "30" in text

    def test_a_draft_post_is_404(self, client):
        session = SessionFactory(post__status=PostStatus.DRAFT)
        assert client.get(reverse("bases:post-detail", args=[session.post_id])).status_code == 404

    def test_a_school_level_post_of_another_school_is_404(self, client):
        session = SessionFactory(post__base__level=BaseLevel.SCHOOL)
        client.force_login(StudentFactory().user)
        assert client.get(reverse("bases:post-detail", args=[session.post_id])).status_code == 404


class TestApplyingThroughTheWeb:
    def test_a_student_applies_and_sees_the_confirmation(self, client):
        session = SessionFactory(post__title="图书管理员")
        student = StudentFactory()
        client.login(username=student.user.username, password=PASSWORD)
        response = client.post(reverse("bases:session-apply", args=[session.pk]), follow=True)
        application = Application.objects.get(student=student)
        assert application.status == ApplicationStatus.CONFIRMED
        assert "图书管理员" in response.content.decode()
        assert response.request["PATH_INFO"] == reverse("bases:my-applications")

    def test_a_full_session_is_refused_and_offers_the_waiting_list(self, client):
        session = SessionFactory(capacity=1, taken=1)
        student = StudentFactory()
        client.force_login(student.user)
        response = client.post(reverse("bases:session-apply", args=[session.pk]), follow=True)
        assert not Application.objects.exists()
        assert reverse("bases:session-waitlist", args=[session.pk]) in response.content.decode()
        client.post(reverse("bases:session-waitlist", args=[session.pk]))
        assert Application.objects.get().status == ApplicationStatus.WAITLISTED

    def test_a_student_cancels_from_my_applications(self, client):
        session = SessionFactory()
        student = StudentFactory()
        client.force_login(student.user)
        client.post(reverse("bases:session-apply", args=[session.pk]))
        application = Application.objects.get()
        client.post(reverse("bases:application-cancel", args=[application.pk]))
        application.refresh_from_db()
        session.refresh_from_db()
        assert (application.status, session.taken) == (ApplicationStatus.CANCELLED, 0)

    def test_another_students_application_cannot_be_cancelled(self, client):
        session = SessionFactory()
        owner, outsider = StudentFactory(), StudentFactory()
        application = Application.objects.create(
            student=owner, session=session, status=ApplicationStatus.CONFIRMED
        )
        client.force_login(outsider.user)
        url = reverse("bases:application-cancel", args=[application.pk])
        assert client.post(url).status_code == 404

    def test_my_applications_lists_every_state(self, client):
        student = StudentFactory()
        for status in (ApplicationStatus.CONFIRMED, ApplicationStatus.WAITLISTED):
            Application.objects.create(student=student, session=SessionFactory(), status=status)
        client.force_login(student.user)
        response = client.get(reverse("bases:my-applications"))
        assert len(response.context["applications"]) == 2


def test_the_service_refuses_a_cancellation_by_anyone_but_the_student():
    from bases.errors import BaseError
    from bases.services.applications import application_cancel
    from tests.factories import ApplicationFactory, UserFactory

    application = ApplicationFactory()
    with pytest.raises(BaseError) as error:
        application_cancel(application=application, cancelled_by=UserFactory())
    assert error.value.code == "not_authorised"
    application.refresh_from_db()
    assert application.status == ApplicationStatus.CONFIRMED


class TestSearchAcrossDistricts:
    def _search(self, client, **params):
        return client.get(reverse("bases:post-search"), params)

    def test_a_keyword_finds_posts_of_every_district_by_title_base_category_or_address(
        self, client
    ):
        plain = {"post__description": "", "post__place": ""}
        SessionFactory(post__title="图书管理员", post__base__district=district("310104"), **plain)
        SessionFactory(
            post__title="导览讲解",
            post__base__name="浦东图书馆",
            post__base__district=district("310115"),
            **plain,
        )
        SessionFactory(
            post__title="社区服务",
            post__base__address="黄浦区图书馆路1号",
            post__base__district=district("310101"),
            **plain,
        )
        SessionFactory(post__title="垃圾分类宣传", post__base__district=district("310110"), **plain)
        response = self._search(client, q="图书馆")
        assert sorted(_titles(response)) == ["导览讲解", "社区服务"]
        assert sorted(_titles(self._search(client, q="图书"))) == [
            "图书管理员",
            "导览讲解",
            "社区服务",
        ]
        html = response.content.decode()
        assert "浦东图书馆 · 浦东新区" in html
        by_category = _titles(self._search(client, q=category().name_zh))
        assert len(by_category) == 4  # the factories' one category

    def test_the_grade_filter_keeps_posts_open_to_that_grade(self, client):
        SessionFactory(post__title="高一高二岗位", post__eligible_grades="12")
        SessionFactory(post__title="全年级岗位", post__eligible_grades="123")
        assert _titles(self._search(client, grade="3")) == ["全年级岗位"]
        assert sorted(_titles(self._search(client, grade="1"))) == ["全年级岗位", "高一高二岗位"]
        # The district listing has the same filter.
        assert _titles(_listing(client, grade="3")) == ["全年级岗位"]

    def test_another_schools_contracted_base_stays_hidden_and_nothing_found_says_so(self, client):
        SessionFactory(post__title="校内岗位", post__base__level=BaseLevel.SCHOOL)
        response = self._search(client, q="校内")
        assert _titles(response) == []
        assert "没有符合条件的开放岗位" in response.content.decode()

    def test_the_home_page_searches_every_district(self, client):
        html = client.get("/").content.decode()
        assert f'action="{reverse("bases:post-search")}"' in html and 'name="q"' in html
