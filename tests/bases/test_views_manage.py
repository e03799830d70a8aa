"""A coordinator's pages: my posts, writing a post, planning sessions, review, applicants."""

import io
from datetime import date, datetime, time, timedelta

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from bases.models import Allocation, ApplicationStatus, Post, PostStatus, Session
from portal.models import AuditLog, Role
from tests.factories import (
    ApplicationFactory,
    BaseFactory,
    DistrictAdminFactory,
    HeadTeacherFactory,
    PostFactory,
    SchoolAdminFactory,
    SessionFactory,
    StudentFactory,
    UserFactory,
    category,
)
from tests.queries import queries_for

pytestmark = pytest.mark.django_db

SATURDAY = 5


@pytest.fixture
def client(client):
    """Pages in English, so messages read the same whatever the catalogue holds."""
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


@pytest.fixture
def base():
    return BaseFactory(name="徐汇区图书馆")


@pytest.fixture
def owned(base):
    """Owner and colleague coordinate this base; the outsider coordinates another."""
    return base


def _form(prefix: str, **fields) -> dict:
    return {f"{prefix}-{name}": value for name, value in fields.items()}


def _day(days: int) -> date:
    return timezone.localdate() + timedelta(days=days)


def _next_weekday(weekday: int, at_least: int = 7) -> date:
    day = _day(at_least)
    return day + timedelta(days=(weekday - day.weekday()) % 7)


def _now_local() -> str:
    return timezone.localtime().strftime("%Y-%m-%dT%H:%M")


def _plan(**overrides) -> dict:
    return {
        "capacity": 30,
        "allocation": Allocation.FIRST_COME,
        "applications_open_at": _now_local(),
        "close_hours_before": 24,
        "cancel_hours_before": "",
    } | overrides


OTHER_ROLES = [
    pytest.param(lambda: StudentFactory().user, id="student"),
    pytest.param(lambda: HeadTeacherFactory().user, id="head_teacher"),
    pytest.param(lambda: SchoolAdminFactory().user, id="school_admin"),
    pytest.param(lambda: DistrictAdminFactory().user, id="district_admin"),
    pytest.param(lambda: UserFactory(role=Role.CITY_ADMIN), id="city_admin"),
]


# ------------------------------------------------------------------------------
# My posts
# ------------------------------------------------------------------------------
class TestMyPosts:
    def test_it_lists_the_posts_of_my_bases_with_their_status(self, client, owner, base):
        PostFactory(base=base, title="图书管理员", status=PostStatus.PUBLISHED)
        PostFactory(base=base, title="阅览室引导", status=PostStatus.IN_REVIEW)
        PostFactory(base__name="别处", title="别处的岗位")
        client.force_login(owner)
        response = client.get(reverse("bases:my-posts"))
        page = response.content.decode()
        assert response.status_code == 200
        titles = {post.title for post in response.context["page"].object_list}
        assert titles == {"图书管理员", "阅览室引导"}
        assert "Published" in page and "In review" in page
        assert "别处的岗位" not in page

    def test_a_returned_post_shows_the_district_admins_reason(self, client, owner, base):
        PostFactory(base=base, status=PostStatus.DRAFT, review_note="请补充安全要求")
        client.force_login(owner)
        page = client.get(reverse("bases:my-posts")).content.decode()
        assert "Returned" in page
        assert "请补充安全要求" in page

    def test_a_colleague_at_the_same_base_sees_the_same_posts(self, client, colleague, base):
        PostFactory(base=base, title="图书管理员")
        client.force_login(colleague)
        response = client.get(reverse("bases:my-posts"))
        assert [p.title for p in response.context["page"].object_list] == ["图书管理员"]

    def test_it_offers_a_new_post_and_says_when_there_is_none(self, client, owner, base):
        client.force_login(owner)
        page = client.get(reverse("bases:my-posts")).content.decode()
        assert reverse("bases:post-create", args=[base.pk]) in page
        assert 'class="empty"' in page

    @pytest.mark.parametrize("make_user", OTHER_ROLES)
    def test_other_roles_get_404(self, client, make_user):
        client.force_login(make_user())
        assert client.get(reverse("bases:my-posts")).status_code == 404

    def test_signed_out_visitors_are_sent_to_sign_in(self, client):
        response = client.get(reverse("bases:my-posts"))
        assert response.status_code == 302
        assert response.url.startswith(reverse("login"))

    def test_the_number_of_queries_does_not_grow_with_the_posts(self, client, owner, base):
        url = reverse("bases:my-posts")

        def add_posts(numbers):
            for n in numbers:
                SessionFactory(post=PostFactory(base=base, title=f"岗位{n}"))

        add_posts(range(2))
        client.force_login(owner)
        small, _ = queries_for(lambda: client.get(url))
        add_posts(range(2, 12))
        large, response = queries_for(lambda: client.get(url))
        assert len(response.context["page"].object_list) == 12
        # session, user, bases, count, page
        assert small == large <= 5

    def test_the_dashboard_links_to_my_posts(self, client, owner, base):
        client.force_login(owner)
        page = client.get(reverse("dashboards:dashboard-coordinator")).content.decode()
        assert reverse("bases:my-posts") in page
        assert reverse("bases:post-create", args=[base.pk]) in page


