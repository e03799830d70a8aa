import pytest
from django.http import Http404

from districts.selectors import district_get_for_user, district_list_for_user
from portal.models import Role
from tests.factories import (
    CoordinatorFactory,
    DistrictAdminFactory,
    HeadTeacherFactory,
    SchoolAdminFactory,
    StudentFactory,
    UserFactory,
    district,
)

pytestmark = pytest.mark.django_db

XUHUI, HUANGPU = "310104", "310101"


def test_a_district_admin_gets_their_own_district():
    admin = DistrictAdminFactory(district=district(XUHUI)).user
    assert district_get_for_user(user=admin, district_id=district(XUHUI).pk) == district(XUHUI)


def test_a_colleague_of_the_same_district_gets_it_too():
    DistrictAdminFactory(district=district(XUHUI))
    colleague = DistrictAdminFactory(district=district(XUHUI)).user
    assert district_get_for_user(user=colleague, district_id=district(XUHUI).pk)


def test_a_district_admin_gets_404_for_another_district():
    admin = DistrictAdminFactory(district=district(XUHUI)).user
    with pytest.raises(Http404):
        district_get_for_user(user=admin, district_id=district(HUANGPU).pk)


def test_a_district_admin_lists_only_their_district():
    admin = DistrictAdminFactory(district=district(XUHUI)).user
    assert list(district_list_for_user(user=admin)) == [district(XUHUI)]


def test_the_city_admin_gets_every_district():
    city_admin = UserFactory(role=Role.CITY_ADMIN)
    assert district_list_for_user(user=city_admin).count() == 16
    for code in (XUHUI, HUANGPU):
        assert district_get_for_user(user=city_admin, district_id=district(code).pk)


@pytest.mark.parametrize(
    "make_user",
    [
        pytest.param(lambda: StudentFactory().user, id="student"),
        pytest.param(lambda: CoordinatorFactory().user, id="coordinator"),
        pytest.param(lambda: HeadTeacherFactory().user, id="head_teacher"),
        pytest.param(lambda: SchoolAdminFactory().user, id="school_admin"),
        pytest.param(lambda: UserFactory(role=""), id="no-role"),
    ],
)
def test_people_who_do_not_administer_a_district_get_404_even_for_their_own(make_user):
    user = make_user()
    assert not district_list_for_user(user=user).exists()
    with pytest.raises(Http404):
        district_get_for_user(user=user, district_id=district(XUHUI).pk)
