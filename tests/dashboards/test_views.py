import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from districts.models import District
from portal.models import Notification, Role
from tests.factories import (
    PASSWORD,
    BaseFactory,
    CoordinatorFactory,
    DistrictAdminFactory,
    HeadTeacherFactory,
    PostFactory,
    SchoolAdminFactory,
    SchoolClassFactory,
    SchoolFactory,
    StudentFactory,
    UserFactory,
    district,
)

pytestmark = pytest.mark.django_db

DASHBOARDS = {
    Role.STUDENT: "/dashboard/student/",
    Role.COORDINATOR: "/dashboard/coordinator/",
    Role.HEAD_TEACHER: "/dashboard/teacher/",
    Role.SCHOOL_ADMIN: "/dashboard/school/",
    Role.DISTRICT_ADMIN: "/dashboard/district/",
    Role.CITY_ADMIN: "/dashboard/city/",
}
XUHUI, HUANGPU = "310104", "310101"


@pytest.fixture(autouse=True)
def _language_reset():
    """LocaleMiddleware leaves the last request's language active in the thread; reset it."""
    yield
    translation.deactivate()


def sign_in(client, user):
    """Sign in through the login form and return the page the user lands on."""
    response = client.post(
        "/accounts/login/", {"username": user.username, "password": PASSWORD}, follow=True
    )
    assert response.status_code == 200
    assert response.wsgi_request.user == user
    return response


def scope_section(response) -> str:
    html = response.content.decode()
    match = re.search(r'data-testid="scope">(.*?)</section>', html, re.S)
    assert match, "the dashboard has no scope section"
    return match.group(1)


def in_chinese(value) -> str:
    with translation.override("zh-hans"):
        return str(value)


def make_student():
    school_class = SchoolClassFactory(school__name="徐汇中学", number=3)
    return StudentFactory(name="李明", school_class=school_class).user


def make_coordinator():
    return CoordinatorFactory(base__name="徐汇区图书馆").user


def make_head_teacher():
    school_class = SchoolClassFactory(school__name="徐汇中学", number=3)
    return HeadTeacherFactory(school_class=school_class).user


def make_school_admin():
    return SchoolAdminFactory(school__name="徐汇中学", school__code="XH0001").user


def make_district_admin():
    return DistrictAdminFactory(district=district(XUHUI)).user


def make_city_admin():
    return UserFactory(role=Role.CITY_ADMIN)


PERSONAS = {
    Role.STUDENT: make_student,
    Role.COORDINATOR: make_coordinator,
    Role.HEAD_TEACHER: make_head_teacher,
    Role.SCHOOL_ADMIN: make_school_admin,
    Role.DISTRICT_ADMIN: make_district_admin,
    Role.CITY_ADMIN: make_city_admin,
}


class TestSignIn:
    @pytest.mark.parametrize("role", PERSONAS)
    def test_each_role_lands_on_its_own_dashboard_after_signing_in(self, client, role):
        response = sign_in(client, PERSONAS[role]())
        assert response.redirect_chain[-1] == (DASHBOARDS[role], 302)
        assert 'data-testid="dashboard-title"' in response.content.decode()

    def test_a_user_without_a_role_lands_on_the_no_role_page(self, client):
        response = sign_in(client, UserFactory(role=""))
        assert response.redirect_chain[-1] == ("/dashboard/none/", 302)

    @pytest.mark.parametrize("url", ["/dashboard/", "/dashboard/none/", *DASHBOARDS.values()])
    def test_an_anonymous_visitor_is_sent_to_sign_in(self, client, url):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"] == f"/accounts/login/?next={url}"


class TestScope:
    def test_the_student_dashboard_shows_the_students_school_and_class(self, client):
        user = make_student()
        student = user.student
        StudentFactory(name="王芳", school_class__school__name="黄浦中学")
        sign_in(client, user)
        scope = scope_section(client.get(DASHBOARDS[Role.STUDENT]))
        assert "李明" in scope
        assert "徐汇中学" in scope
        assert in_chinese(student.school_class.name) in scope
        assert "徐汇区" in scope
        assert student.masked_student_number in scope
        assert student.student_number not in scope
        assert "王芳" not in scope and "黄浦中学" not in scope

    def test_the_coordinator_dashboard_shows_their_base_only(self, client):
        user = make_coordinator()
        BaseFactory(name="黄浦区博物馆", district=district(HUANGPU))
        sign_in(client, user)
        scope = scope_section(client.get(DASHBOARDS[Role.COORDINATOR]))
        assert "徐汇区图书馆" in scope
        assert "黄浦区博物馆" not in scope

    def test_the_head_teacher_dashboard_shows_their_school_and_class(self, client):
        user = make_head_teacher()
        assignment = user.teacher_assignments.get()
        StudentFactory.create_batch(2, school_class=assignment.school_class)
        HeadTeacherFactory(school_class__school__name="黄浦中学")
        sign_in(client, user)
        scope = scope_section(client.get(DASHBOARDS[Role.HEAD_TEACHER]))
        assert "徐汇中学" in scope
        assert in_chinese(assignment.school_class.name) in scope
        assert "黄浦中学" not in scope

    def test_the_school_admin_dashboard_shows_their_school(self, client):
        user = make_school_admin()
        SchoolFactory(name="黄浦中学", code="HP0001")
        sign_in(client, user)
        scope = scope_section(client.get(DASHBOARDS[Role.SCHOOL_ADMIN]))
        assert "徐汇中学" in scope and "XH0001" in scope and "徐汇区" in scope
        assert "黄浦中学" not in scope and "HP0001" not in scope

    def test_the_district_admin_dashboard_shows_their_district(self, client):
        user = make_district_admin()
        SchoolFactory.create_batch(2, district=district(XUHUI))
        SchoolFactory(district=district(HUANGPU))
        sign_in(client, user)
        scope = scope_section(client.get(DASHBOARDS[Role.DISTRICT_ADMIN]))
        assert "徐汇区" in scope and XUHUI in scope
        assert "黄浦区" not in scope and HUANGPU not in scope
        assert re.search(r"<dd>\s*2\s*</dd>", scope)  # the two schools of Xuhui, not Huangpu's

    def test_the_city_admin_dashboard_shows_all_sixteen_districts(self, client):
        sign_in(client, make_city_admin())
        scope = scope_section(client.get(DASHBOARDS[Role.CITY_ADMIN]))
        for each in District.objects.all():
            assert each.code in scope and each.name_zh in scope