# ------------------------------------------------------------------------------
# Writing a post
# ------------------------------------------------------------------------------
POST_DATA = {
    "title": "  图书   管理员 ",
    "description": "整理图书",
    "requirements": "细心",
    "place": "一楼服务台",
    "eligible_grades": ["1", "3"],
}


class TestPostCreate:
    def test_it_saves_a_draft_and_opens_its_page(self, client, owner, base):
        client.force_login(owner)
        response = client.post(
            reverse("bases:post-create", args=[base.pk]),
            POST_DATA | {"category": category().pk},
        )
        post = Post.objects.get()
        assert response.status_code == 302
        assert response.url == reverse("bases:post-manage", args=[post.pk]) + "#sessions"
        assert (post.title, post.status, post.eligible_grades) == ("图书 管理员", "draft", "13")
        assert post.created_by == owner

    def test_it_renders_the_form_with_every_grade_ticked(self, client, owner, base):
        client.force_login(owner)
        response = client.get(reverse("bases:post-create", args=[base.pk]))
        assert response.status_code == 200
        assert response.context["form"]["eligible_grades"].value() == ["1", "2", "3"]

    def test_without_a_grade_it_says_so_and_saves_nothing(self, client, owner, base):
        client.force_login(owner)
        data = POST_DATA | {"category": category().pk, "eligible_grades": []}
        response = client.post(reverse("bases:post-create", args=[base.pk]), data)
        assert response.status_code == 200
        assert "Choose at least one grade." in response.content.decode()
        assert not Post.objects.exists()

    def test_it_is_404_for_another_base(self, client, outsider, base):
        client.force_login(outsider)
        data = POST_DATA | {"category": category().pk}
        assert client.post(reverse("bases:post-create", args=[base.pk]), data).status_code == 404
        assert not Post.objects.exists()


class TestPostEdit:
    def test_editing_a_published_post_sends_it_back_to_review(self, client, owner, base):
        post = PostFactory(base=base, status=PostStatus.PUBLISHED)
        client.force_login(owner)
        response = client.post(
            reverse("bases:post-edit", args=[post.pk]),
            POST_DATA | {"category": category("career_experience").pk, "title": "新标题"},
        )
        post.refresh_from_db()
        assert response.status_code == 302
        assert (post.title, post.status, post.category.code) == (
            "新标题",
            PostStatus.IN_REVIEW,
            "career_experience",
        )

    def test_the_form_starts_from_the_post(self, client, owner, base):
        post = PostFactory(base=base, eligible_grades="12", title="图书管理员")
        client.force_login(owner)
        form = client.get(reverse("bases:post-edit", args=[post.pk])).context["form"]
        assert form["title"].value() == "图书管理员"
        assert form["eligible_grades"].value() == ["1", "2"]

    def test_it_is_404_for_another_bases_post(self, client, outsider, base):
        post = PostFactory(base=base, title="原标题")
        client.force_login(outsider)
        data = POST_DATA | {"category": category().pk}
        assert client.post(reverse("bases:post-edit", args=[post.pk]), data).status_code == 404
        post.refresh_from_db()
        assert post.title == "原标题"


