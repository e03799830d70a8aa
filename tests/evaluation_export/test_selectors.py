import pytest
from django.http import Http404

from evaluation_export.models import BatchKind, ExportBatch
from evaluation_export.selectors import export_batch_get_for_user, export_batch_list_for_user
from portal.models import Role
from tests.factories import (
    CoordinatorFactory,
    DistrictAdminFactory,
    HeadTeacherFactory,
    SchoolAdminFactory,
    StudentFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def batch():
    city_admin = UserFactory(role=Role.CITY_ADMIN)
    return ExportBatch.objects.create(
        period="2026-W48", kind=BatchKind.DELTA, requested_by=city_admin
    )


def test_the_city_admin_who_ran_a_batch_gets_it(batch):
    assert export_batch_get_for_user(user=batch.requested_by, batch_id=batch.pk) == batch


def test_another_city_admin_gets_the_batch_too(batch):
    colleague = UserFactory(role=Role.CITY_ADMIN)
    assert export_batch_get_for_user(user=colleague, batch_id=batch.pk) == batch
    assert list(export_batch_list_for_user(user=colleague)) == [batch]


@pytest.mark.parametrize(
    "make_user",
    [
        pytest.param(lambda: StudentFactory().user, id="student"),
        pytest.param(lambda: CoordinatorFactory().user, id="coordinator"),
        pytest.param(lambda: HeadTeacherFactory().user, id="head_teacher"),
        pytest.param(lambda: SchoolAdminFactory().user, id="school_admin"),
        pytest.param(lambda: DistrictAdminFactory().user, id="district_admin"),
        pytest.param(lambda: UserFactory(role=""), id="no-role"),
    ],
)
def test_everyone_but_the_city_admin_gets_404_for_an_export_batch(batch, make_user):
    user = make_user()
    assert not export_batch_list_for_user(user=user).exists()
    with pytest.raises(Http404):
        export_batch_get_for_user(user=user, batch_id=batch.pk)


def test_a_city_admin_gets_404_for_a_batch_that_does_not_exist(batch):
    with pytest.raises(Http404):
        export_batch_get_for_user(user=batch.requested_by, batch_id=batch.pk + 1)