class TestOtherRolesDashboards:
    @pytest.mark.parametrize("role", PERSONAS)
    def test_a_user_gets_404_for_every_other_roles_dashboard(self, client, role):
        sign_in(client, PERSONAS[role]())
        for other, url in DASHBOARDS.items():
            if other != role:
                assert client.get(url).status_code == 404, url

    def test_a_user_without_a_role_gets_404_for_every_role_dashboard(self, client):
        sign_in(client, UserFactory(role=""))
        for url in DASHBOARDS.values():
            assert client.get(url).status_code == 404, url


class TestLanguage:
    def test_the_switcher_turns_the_dashboard_english(self, client):
        sign_in(client, make_student())
        url = DASHBOARDS[Role.STUDENT]
        chinese = client.get(url).content.decode()
        assert '<html lang="zh-CN">' in chinese
        assert "徐汇区" in chinese

        response = client.post("/i18n/setlang/", {"language": "en", "next": url})
        assert response.status_code == 302
        assert response["Location"] == url

        english = client.get(url).content.decode()
        assert '<html lang="en">' in english
        assert "Student dashboard" in english
        assert "Xuhui District" in scope_section(client.get(url))
        assert "徐汇区" not in english

    def test_the_switcher_turns_it_back_to_chinese(self, client):
        sign_in(client, make_district_admin())
        url = DASHBOARDS[Role.DISTRICT_ADMIN]
        client.post("/i18n/setlang/", {"language": "en", "next": url})
        client.post("/i18n/setlang/", {"language": "zh-hans", "next": url})
        chinese = client.get(url).content.decode()
        assert '<html lang="zh-CN">' in chinese
        assert "徐汇区" in chinese and "Xuhui District" not in chinese


def notify(user, count: int) -> None:
    Notification.objects.bulk_create(
        Notification(user=user, message=f"候补转正 {n}", url="/") for n in range(count)
    )


def more_bases(user, count: int) -> None:
    for _ in range(count):
        PostFactory(base=CoordinatorFactory(user=user).base)


def more_classmates(user, count: int) -> None:
    StudentFactory.create_batch(count, school_class=user.teacher_assignments.get().school_class)


def more_classes_and_students(user, count: int) -> None:
    school = user.teacher_assignments.get().school
    for number in range(10, 10 + count):
        StudentFactory(school_class=SchoolClassFactory(school=school, number=number))


def more_schools_and_bases(user, count: int) -> None:
    SchoolFactory.create_batch(count, district=user.district_admin.district)
    BaseFactory.create_batch(count, district=user.district_admin.district)


def more_of_everything(user, count: int) -> None:
    for code in (XUHUI, HUANGPU):
        SchoolFactory.create_batch(count, district=district(code))
        BaseFactory.create_batch(count, district=district(code))


def more_classes_to_head(user, count: int) -> None:
    for _ in range(count):
        HeadTeacherFactory(user=user, school_class=SchoolClassFactory(school__name="徐汇中学"))


def more_schools_to_run(user, count: int) -> None:
    SchoolAdminFactory.create_batch(count, user=user)


GROWTH = [
    pytest.param(Role.STUDENT, lambda user, count: None, id="student-notifications"),
    pytest.param(Role.COORDINATOR, more_bases, id="coordinator-bases"),
    pytest.param(Role.HEAD_TEACHER, more_classmates, id="head-teacher-students"),
    pytest.param(Role.SCHOOL_ADMIN, more_classes_and_students, id="school-admin-classes"),
    pytest.param(Role.DISTRICT_ADMIN, more_schools_and_bases, id="district-admin-schools"),
    pytest.param(Role.CITY_ADMIN, more_of_everything, id="city-admin-schools"),
    pytest.param(Role.HEAD_TEACHER, more_classes_to_head, id="head-teacher-classes"),
    pytest.param(Role.SCHOOL_ADMIN, more_schools_to_run, id="school-admin-schools"),
]


class TestQueryCount:
    @pytest.mark.parametrize("role, grow", GROWTH)
    def test_the_dashboard_makes_no_more_queries_for_a_big_scope_than_for_a_small_one(
        self, client, django_assert_num_queries, django_assert_max_num_queries, role, grow
    ):
        user = PERSONAS[role]()
        notify(user, 1)
        sign_in(client, user)
        url = DASHBOARDS[role]
        # The student's dashboard adds its reliability card: policy, events, lifts.
        cap = 11 if role == Role.STUDENT else 8
        with django_assert_max_num_queries(cap), CaptureQueriesContext(connection) as small:
            assert client.get(url).status_code == 200

        grow(user, 12)
        notify(user, 12)
        with django_assert_num_queries(len(small)):
            response = client.get(url)
        assert response.status_code == 200
        # The latest five; the rest are on the notifications page.
        assert response.content.decode().count("候补转正") == 5