# ------------------------------------------------------------------------------
# The post's manage page and its sessions
# ------------------------------------------------------------------------------
class TestManagePage:
    def test_it_lists_the_sessions_with_seats_taken_and_window(self, client, owner, base):
        post = PostFactory(base=base)
        session = SessionFactory(post=post, capacity=20, taken=3)
        ApplicationFactory(session=session)
        client.force_login(owner)
        response = client.get(reverse("bases:post-manage", args=[post.pk]))
        page = response.content.decode()
        assert response.status_code == 200
        assert timezone.localtime(session.starts_at).strftime("%Y-%m-%d") in page
        assert "09:00–12:00" in page
        assert reverse("bases:session-applicants", args=[session.pk]) in page
        assert "1 applicant" in page

    def test_a_colleague_may_open_it_and_an_outsider_gets_404(
        self, client, colleague, outsider, base
    ):
        post = PostFactory(base=base)
        client.force_login(colleague)
        assert client.get(reverse("bases:post-manage", args=[post.pk])).status_code == 200
        client.force_login(outsider)
        assert client.get(reverse("bases:post-manage", args=[post.pk])).status_code == 404

    @pytest.mark.parametrize("make_user", OTHER_ROLES)
    def test_other_roles_get_404(self, client, make_user, base):
        post = PostFactory(base=base)
        client.force_login(make_user())
        assert client.get(reverse("bases:post-manage", args=[post.pk])).status_code == 404

    def test_a_returned_post_shows_the_reason(self, client, owner, base):
        post = PostFactory(base=base, status=PostStatus.DRAFT, review_note="时间写错了")
        client.force_login(owner)
        page = client.get(reverse("bases:post-manage", args=[post.pk])).content.decode()
        assert "Returned by the district admin" in page
        assert "时间写错了" in page

    def test_a_lottery_session_links_to_its_draw(self, client, owner, base):
        session = SessionFactory(post__base=base, allocation=Allocation.LOTTERY)
        client.force_login(owner)
        page = client.get(reverse("bases:post-manage", args=[session.post_id])).content.decode()
        assert reverse("bases:session-lottery", args=[session.pk]) in page

    def test_the_number_of_queries_does_not_grow_with_the_sessions(self, client, owner, base):
        post = PostFactory(base=base)
        url = reverse("bases:post-manage", args=[post.pk])
        start = timezone.localtime() + timedelta(days=3)

        def add_sessions(days):
            for n in days:
                session = SessionFactory(post=post, starts_at=start + timedelta(days=n))
                ApplicationFactory(session=session)

        add_sessions(range(2))
        client.force_login(owner)
        small, _ = queries_for(lambda: client.get(url))
        add_sessions(range(2, 15))
        large, response = queries_for(lambda: client.get(url))
        assert len(response.context["sessions"]) == 15
        # session, user, post, sessions with their counts
        assert small == large <= 4


