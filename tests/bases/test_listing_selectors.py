"""The public listing by district: filters, seats left, next date, school-level visibility and
the open-post counts of the 16 districts."""

from datetime import date, datetime, timedelta

import pytest
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from bases.filters import PostListingFilter
from bases.models import BaseLevel, Post, PostStatus
from bases.selectors import open_post_counts_by_district, post_listing, viewer_school_id
from tests.factories import (
    BaseFactory,
    PostFactory,
    SchoolContractFactory,
    SchoolFactory,
    SessionFactory,
    StudentFactory,
    category,
    district,
)
from tests.queries import queries_for

from .conftest import HUANGPU, XUHUI

pytestmark = pytest.mark.django_db

SATURDAY, WEDNESDAY = 5, 2


def _next(weekday: int, after_days: int = 3) -> date:
    day = timezone.localdate() + timedelta(days=after_days)
    while day.weekday() != weekday:
        day += timedelta(days=1)
    return day


def _at(day: date, hour: int = 9) -> datetime:
    return timezone.make_aware(datetime.combine(day, datetime.min.time()).replace(hour=hour))


def _session(post, starts_at, capacity=10, taken=0, **fields):
    return SessionFactory(
        post=post,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(hours=3),
        capacity=capacity,
        taken=taken,
        applications_open_at=fields.pop("applications_open_at", timezone.now() - timedelta(days=1)),
        applications_close_at=fields.pop("applications_close_at", starts_at - timedelta(hours=12)),
        **fields,
    )


def _post(title="图书管理员", *, base=None, day=None, capacity=10, taken=0, **fields):
    """A published post in Xuhui with one session on `day` (default: in a week)."""
    post = PostFactory(title=title, base=base or BaseFactory(district=district(XUHUI)), **fields)
    _session(post, _at(day or timezone.localdate() + timedelta(days=7)), capacity, taken)
    return post


def _listing(data=None, *, code=XUHUI, school_id=None) -> list[Post]:
    """What the district page shows for these GET parameters, in the view's order."""
    session_q = PostListingFilter(data or None).session_q()
    queryset = post_listing(
        district=district(code), school_id=school_id, now=timezone.now(), session_q=session_q
    )
    return list(PostListingFilter(data or None, queryset=queryset).qs)


def _titles(posts):
    return sorted(post.title for post in posts)


