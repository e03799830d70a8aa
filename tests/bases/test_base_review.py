"""A base's figures and the annual base review sheet: the sheet matches the database."""

import io
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from bases.base_review import base_figures
from bases.models import Base, Session
from portal.models import AuditLog
from students.models import ReliabilityPolicy
from students.progress import school_year_label, school_year_of
from tests.bases.conftest import XUHUI
from tests.bases.review_data import build_year, expected_figures, previous_school_year
from tests.factories import BaseFactory, CoordinatorFactory, district

pytestmark = pytest.mark.django_db


def _sheet_rows(content: bytes) -> tuple[list, list[list], dict]:
    workbook = load_workbook(io.BytesIO(content), read_only=True)
    figures, rules = workbook.worksheets
    rows = [list(row) for row in figures.iter_rows(values_only=True)]
    return (
        rows[0],
        rows[1:],
        {row[0]: row[1] for row in list(rules.iter_rows(values_only=True))[1:]},
    )


def _as_row(expected: dict, level: str) -> list:
    blank = ""

    def cell(value):
        return None if value == blank or value is None else value

    return [
        expected["code"],
        expected["name"],
        expected["district"],
        level,
        expected["due"],
        expected["on_time"],
        cell(expected["on_time_percent"]),
        expected["cancelled"],
        expected["cancelled_late"],
        expected["against"],
        expected["settled"],
        expected["no_shows"],
        cell(expected["no_show_percent"]),
    ]


@pytest.fixture
def year_of_work(make_students):
    bases = [BaseFactory(district=district(XUHUI)) for _ in range(5)]
    year = previous_school_year()
    build_year(bases, year=year, students=make_students(4, prefix="RV"))
    return bases, year


def test_the_base_review_sheet_matches_the_database(client, year_of_work, district_admin):
    bases, year = year_of_work
    client.force_login(district_admin)
    response = client.get(
        reverse("dashboards:dashboard-district"), {"export": "review", "year": year}
    )
    assert response.status_code == 200
    header, rows, rules = _sheet_rows(response.content)
    assert len(header) == 13
    expected = [
        _as_row(expected_figures(base, year=year), base.get_level_display())
        for base in sorted(bases, key=lambda b: b.code)
    ]
    # Cells read back: a blank percentage is an empty cell, numbers are numbers.
    assert [[None if c in ("", None) else c for c in row] for row in rows] == expected
    policy = ReliabilityPolicy.objects.get()
    assert list(rules.values()) == [school_year_label(year), 24, policy.session_cancel_late_hours]
    assert AuditLog.objects.filter(action="report.base_review.xlsx").count() == 1


def test_every_kind_of_figure_occurs_in_the_data_set(year_of_work):
    """The comparison above means something only if each figure is non-trivial somewhere."""
    bases, year = year_of_work
    figures = [expected_figures(base, year=year) for base in bases]
    for key in ("due", "on_time", "cancelled", "cancelled_late", "against", "no_shows"):
        assert any(f[key] for f in figures), key
    assert any(f["on_time"] < f["due"] for f in figures)
    assert any(f["cancelled_late"] < f["cancelled"] for f in figures)


def test_the_coordinator_sees_the_figures_and_downloads_the_sheet_of_their_base(
    client, year_of_work
):
    bases, year = year_of_work
    base = bases[1]
    user = CoordinatorFactory(base=base).user
    client.force_login(user)
    page = client.get(reverse("bases:base-figures", args=[base.pk]), {"year": year})
    expected = expected_figures(base, year=year)
    html = page.content.decode()
    assert f"{expected['due']} 个场次中 {expected['on_time']} 个" in html
    download = client.get(reverse("bases:base-review-download", args=[base.pk]), {"year": year})
    _header, rows, _rules = _sheet_rows(download.content)
    assert [[None if c in ("", None) else c for c in row] for row in rows] == [
        _as_row(expected, base.get_level_display())
    ]


def test_a_coordinator_of_another_base_gets_404(client, year_of_work):
    bases, year = year_of_work
    outsider = CoordinatorFactory(base=BaseFactory()).user
    client.force_login(outsider)
    assert client.get(reverse("bases:base-figures", args=[bases[0].pk])).status_code == 404
    assert client.get(reverse("bases:base-review-download", args=[bases[0].pk])).status_code == 404


def test_a_session_whose_deadline_has_not_passed_is_not_yet_due(make_session):
    ended_an_hour_ago = timezone.now() - timedelta(hours=4)
    session = make_session(
        starts_at=ended_an_hour_ago,
        applications_open_at=ended_an_hour_ago - timedelta(days=3),
        applications_close_at=ended_an_hour_ago - timedelta(days=1),
        cancel_cutoff_at=None,
    )
    bases = Base.objects.filter(pk=session.post.base_id)
    year = school_year_of(timezone.localdate(session.starts_at))
    _rules, [figures] = base_figures(bases=bases, year=year, active_only=False)
    assert (figures.sessions_due, figures.on_time_percent) == (0, None)
    Session.objects.filter(pk=session.pk).update(attendance_closed_at=timezone.now())
    _rules, [figures] = base_figures(bases=bases, year=year, active_only=False)
    assert (figures.sessions_due, figures.on_time_percent) == (1, 100.0)


def test_the_late_window_is_the_policys(year_of_work):
    bases, year = year_of_work
    before = {
        f.base_id: f.cancelled_late for f in base_figures(bases=Base.objects.all(), year=year)[1]
    }
    ReliabilityPolicy.objects.update(session_cancel_late_hours=24 * 6)
    after = {
        f.base_id: f.cancelled_late for f in base_figures(bases=Base.objects.all(), year=year)[1]
    }
    assert after != before
    assert all(after[b] >= before[b] for b in before)