class TestSessionCreate:
    def _post(self, client, post, **fields):
        data = _form(
            "one",
            **(
                {"day": _day(10).isoformat(), "start_time": "09:00", "end_time": "12:00"}
                | _plan()
                | fields
            ),
        )
        return client.post(reverse("bases:session-create", args=[post.pk]), data)

    def test_it_adds_a_session_at_the_local_time_with_its_window(self, client, owner, base):
        post = PostFactory(base=base, status=PostStatus.DRAFT)
        client.force_login(owner)
        response = self._post(
            client, post, allocation=Allocation.LOTTERY, capacity=12, cancel_hours_before=48
        )
        assert response.status_code == 302
        session = Session.objects.get(post=post)
        start = timezone.make_aware(datetime.combine(_day(10), time(9, 0)))
        assert session.starts_at == start
        assert session.ends_at == start + timedelta(hours=3)
        assert (session.capacity, session.allocation) == (12, Allocation.LOTTERY)
        assert session.applications_close_at == start - timedelta(hours=24)
        assert session.cancel_cutoff_at == start - timedelta(hours=48)

    def test_a_session_ending_before_it_starts_is_refused_and_nothing_saved(
        self, client, owner, base
    ):
        post = PostFactory(base=base)
        client.force_login(owner)
        response = self._post(client, post, start_time="12:00", end_time="09:00")
        assert response.status_code == 200
        assert "A session must end after it starts." in response.content.decode()
        assert response.context["open_form"] == "one"
        assert not Session.objects.exists()

    def test_a_session_in_the_past_is_refused(self, client, owner, base):
        post = PostFactory(base=base)
        client.force_login(owner)
        response = self._post(client, post, day=_day(-1).isoformat())
        assert "A new session must start in the future." in response.content.decode()
        assert not Session.objects.exists()

    def test_a_missing_capacity_is_shown_next_to_the_field(self, client, owner, base):
        post = PostFactory(base=base)
        client.force_login(owner)
        response = self._post(client, post, capacity="")
        assert response.context["session_form"].errors["capacity"]
        assert not Session.objects.exists()

    def test_it_is_404_for_another_bases_post(self, client, outsider, base):
        post = PostFactory(base=base)
        client.force_login(outsider)
        assert self._post(client, post).status_code == 404
        assert not Session.objects.exists()

    def test_it_takes_only_post(self, client, owner, base):
        post = PostFactory(base=base)
        client.force_login(owner)
        assert client.get(reverse("bases:session-create", args=[post.pk])).status_code == 405


class TestSessionSeries:
    def _post(self, client, post, **fields):
        data = _form(
            "series",
            **(
                {
                    "first_day": _next_weekday(SATURDAY).isoformat(),
                    "weekdays": [SATURDAY],
                    "weeks": 8,
                    "start_time": "09:00",
                    "end_time": "12:00",
                }
                | _plan()
                | fields
            ),
        )
        return client.post(reverse("bases:session-series-create", args=[post.pk]), data)

    def test_every_saturday_morning_for_8_weeks_makes_8_sessions(self, client, owner, base):
        post = PostFactory(base=base, status=PostStatus.DRAFT)
        client.force_login(owner)
        response = self._post(client, post)
        assert response.status_code == 302
        sessions = list(Session.objects.filter(post=post).order_by("starts_at"))
        first = _next_weekday(SATURDAY)
        assert [timezone.localtime(s.starts_at).date() for s in sessions] == [
            first + timedelta(weeks=n) for n in range(8)
        ]
        assert {timezone.localtime(s.starts_at).time() for s in sessions} == {time(9, 0)}
        assert {timezone.localtime(s.ends_at).time() for s in sessions} == {time(12, 0)}
        messages = [str(m) for m in response.wsgi_request._messages]
        assert any("8 sessions added" in m for m in messages)

    def test_two_weekdays_for_two_weeks_makes_four(self, client, owner, base):
        post = PostFactory(base=base)
        client.force_login(owner)
        self._post(client, post, weekdays=[SATURDAY, SATURDAY + 1], weeks=2)
        days = {timezone.localtime(s.starts_at).weekday() for s in Session.objects.all()}
        assert Session.objects.count() == 4
        assert days == {SATURDAY, SATURDAY + 1}

    def test_without_a_weekday_it_says_so_and_saves_nothing(self, client, owner, base):
        post = PostFactory(base=base)
        client.force_login(owner)
        response = self._post(client, post, weekdays=[])
        assert "Choose at least one day of the week." in response.content.decode()
        assert response.context["open_form"] == "series"
        assert not Session.objects.exists()

    def test_one_bad_date_adds_none_of_the_series(self, client, owner, base):
        post = PostFactory(base=base)
        client.force_login(owner)
        yesterday = _day(-1)
        response = self._post(
            client, post, first_day=yesterday.isoformat(), weekdays=list(range(7))
        )
        assert "A new session must start in the future." in response.content.decode()
        assert not Session.objects.exists()

    def test_it_is_404_for_another_bases_post(self, client, outsider, base):
        post = PostFactory(base=base)
        client.force_login(outsider)
        assert self._post(client, post).status_code == 404
        assert not Session.objects.exists()