class TestFilters:
    def test_without_filters_every_open_post_of_the_district_is_listed(self):
        _post("图书管理员")
        _post("医院分诊引导")
        _post("黄浦岗位", base=BaseFactory(district=district(HUANGPU)))
        assert _titles(_listing()) == ["医院分诊引导", "图书管理员"]

    def test_by_category(self):
        _post("图书管理员", category=category("volunteer_service"))
        _post("职业体验", category=category("career_experience"))
        data = {"category": str(category("career_experience").pk)}
        assert _titles(_listing(data)) == ["职业体验"]

    def test_by_base_level(self):
        _post("区级", base=BaseFactory(level=BaseLevel.DISTRICT, district=district(XUHUI)))
        _post("市级", base=BaseFactory(level=BaseLevel.CITY, district=district(XUHUI)))
        assert _titles(_listing({"level": BaseLevel.CITY})) == ["市级"]

    def test_by_date_range_counting_only_the_sessions_inside_it(self):
        soon = timezone.localdate() + timedelta(days=5)
        later = timezone.localdate() + timedelta(days=20)
        both = _post("两场", day=soon, capacity=10, taken=4)
        _session(both, _at(later), capacity=6)
        _post("只有后来", day=later)
        listed = _listing({"date_from": soon.isoformat(), "date_to": soon.isoformat()})
        assert _titles(listed) == ["两场"]
        assert listed[0].seats_left == 6
        assert listed[0].session_count == 1
        listed = _listing({"date_from": (soon + timedelta(days=1)).isoformat()})
        assert _titles(listed) == ["两场", "只有后来"]
        assert {p.title: p.seats_left for p in listed}["两场"] == 6

    def test_weekend_and_weekday(self):
        _post("周六", day=_next(SATURDAY))
        _post("周三", day=_next(WEDNESDAY))
        assert _titles(_listing({"days": "weekend"})) == ["周六"]
        assert _titles(_listing({"days": "weekday"})) == ["周三"]

    def test_a_post_with_weekday_and_weekend_sessions_counts_only_the_chosen_ones(self):
        both = _post("两种都有", day=_next(SATURDAY), capacity=10, taken=2)
        _session(both, _at(_next(WEDNESDAY)), capacity=5, taken=1)
        (weekday,) = _listing({"days": "weekday"})
        assert (weekday.title, weekday.seats_left, weekday.session_count) == ("两种都有", 4, 1)
        (weekend,) = _listing({"days": "weekend"})
        assert (weekend.seats_left, weekend.session_count) == (8, 1)
        (every,) = _listing()
        assert (every.seats_left, every.session_count) == (12, 2)

    def test_a_midnight_session_counts_on_its_shanghai_date(self):
        # Monday 00:00 in Shanghai is Sunday 16:00 UTC: a weekday on Monday, not a Sunday.
        saturday = _next(SATURDAY)
        post = PostFactory(title="夜场", base=BaseFactory(district=district(XUHUI)))
        _session(post, _at(saturday + timedelta(days=2), hour=0))
        assert _titles(_listing({"days": "weekday"})) == ["夜场"]
        assert _listing({"days": "weekend"}) == []
        monday = (saturday + timedelta(days=2)).isoformat()
        assert _titles(_listing({"date_from": monday, "date_to": monday})) == ["夜场"]

    def test_has_free_seats(self):
        _post("有空位", capacity=10, taken=9)
        _post("已满", capacity=10, taken=10)
        assert _titles(_listing({"free": "on"})) == ["有空位"]
        assert _titles(_listing({})) == ["已满", "有空位"]

    def test_keyword_matches_title_description_base_and_place_with_every_word(self):
        _post("图书管理员", description="整理图书", place="徐家汇藏书楼")
        _post(
            "分诊引导",
            description="门诊引导",
            base=BaseFactory(name="中山医院", district=district(XUHUI)),
        )
        _post("礼仪督导", description="艺术馆参观")
        assert _titles(_listing({"q": "图书"})) == ["图书管理员"]
        assert _titles(_listing({"q": "中山医院"})) == ["分诊引导"]
        assert _titles(_listing({"q": "艺术馆"})) == ["礼仪督导"]
        assert _titles(_listing({"q": "藏书楼"})) == ["图书管理员"]
        assert _titles(_listing({"q": "图书 艺术馆"})) == []

    def test_filters_combine(self):
        saturday = _next(SATURDAY)
        _post("周六志愿", day=saturday, category=category("volunteer_service"))
        _post("周六职业", day=saturday, category=category("career_experience"))
        _post("周三志愿", day=_next(WEDNESDAY), category=category("volunteer_service"))
        data = {"days": "weekend", "category": str(category("volunteer_service").pk)}
        assert _titles(_listing(data)) == ["周六志愿"]


class TestAnnotations:
    def test_seats_left_and_next_date_cover_only_sessions_still_open(self):
        post = _post("图书管理员", day=timezone.localdate() + timedelta(days=9), taken=3)
        first = _session(post, _at(timezone.localdate() + timedelta(days=4)), capacity=5, taken=5)
        _session(  # started yesterday
            post,
            timezone.now() - timedelta(days=1),
            capacity=50,
            applications_open_at=timezone.now() - timedelta(days=5),
            applications_close_at=timezone.now() - timedelta(days=2),
        )
        _session(  # still to come, but its window has closed
            post,
            timezone.now() + timedelta(hours=6),
            capacity=50,
            applications_close_at=timezone.now() - timedelta(minutes=5),
        )
        (listed,) = _listing()
        assert listed.seats_left == 7
        assert listed.next_starts_at == first.starts_at
        assert listed.session_count == 2

    def test_a_post_whose_sessions_are_all_over_is_not_listed(self):
        post = PostFactory(base=BaseFactory(district=district(XUHUI)))
        _session(
            post,
            timezone.now() - timedelta(days=2),
            applications_open_at=timezone.now() - timedelta(days=9),
            applications_close_at=timezone.now() - timedelta(days=3),
        )
        assert _listing() == []

    def test_posts_come_soonest_first(self):
        _post("后", day=timezone.localdate() + timedelta(days=10))
        _post("先", day=timezone.localdate() + timedelta(days=3))
        assert [p.title for p in _listing()] == ["先", "后"]

    def test_the_listing_is_one_query_whatever_its_size(self):
        xuhui = district(XUHUI)

        def rows():
            return [
                (p.title, p.base.name, p.base.district.name, p.category.name, p.seats_left)
                for p in post_listing(district=xuhui, school_id=None, now=timezone.now())
            ]

        for n in range(2):
            _post(f"岗位{n}")
        small, listed = queries_for(rows)
        assert len(listed) == 2
        for n in range(2, 12):
            _post(f"岗位{n}")
        large, listed = queries_for(rows)
        assert len(listed) == 12
        assert small == large == 1


