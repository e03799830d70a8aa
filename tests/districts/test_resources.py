"""District sheets: keyed on the six-digit code, which must arrive as text."""

import pytest
import tablib
from django.utils import translation

from districts.models import District
from districts.resources import DistrictResource

pytestmark = pytest.mark.django_db

HEADERS = ["code", "name_zh", "name_en", "sort_order"]


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def errors_by_row(result) -> dict[int, dict[str, list[str]]]:
    return {row.number: row.error_dict for row in result.invalid_rows}


def test_the_seeded_districts_exported_and_imported_back_change_nothing():
    before = list(District.objects.order_by("pk").values())
    exported = DistrictResource().export()

    result = DistrictResource().import_data(exported)

    assert exported.headers == HEADERS
    assert len(exported) == 16
    assert result.totals["skip"] == 16
    assert not result.has_errors() and not result.has_validation_errors()
    assert list(District.objects.order_by("pk").values()) == before


def test_it_renames_a_district_found_by_its_code():
    data = tablib.Dataset(["310104", "徐汇区", "Xuhui District", "4"], headers=HEADERS)

    result = DistrictResource().import_data(data)

    assert result.totals["update"] == 1
    assert District.objects.get(code="310104").name_en == "Xuhui District"
    assert District.objects.count() == 16


def test_it_refuses_a_district_code_that_arrived_as_a_number_or_out_of_format():
    before = list(District.objects.order_by("pk").values())
    data = tablib.Dataset(headers=HEADERS)
    data.append([310104, "徐汇区", "Xuhui", 4])
    data.append(["3101", "新区", "New", 17])
    data.append(["310199.0", "另一区", "Other", 18])

    result = DistrictResource().import_data(data)

    errors = errors_by_row(result)
    assert sorted(errors) == [1, 2, 3]
    assert "turned this identifier into a number (310104)" in errors[1]["code"][0]
    assert errors[2] == {"code": ["3101 is not a district code: use its six digits, e.g. 310104."]}
    assert "turned this identifier into a number" in errors[3]["code"][0]
    assert list(District.objects.order_by("pk").values()) == before


def test_a_name_another_district_has_is_a_row_error_not_a_database_error():
    data = tablib.Dataset(["319999", "徐汇区", "Copy of Xuhui", 99], headers=HEADERS)

    result = DistrictResource().import_data(data)

    assert not result.has_errors()
    assert list(errors_by_row(result)[1]) == ["name_zh"]
    assert District.objects.count() == 16
