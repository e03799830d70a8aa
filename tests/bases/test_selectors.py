from types import SimpleNamespace

import pytest
from django.http import Http404

from bases.models import BaseLevel
from bases.selectors import (
    application_get_for_user,
    base_get_for_user,
    post_get_for_user,
    session_get_for_user,
)
from portal.models import Role
from tests.factories import (
    ApplicationFactory,
    BaseFactory,
    CoordinatorFactory,
    PostFactory,
    SchoolAdminFactory,
    SchoolClassFactory,
    SchoolContractFactory,
    SchoolFactory,
    SessionFactory,
    StudentFactory,
    UserFactory,
    district,
)
from tests.personas import owner_of

pytestmark = pytest.mark.django_db

ALL = object()


@pytest.fixture
def world():
    """Bases X, S (contracted by school A) in Xuhui; Y, T (contracted by B) in Huangpu."""
    xuhui, huangpu = district("310104"), district("310101")
    school_a = SchoolFactory(district=xuhui)
    school_b = SchoolFactory(district=huangpu)
    a1 = SchoolClassFactory(school=school_a, number=1)
    a2 = SchoolClassFactory(school=school_a, number=2)
    b1 = SchoolClassFactory(school=school_b, number=1)
    bases = {
        "X": BaseFactory(district=xuhui),
        "Y": BaseFactory(district=huangpu),
        "S": SchoolContractFactory(school=school_a, base__district=xuhui).base,
        "T": SchoolContractFactory(school=school_b, base__district=huangpu).base,
    }
    posts = {name: PostFactory(base=base) for name, base in bases.items()}
    sessions = {name: SessionFactory(post=post) for name, post in posts.items()}
    students = {
        "xiaoming": StudentFactory(school_class=a1),
        "classmate": StudentFactory(school_class=a1),
        "schoolmate": StudentFactory(school_class=a2),
        "outsider": StudentFactory(school_class=b1),
    }
    applications = {
        f"{who}@{where}": ApplicationFactory(student=students[who], session=sessions[where])
        for who, where in [
            ("xiaoming", "X"),
            ("classmate", "X"),
            ("outsider", "X"),
            ("xiaoming", "S"),
            ("schoolmate", "Y"),
            ("outsider", "Y"),
        ]
    }
    personas = {
        "coordinator": owner_of(bases["X"]),
        "colleague_coordinator": owner_of(bases["X"]),
        "outsider_coordinator": owner_of(bases["Y"]),
        "student": students["xiaoming"].user,
        "head_teacher": owner_of(a1),
        "school_admin": owner_of(school_a),
        "outsider_school_admin": owner_of(school_b),
        "district_admin": owner_of(xuhui),
        "outsider_district_admin": owner_of(huangpu),
        "city_admin": UserFactory(role=Role.CITY_ADMIN),
    }
    return SimpleNamespace(
        bases=bases,
        posts=posts,
        sessions=sessions,
        applications=applications,
        personas=personas,
    )


def visible(get, id_kwarg: str, user, objects: dict) -> set[str]:
    """Names of the objects `get` returns to `user`; each other one must answer 404."""
    seen = set()
    for name, obj in objects.items():
        try:
            fetched = get(user=user, **{id_kwarg: obj.pk})
        except Http404:
            continue
        assert fetched == obj
        seen.add(name)
    return seen


def expected(scope, objects: dict) -> set[str]:
    return set(objects) if scope is ALL else set(scope)


