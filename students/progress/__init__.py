"""Progress toward the requirement: the one computation every page, report and export reads.

A student's progress has two measures, both read from the ledger only:

- volunteer service: the credited minutes of records whose category counts as volunteer service,
  shown as 学时 (minutes / the policy's `minutes_per_credit_hour`) against
  `volunteer_hours_required`;
- practice days: the distinct calendar dates in Asia/Shanghai touched by any record of any
  category, against `practice_days_required`; a record spanning several dates (学农, 军训, or one
  that runs past midnight) credits each date it spans (`models.dates_spanned`).

Records `in_notice` and `final` count; `disputed` and `revoked` ones are tallied apart and never
count. Figures are split by category and by school year (a school year starts on 1 September):
a record's minutes belong to the date it starts on, its days to the dates they fall on; a
record dated before the student's first school year (新生军训 in August) counts in the first.
学时 shown by month or school year are rounded on the running total (`credit_hours_parts`), so
they add up to the 学时 shown in all.

The package: `rules` (school years, forecasts, thresholds, 学时: no database), `figures` (the
dataclasses returned), `ledger` (progress with breakdowns, from the ledger query or from records
already loaded), `totals` (totals only, mostly in SQL) and `stored` (those totals kept per
student in `StudentTotal`, refreshed with every write of a record, which the completion reports
read). The policy of an entry year comes from `students.policies`.
"""

from .figures import StudentProgress, StudentTotals, Tally
from .ledger import (
    progress_for_entry_years,
    progress_for_student,
    progress_for_students,
    progress_from_records,
    progress_stream,
)
from .rules import (
    COUNTED,
    DEADLINE_MONTH,
    FORECAST_RANK,
    PLAUSIBLE_PACE,
    SCHOOL_YEAR_START_MONTH,
    SLACK,
    Forecast,
    combined_forecast,
    credit_hours,
    credit_hours_parts,
    elapsed_share,
    measure_forecast,
    requirement_window,
    school_year_for,
    school_year_label,
    school_year_of,
)
from .stored import (
    GroupFigures,
    TotalsDifference,
    completion_figures,
    totals_differences,
    totals_rebuild,
    totals_refresh,
)
from .totals import TOTALS_CHUNK, ledger_totals, progress_totals_stream

__all__ = [
    "COUNTED",
    "DEADLINE_MONTH",
    "FORECAST_RANK",
    "PLAUSIBLE_PACE",
    "SCHOOL_YEAR_START_MONTH",
    "SLACK",
    "TOTALS_CHUNK",
    "Forecast",
    "GroupFigures",
    "StudentProgress",
    "StudentTotals",
    "Tally",
    "TotalsDifference",
    "combined_forecast",
    "completion_figures",
    "credit_hours",
    "credit_hours_parts",
    "elapsed_share",
    "ledger_totals",
    "measure_forecast",
    "progress_for_entry_years",
    "progress_for_student",
    "progress_for_students",
    "progress_from_records",
    "progress_stream",
    "progress_totals_stream",
    "requirement_window",
    "school_year_for",
    "school_year_label",
    "school_year_of",
    "totals_differences",
    "totals_rebuild",
    "totals_refresh",
]
