from types import SimpleNamespace

import pytest
from django.http import Http404

from portal.models import Role
from students.selectors import (
    record_get_for_user,
    school_class_get_for_user,
    school_get_for_user,
    student_get_for_user,
)
from tests.constraint_helpers import record_create
from tests.factories import (
    CoordinatorFactory,
    SchoolAdminFactory,
    SchoolClassFactory,
    SchoolFactory,
    StudentFactory,
    UserFactory,
    district,
)
from tests.personas import owner_of

pytestmark = pytest.mark.django_db

ALL = object()


@pytest.fixture
def world():
    """Two schools in two districts; class A1 and A2 in Xuhui, class B1 in Huangpu."""
    school_a = SchoolFactory(name="徐汇中学", district=district("310104"))
    school_b = SchoolFactory(name="黄浦中学", district=district("310101"))
    a1 = SchoolClassFactory(school=school_a, number=1)
    a2 = SchoolClassFactory(school=school_a, number=2)
    b1 = SchoolClassFactory(school=school_b, number=1)
    students = {
        "xiaoming": StudentFactory(school_class=a1),
        "classmate": StudentFactory(school_class=a1),
        "schoolmate": StudentFactory(school_class=a2),
        "outsider": StudentFactory(school_class=b1),
    }
    personas = {
        "student": students["xiaoming"].user,
        "head_teacher": owner_of(a1),
        "colleague_head_teacher": owner_of(a2),
        "school_admin": owner_of(school_a),
        "colleague_school_admin": owner_of(school_a),
        "outsider_school_admin": owner_of(school_b),
        "district_admin": owner_of(district("310104")),
        "colleague_district_admin": owner_of(district("310104")),
        "outsider_district_admin": owner_of(district("310101")),
        "city_admin": UserFactory(role=Role.CITY_ADMIN),
        "coordinator": CoordinatorFactory().user,
    }
    return SimpleNamespace(
        schools={"A": school_a, "B": school_b},
        classes={"A1": a1, "A2": a2, "B1": b1},
        students=students,
        records={name: record_create(student=student) for name, student in students.items()},
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


# persona: (schools, classes, students); records follow students.
SCOPES = {
    "student": ({"A"}, {"A1"}, {"xiaoming"}),
    "head_teacher": ({"A"}, {"A1"}, {"xiaoming", "classmate"}),
    "colleague_head_teacher": ({"A"}, {"A2"}, {"schoolmate"}),
    "school_admin": ({"A"}, {"A1", "A2"}, {"xiaoming", "classmate", "schoolmate"}),
    "colleague_school_admin": ({"A"}, {"A1", "A2"}, {"xiaoming", "classmate", "schoolmate"}),
    "outsider_school_admin": ({"B"}, {"B1"}, {"outsider"}),
    "district_admin": ({"A"}, {"A1", "A2"}, {"xiaoming", "classmate", "schoolmate"}),
    "colleague_district_admin": ({"A"}, {"A1", "A2"}, {"xiaoming", "classmate", "schoolmate"}),
    "outsider_district_admin": ({"B"}, {"B1"}, {"outsider"}),
    "city_admin": (ALL, ALL, ALL),
    "coordinator": (set(), set(), set()),
}


@pytest.mark.parametrize("persona", SCOPES)
def test_school_get_for_user_returns_schools_in_scope_and_404_for_the_rest(world, persona):
    user = world.personas[persona]
    scope = SCOPES[persona][0]
    assert visible(school_get_for_user, "school_id", user, world.schools) == expected(
        scope, world.schools
    )


@pytest.mark.parametrize("persona", SCOPES)
def test_school_class_get_for_user_returns_classes_in_scope_and_404_for_the_rest(world, persona):
    user = world.personas[persona]
    scope = SCOPES[persona][1]
    assert visible(school_class_get_for_user, "school_class_id", user, world.classes) == expected(
        scope, world.classes
    )


@pytest.mark.parametrize("persona", SCOPES)
def test_student_get_for_user_returns_students_in_scope_and_404_for_the_rest(world, persona):
    user = world.personas[persona]
    scope = SCOPES[persona][2]
    assert visible(student_get_for_user, "student_id", user, world.students) == expected(
        scope, world.students
    )


@pytest.mark.parametrize("persona", SCOPES)
def test_record_get_for_user_returns_records_of_students_in_scope_and_404_for_the_rest(
    world, persona
):
    user = world.personas[persona]
    scope = SCOPES[persona][2]
    assert visible(record_get_for_user, "record_id", user, world.records) == expected(
        scope, world.records
    )


def test_a_head_teacher_gets_their_own_classes_student_but_404_for_another_class(world):
    teacher = world.personas["head_teacher"]
    mine = world.students["classmate"]
    assert student_get_for_user(user=teacher, student_id=mine.pk) == mine
    with pytest.raises(Http404):
        student_get_for_user(user=teacher, student_id=world.students["schoolmate"].pk)


def test_a_student_gets_their_own_record_but_404_for_a_classmates(world):
    xiaoming = world.personas["student"]
    own = world.records["xiaoming"]
    assert record_get_for_user(user=xiaoming, record_id=own.pk) == own
    with pytest.raises(Http404):
        record_get_for_user(user=xiaoming, record_id=world.records["classmate"].pk)


def test_a_district_admin_gets_schools_of_their_district_but_404_for_another_districts(world):
    admin = world.personas["district_admin"]
    assert school_get_for_user(user=admin, school_id=world.schools["A"].pk).name == "徐汇中学"
    with pytest.raises(Http404):
        school_get_for_user(user=admin, school_id=world.schools["B"].pk)


def test_a_school_admin_of_two_schools_gets_both_once(world):
    admin = world.personas["school_admin"]
    SchoolAdminFactory(user=admin, school=world.schools["B"])
    for school in world.schools.values():
        assert school_get_for_user(user=admin, school_id=school.pk) == school
    assert student_get_for_user(user=admin, student_id=world.students["outsider"].pk)


@pytest.mark.parametrize(
    "role", [Role.STUDENT, Role.HEAD_TEACHER, Role.SCHOOL_ADMIN, Role.DISTRICT_ADMIN]
)
def test_a_user_whose_role_has_no_scope_row_yet_gets_404_for_everything(world, role):
    unlinked = UserFactory(role=role)
    for get, id_kwarg, objects in [
        (school_get_for_user, "school_id", world.schools),
        (school_class_get_for_user, "school_class_id", world.classes),
        (student_get_for_user, "student_id", world.students),
        (record_get_for_user, "record_id", world.records),
    ]:
        assert visible(get, id_kwarg, unlinked, objects) == set()
