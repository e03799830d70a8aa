"""Bases' figures on the district and city dashboards: a sortable table, scoped, at a fixed
number of queries whatever the number of bases, and the review sheet of the scope."""

import io
import re

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from portal.models import Role
from tests.bases.review_data import build_year, expected_figures, previous_school_year
from tests.factories import BaseFactory, SchoolClassFactory, UserFactory, district
from tests.personas import owner_of
from tests.queries import queries_for

pytestmark = pytest.mark.django_db

XUHUI, HUANGPU = "310104", "310101"


@pytest.fixture
def students():
    from tests.bases.conftest import bulk_students

    return bulk_students(count=4, school_class=SchoolClassFactory(), prefix="DF")


def _year_with(count: int, students, code: str = XUHUI):
    bases = [BaseFactory(district=district(code)) for _ in range(count)]
    build_year(bases, year=previous_school_year(), students=students)
    return bases


def _codes(html: str) -> list[str]:
    return re.findall(r'data-testid="base-figures-row" data-code="([^"]+)"', html) or re.findall(
        r'data-code="([^"]+)" data-testid="base-figures-row"', html
    )


def _url(name: str, **params) -> str:
    query = "&".join(f"{k}={v}" for k, v in {"view": "figures", **params}.items())
    return f"{reverse(name)}?{query}"


def test_the_district_admin_sees_the_districts_bases_only(client, students):
    ours = _year_with(3, students)
    theirs = _year_with(2, students, code=HUANGPU)
    client.force_login(owner_of(district(XUHUI)))
    html = client.get(_url("dashboards:dashboard-district", year=previous_school_year())).content
    codes = _codes(html.decode())
    assert sorted(codes) == sorted(b.code for b in ours)
    assert not set(codes) & {b.code for b in theirs}


def test_the_table_sorts_by_each_figure(client, students):
    bases = _year_with(5, students)
    year = previous_school_year()
    client.force_login(owner_of(district(XUHUI)))
    figures = {b.code: expected_figures(b, year=year) for b in bases}
    html = client.get(
        _url("dashboards:dashboard-district", year=year, sort="-no_show_percent")
    ).content.decode()
    shown = [figures[code]["no_show_percent"] or -1 for code in _codes(html)]
    assert shown == sorted(shown, reverse=True)
    html = client.get(
        _url("dashboards:dashboard-district", year=year, sort="disputes_against")
    ).content.decode()
    shown = [figures[code]["against"] for code in _codes(html)]
    assert shown == sorted(shown)


def test_the_city_sees_every_district_and_downloads_the_citys_sheet(client, students):
    bases = _year_with(2, students) + _year_with(2, students, code=HUANGPU)
    year = previous_school_year()
    client.force_login(UserFactory(role=Role.CITY_ADMIN))
    html = client.get(_url("dashboards:dashboard-city", year=year)).content.decode()
    assert sorted(_codes(html)) == sorted(b.code for b in bases)
    response = client.get(reverse("dashboards:dashboard-city"), {"export": "review", "year": year})
    rows = list(
        load_workbook(io.BytesIO(response.content)).worksheets[0].iter_rows(values_only=True)
    )
    by_code = {row[0]: row for row in rows[1:]}
    for base in bases:
        expected = expected_figures(base, year=year)
        row = by_code[base.code]
        assert (row[4], row[5], row[7], row[8], row[9], row[10], row[11]) == (
            expected["due"],
            expected["on_time"],
            expected["cancelled"],
            expected["cancelled_late"],
            expected["against"],
            expected["settled"],
            expected["no_shows"],
        )


def test_the_page_makes_the_same_number_of_queries_for_3_and_30_bases(client, students):
    year = previous_school_year()
    admin = UserFactory(role=Role.CITY_ADMIN)
    client.force_login(admin)
    url = _url("dashboards:dashboard-city", year=year)
    _year_with(3, students)
    small, page = queries_for(lambda: client.get(url))
    assert len(_codes(page.content.decode())) == 3
    _year_with(27, students, code=HUANGPU)
    large, page = queries_for(lambda: client.get(url))
    assert len(_codes(page.content.decode())) == 30
    assert small == large


def test_the_review_sheet_makes_the_same_number_of_queries_for_3_and_30_bases(client, students):
    year = previous_school_year()
    client.force_login(owner_of(district(XUHUI)))
    url = f"{reverse('dashboards:dashboard-district')}?export=review&year={year}"
    _year_with(3, students)
    small, _ = queries_for(lambda: client.get(url))
    _year_with(27, students)
    large, response = queries_for(lambda: client.get(url))
    assert response.status_code == 200
    assert small == large
