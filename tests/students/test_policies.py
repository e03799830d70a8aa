"""Which requirement policy applies to an entry year: one rule, single and batch forms."""

import pytest
from django.utils import timezone

from students.models import RequirementPolicy
from students.policies import PolicyBook, policy_for_entry_year
from students.progress import school_year_of
from students.selectors import attendance_deadline_hours

pytestmark = pytest.mark.django_db


@pytest.fixture
def policies():
    """The default policy (from entry year 2000) and two later ones."""
    RequirementPolicy.objects.create(effective_from_entry_year=2024, minutes_per_credit_hour=45)
    RequirementPolicy.objects.create(effective_from_entry_year=2026, minutes_per_credit_hour=50)
    return {p.effective_from_entry_year: p for p in RequirementPolicy.objects.all()}


@pytest.mark.parametrize(
    ("entry_year", "effective_from"),
    [(1999, 2000), (2000, 2000), (2023, 2000), (2024, 2024), (2025, 2024), (2030, 2026)],
)
def test_the_latest_policy_on_or_before_the_entry_year_applies(
    policies, entry_year, effective_from
):
    assert policy_for_entry_year(entry_year=entry_year) == policies[effective_from]
    assert PolicyBook().for_entry_year(entry_year) == policies[effective_from]


def test_the_book_reads_the_policies_once(policies, django_assert_num_queries):
    with django_assert_num_queries(1):
        book = PolicyBook()
        applied = [book.for_entry_year(year) for year in (1999, 2025, 2030, 2025)]
    assert [p.effective_from_entry_year for p in applied] == [2000, 2024, 2026, 2024]


def test_without_any_policy_asking_raises():
    RequirementPolicy.objects.all().delete()
    book = PolicyBook()
    with pytest.raises(RequirementPolicy.DoesNotExist):
        book.for_entry_year(2025)


def test_the_attendance_deadline_is_the_current_policys():
    this_year = school_year_of(timezone.localdate())
    RequirementPolicy.objects.create(
        effective_from_entry_year=this_year, attendance_deadline_hours=36
    )
    RequirementPolicy.objects.create(
        effective_from_entry_year=this_year + 1, attendance_deadline_hours=48
    )
    assert attendance_deadline_hours() == 36


def test_without_any_policy_the_attendance_deadline_is_a_day():
    RequirementPolicy.objects.all().delete()
    assert attendance_deadline_hours() == 24