# persona: (bases, whose posts and sessions follow; applications)
SCOPES = {
    "coordinator": ({"X"}, {"xiaoming@X", "classmate@X", "outsider@X"}),
    "colleague_coordinator": ({"X"}, {"xiaoming@X", "classmate@X", "outsider@X"}),
    "outsider_coordinator": ({"Y"}, {"schoolmate@Y", "outsider@Y"}),
    "student": (set(), {"xiaoming@X", "xiaoming@S"}),
    "head_teacher": (set(), {"xiaoming@X", "classmate@X", "xiaoming@S"}),
    "school_admin": ({"S"}, {"xiaoming@X", "classmate@X", "xiaoming@S", "schoolmate@Y"}),
    "outsider_school_admin": ({"T"}, {"outsider@X", "outsider@Y"}),
    # A district admin oversees the bases in the district with everyone who applied to them,
    # and the applications of the district's students anywhere.
    "district_admin": (
        {"X", "S"},
        {"xiaoming@X", "classmate@X", "outsider@X", "xiaoming@S", "schoolmate@Y"},
    ),
    "outsider_district_admin": ({"Y", "T"}, {"outsider@X", "outsider@Y", "schoolmate@Y"}),
    "city_admin": (ALL, ALL),
}


@pytest.mark.parametrize("persona", SCOPES)
def test_base_get_for_user_returns_bases_in_scope_and_404_for_the_rest(world, persona):
    scope = expected(SCOPES[persona][0], world.bases)
    assert visible(base_get_for_user, "base_id", world.personas[persona], world.bases) == scope


@pytest.mark.parametrize("persona", SCOPES)
def test_post_get_for_user_returns_posts_of_bases_in_scope_and_404_for_the_rest(world, persona):
    scope = expected(SCOPES[persona][0], world.posts)
    assert visible(post_get_for_user, "post_id", world.personas[persona], world.posts) == scope


@pytest.mark.parametrize("persona", SCOPES)
def test_session_get_for_user_returns_sessions_of_bases_in_scope_and_404_for_the_rest(
    world, persona
):
    scope = expected(SCOPES[persona][0], world.sessions)
    user = world.personas[persona]
    assert visible(session_get_for_user, "session_id", user, world.sessions) == scope


@pytest.mark.parametrize("persona", SCOPES)
def test_application_get_for_user_returns_applications_in_scope_and_404_for_the_rest(
    world, persona
):
    scope = expected(SCOPES[persona][1], world.applications)
    user = world.personas[persona]
    assert visible(application_get_for_user, "application_id", user, world.applications) == scope


def test_a_coordinator_gets_their_bases_sessions_and_applications_but_not_another_bases(world):
    coordinator = world.personas["coordinator"]
    own_session, own_application = world.sessions["X"], world.applications["outsider@X"]
    assert session_get_for_user(user=coordinator, session_id=own_session.pk) == own_session
    assert (
        application_get_for_user(user=coordinator, application_id=own_application.pk)
        == own_application
    )
    with pytest.raises(Http404):
        session_get_for_user(user=coordinator, session_id=world.sessions["Y"].pk)
    with pytest.raises(Http404):
        application_get_for_user(
            user=coordinator, application_id=world.applications["outsider@Y"].pk
        )


def test_a_coordinator_of_two_bases_gets_both(world):
    coordinator = world.personas["coordinator"]
    CoordinatorFactory(user=coordinator, base=world.bases["Y"])
    assert visible(base_get_for_user, "base_id", coordinator, world.bases) == {"X", "Y"}


def test_a_school_admin_of_two_schools_contracting_one_base_gets_it_once(world):
    admin = world.personas["school_admin"]
    other_school = SchoolFactory()
    SchoolAdminFactory(user=admin, school=other_school)
    SchoolContractFactory(school=other_school, base=world.bases["S"])
    base = world.bases["S"]
    assert base_get_for_user(user=admin, base_id=base.pk) == base
    assert post_get_for_user(user=admin, post_id=world.posts["S"].pk) == world.posts["S"]
    assert session_get_for_user(user=admin, session_id=world.sessions["S"].pk)


def test_a_school_level_base_stays_hidden_from_a_school_admin_without_a_contract(world):
    admin = world.personas["school_admin"]
    with pytest.raises(Http404):
        base_get_for_user(user=admin, base_id=world.bases["T"].pk)
    assert world.bases["T"].level == BaseLevel.SCHOOL