class TestSessionDelete:
    def test_a_session_without_applicants_is_removed(self, client, owner, base):
        session = SessionFactory(post__base=base)
        client.force_login(owner)
        response = client.post(reverse("bases:session-delete", args=[session.pk]))
        assert response.status_code == 302
        assert not Session.objects.exists()

    def test_a_session_with_applicants_stays_with_a_clear_message(self, client, owner, base):
        session = SessionFactory(post__base=base)
        ApplicationFactory(session=session)
        client.force_login(owner)
        response = client.post(reverse("bases:session-delete", args=[session.pk]), follow=True)
        assert "Students have applied for this session" in response.content.decode()
        assert Session.objects.filter(pk=session.pk).exists()

    def test_it_is_404_for_another_bases_session(self, client, outsider, base):
        session = SessionFactory(post__base=base)
        client.force_login(outsider)
        assert client.post(reverse("bases:session-delete", args=[session.pk])).status_code == 404
        assert Session.objects.filter(pk=session.pk).exists()


class TestSubmitAndClose:
    def test_a_draft_with_sessions_goes_to_review(self, client, owner, base):
        session = SessionFactory(post__base=base, post__status=PostStatus.DRAFT)
        client.force_login(owner)
        response = client.post(reverse("bases:post-submit", args=[session.post_id]), follow=True)
        session.post.refresh_from_db()
        assert session.post.status == PostStatus.IN_REVIEW
        assert "Sent for review" in response.content.decode()

    def test_a_draft_without_sessions_stays_a_draft_with_a_clear_message(self, client, owner, base):
        post = PostFactory(base=base, status=PostStatus.DRAFT)
        client.force_login(owner)
        response = client.post(reverse("bases:post-submit", args=[post.pk]), follow=True)
        post.refresh_from_db()
        assert post.status == PostStatus.DRAFT
        assert "Add at least one session" in response.content.decode()

    def test_closing_takes_the_post_out_of_the_listing(self, client, owner, base):
        session = SessionFactory(post__base=base)
        client.force_login(owner)
        client.post(reverse("bases:post-close", args=[session.post_id]))
        session.post.refresh_from_db()
        assert session.post.status == PostStatus.CLOSED
        client.logout()
        assert client.get(reverse("bases:post-detail", args=[session.post_id])).status_code == 404

    def test_an_outsider_can_neither_submit_nor_close(self, client, outsider, base):
        post = PostFactory(base=base, status=PostStatus.DRAFT)
        SessionFactory(post=post)
        client.force_login(outsider)
        assert client.post(reverse("bases:post-submit", args=[post.pk])).status_code == 404
        assert client.post(reverse("bases:post-close", args=[post.pk])).status_code == 404
        post.refresh_from_db()
        assert post.status == PostStatus.DRAFT


# ------------------------------------------------------------------------------
# Applicants and their spreadsheet
# ------------------------------------------------------------------------------
@pytest.fixture
def applicants(base):
    session = SessionFactory(post__base=base, post__title="图书管理员")
    first = ApplicationFactory(
        session=session,
        student__name="李明",
        student__student_number="0031010420090101",
        student__school_class__school__name="上海中学",
    )
    second = ApplicationFactory(
        session=session,
        status=ApplicationStatus.WAITLISTED,
        student__name='=HYPERLINK("http://x")',
        student__student_number="G310104200901019999",
    )
    return session, first, second


