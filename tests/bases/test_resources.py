"""Base sheets: keyed on the base code, district by code, with level, status and expiry."""

import datetime

import pytest
import tablib
from django.utils import translation

from bases.models import Base, BaseLevel, BaseStatus
from bases.resources import BaseResource
from tests.factories import BaseFactory

pytestmark = pytest.mark.django_db

HEADERS = ["code", "name", "level", "district_code", "status", "certified_until", "address"]


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def errors_by_row(result) -> dict[int, dict[str, list[str]]]:
    return {row.number: row.error_dict for row in result.invalid_rows}


def good_bases() -> tablib.Dataset:
    return tablib.Dataset(
        ["XH-LIB-01", "徐汇区图书馆", "district", "310104", "certified", "2027-06-30", "南丹东路"],
        ["0042", "上海博物馆", "city", "310101", "pending", "", ""],
        headers=HEADERS,
    )


def test_it_imports_bases_with_district_level_status_and_expiry():
    result = BaseResource().import_data(good_bases())

    assert result.totals["new"] == 2
    library = Base.objects.get(code="XH-LIB-01")
    assert (library.district.code, library.level, library.status) == (
        "310104",
        BaseLevel.DISTRICT,
        BaseStatus.CERTIFIED,
    )
    assert library.certified_until == datetime.date(2027, 6, 30)
    assert Base.objects.get(code="0042").certified_until is None


def test_importing_the_same_sheet_twice_changes_nothing():
    BaseResource().import_data(good_bases())
    before = list(Base.objects.order_by("pk").values())

    result = BaseResource().import_data(good_bases())

    assert result.totals["skip"] == 2 and result.totals["update"] == 0
    assert list(Base.objects.order_by("pk").values()) == before


def test_an_exported_sheet_imports_back_unchanged():
    BaseFactory(code="B-1", certified_until=datetime.date(2027, 1, 31))
    exported = BaseResource().export()

    result = BaseResource().import_data(exported)

    assert exported.dict[0]["certified_until"] == "2027-01-31"
    assert result.totals["skip"] == 1 and not result.has_validation_errors()


def test_it_names_each_bad_cell_and_imports_no_base():
    data = good_bases()
    data.append([42, "数字基地", "district", "310104", "pending", "", ""])
    data.append(["B-9", "", "county", 310104, "certified", "", ""])
    data.append(["B-10", "无期限基地", "district", "310104", "certified", "", ""])
    data.append(["B 11", "日期错", "district", "310104", "pending", "31/02/2027", ""])
    data.append(["XH-LIB-01", "重复基地", "district", "310104", "pending", "", ""])

    result = BaseResource().import_data(data)

    errors = errors_by_row(result)
    assert sorted(errors) == [3, 4, 5, 6, 7]
    assert "turned this identifier into a number (42)" in errors[3]["code"][0]
    assert errors[4]["name"] == ["This cell is empty; a value is required."]
    assert errors[4]["level"] == ["county is not one of: city, district, school, project."]
    assert "turned this identifier into a number" in errors[4]["district_code"][0]
    assert errors[5] == {
        "certified_until": ["A certified base needs the date its certification runs until."]
    }
    assert errors[6] == {
        "code": ["B 11 is not a base code: use up to 32 letters, digits or hyphens."],
        "certified_until": ["31/02/2027 is not a date: use the form 2026-08-31."],
    }
    assert errors[7] == {"code": ["The same code is already on row 1 of this sheet."]}
    assert Base.objects.count() == 0