class TestSchoolLevelVisibility:
    @pytest.fixture
    def school_base_post(self):
        base = BaseFactory(level=BaseLevel.SCHOOL, district=district(XUHUI))
        return _post("校签约岗位", base=base)

    def test_the_students_of_a_contracting_school_see_it(self, school_base_post):
        school = SchoolFactory()
        SchoolContractFactory(base=school_base_post.base, school=school)
        assert _titles(_listing(school_id=school.pk)) == ["校签约岗位"]
        xuhui = district(XUHUI).pk
        assert open_post_counts_by_district(school_id=school.pk, now=timezone.now())[xuhui] == 1

    def test_other_schools_and_the_public_do_not(self, school_base_post):
        SchoolContractFactory(base=school_base_post.base, school=SchoolFactory())
        other = SchoolFactory()
        assert _listing(school_id=other.pk) == []
        assert _listing(school_id=None) == []
        counts = open_post_counts_by_district(school_id=other.pk, now=timezone.now())
        assert counts.get(district(XUHUI).pk, 0) == 0

    def test_an_expired_contract_hides_it(self, school_base_post):
        school = SchoolFactory()
        SchoolContractFactory(
            base=school_base_post.base,
            school=school,
            valid_until=timezone.localdate() - timedelta(days=1),
        )
        assert _listing(school_id=school.pk) == []

    def test_the_viewer_school_is_the_students_or_the_teachers(self, student, head_teacher):
        school_id = student.school_class.school_id
        assert viewer_school_id(user=student.user) == school_id
        assert viewer_school_id(user=head_teacher) == school_id
        assert viewer_school_id(user=AnonymousUser()) is None


class TestCountsByDistrict:
    def test_each_district_counts_its_open_posts_once(self):
        two_sessions = _post("两场")
        _session(two_sessions, _at(timezone.localdate() + timedelta(days=12)))
        _post("一场")
        _post("黄浦", base=BaseFactory(district=district(HUANGPU)))
        _post("草稿", status=PostStatus.DRAFT)
        over = PostFactory(base=BaseFactory(district=district(XUHUI)))
        _session(
            over,
            timezone.now() - timedelta(days=1),
            applications_open_at=timezone.now() - timedelta(days=5),
            applications_close_at=timezone.now() - timedelta(days=2),
        )
        counts = open_post_counts_by_district(school_id=None, now=timezone.now())
        assert counts == {district(XUHUI).pk: 2, district(HUANGPU).pk: 1}

    def test_the_counts_are_one_query(self):
        school_id = StudentFactory().school_class.school_id

        def counts():
            return open_post_counts_by_district(school_id=school_id, now=timezone.now())

        _post("一")
        _post("二", base=BaseFactory(district=district(HUANGPU)))
        small, _ = queries_for(counts)
        for n, code in enumerate(["310101", "310104", "310115"] * 4):
            _post(f"岗位{n}", base=BaseFactory(district=district(code)))
        large, counted = queries_for(counts)
        assert sum(counted.values()) == 14
        assert small == large == 1
