import pytest

from districts.models import AccountImport, AccountImportKind, AccountImportStatus, District
from tests.constraint_helpers import refused

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("code", ["31019", "31019A", "31-019", "31 019", ""])
def test_it_refuses_a_district_code_that_is_not_six_digits(code):
    with refused(District, "district_code_six_digits"):
        District.objects.create(code=code, name_zh="新区", name_en="New District")


def test_it_accepts_a_six_digit_district_code():
    assert District.objects.create(code="310199", name_zh="新区", name_en="New District").pk


@pytest.mark.parametrize(
    "field, values",
    [
        ("code", {"code": "310104", "name_zh": "新区", "name_en": "New District"}),
        ("name_zh", {"code": "310199", "name_zh": "徐汇区", "name_en": "New District"}),
        ("name_en", {"code": "310199", "name_zh": "新区", "name_en": "Xuhui District"}),
    ],
)
def test_it_refuses_a_second_district_with_the_same_code_or_name(field, values):
    with refused(District, field):
        District.objects.create(**values)


def _account_import(**fields):
    values = {
        "kind": AccountImportKind.DISTRICT_ADMINS,
        "district": None,
        "status": AccountImportStatus.PREVIEWED,
        "original_name": "admins.xlsx",
        "sha256": "0" * 64,
        "file": "account-imports/admins.xlsx",
    }
    values.update(fields)
    return AccountImport.objects.create(**values)


def test_an_imported_admins_sheet_keeps_its_import_time():
    with refused(AccountImport, "account_import_done_has_time"):
        _account_import(status=AccountImportStatus.IMPORTED, imported_at=None)


def test_an_admins_sheet_names_a_district_exactly_for_school_admins():
    here = District.objects.create(code="310199", name_zh="新区", name_en="New District")
    with refused(AccountImport, "account_import_kind_matches_district"):
        _account_import(kind=AccountImportKind.SCHOOL_ADMINS, district=None)
    with refused(AccountImport, "account_import_kind_matches_district"):
        _account_import(kind=AccountImportKind.DISTRICT_ADMINS, district=here)
    assert _account_import(kind=AccountImportKind.SCHOOL_ADMINS, district=here).pk
    assert _account_import().pk