class TestApplicants:
    def test_it_lists_name_school_class_masked_number_and_state(self, client, owner, applicants):
        session, first, second = applicants
        client.force_login(owner)
        response = client.get(reverse("bases:session-applicants", args=[session.pk]))
        page = response.content.decode()
        assert response.status_code == 200
        assert "李明" in page and "上海中学" in page
        assert first.student.school_class.name in page
        assert "0031*********101" in page
        assert "0031010420090101" not in page
        assert "Confirmed" in page and "Waiting list" in page

    def test_a_lottery_session_shows_the_draw_and_links_to_it(self, client, owner, base):
        session = SessionFactory(post__base=base, allocation=Allocation.LOTTERY)
        ApplicationFactory(session=session, draw_position=2, status=ApplicationStatus.WAITLISTED)
        client.force_login(owner)
        page = client.get(reverse("bases:session-applicants", args=[session.pk])).content.decode()
        assert reverse("bases:session-lottery", args=[session.pk]) in page
        assert 'class="num">2</td>' in page

    def test_an_empty_session_says_so(self, client, owner, base):
        session = SessionFactory(post__base=base)
        client.force_login(owner)
        page = client.get(reverse("bases:session-applicants", args=[session.pk])).content.decode()
        assert "Nobody has applied for this session yet." in page

    def test_it_is_404_for_another_base_and_other_roles(self, client, outsider, applicants):
        session = applicants[0]
        client.force_login(outsider)
        url = reverse("bases:session-applicants", args=[session.pk])
        assert client.get(url).status_code == 404
        client.force_login(DistrictAdminFactory().user)
        assert client.get(url).status_code == 404

    def test_the_number_of_queries_does_not_grow_with_the_applicants(self, client, owner, base):
        session = SessionFactory(post__base=base)
        url = reverse("bases:session-applicants", args=[session.pk])
        ApplicationFactory.create_batch(2, session=session)
        client.force_login(owner)
        small, _ = queries_for(lambda: client.get(url))
        ApplicationFactory.create_batch(18, session=session)
        large, response = queries_for(lambda: client.get(url))
        assert response.content.decode().count('data-testid="applicant-row"') == 20
        # session, user, the session, the applicants with school and class
        assert small == large <= 4


class TestApplicantsSpreadsheet:
    def _download(self, client, session):
        response = client.get(reverse("bases:session-applicants-xlsx", args=[session.pk]))
        assert response.status_code == 200
        assert response["Content-Type"].startswith("application/vnd.openxmlformats")
        assert "attachment" in response["Content-Disposition"]
        return load_workbook(io.BytesIO(response.content)).active

    def test_it_opens_with_the_applicants_as_rows(self, client, owner, applicants):
        session, first, second = applicants
        client.force_login(owner)
        sheet = self._download(client, session)
        rows = [list(row) for row in sheet.iter_rows(values_only=True)]
        assert rows[0][:5] == ["Name", "School", "Class", "Student number", "Status"]
        assert [row[0] for row in rows[1:]] == ["李明", '\'=HYPERLINK("http://x")']
        assert rows[1][1] == "上海中学"
        assert rows[1][4] == "Confirmed" and rows[2][4] == "Waiting list"

    def test_student_numbers_are_masked_text_cells(self, client, owner, applicants):
        session = applicants[0]
        client.force_login(owner)
        cell = self._download(client, session)["D2"]
        assert (cell.value, cell.data_type) == ("0031*********101", "s")

    def test_the_sheet_is_titled_in_the_active_language(self, client, owner, applicants):
        session = applicants[0]
        client.force_login(owner)
        day = timezone.localtime(session.starts_at).date().isoformat()
        assert self._download(client, session).title == f"Applicants {day}"

    def test_each_download_is_audited(self, client, owner, applicants):
        session = applicants[0]
        client.force_login(owner)
        self._download(client, session)
        entry = AuditLog.objects.get(action="session.applicants_export")
        assert (entry.actor, entry.object_id) == (owner, str(session.pk))

    def test_it_is_404_for_another_base(self, client, outsider, applicants):
        client.force_login(outsider)
        url = reverse("bases:session-applicants-xlsx", args=[applicants[0].pk])
        assert client.get(url).status_code == 404
        assert not AuditLog.objects.filter(action="session.applicants_export").exists()
