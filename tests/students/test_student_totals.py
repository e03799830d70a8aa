"""The per-student totals (StudentTotal): exact after every write of records, whatever the
path, reconciled against the ledger, and what the completion reports read."""

from datetime import date, timedelta
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from districts.models import District
from students.completion import Completion, city_report, completion_by, district_report
from students.disputes import (
    DisputeError,
    dispute_correct,
    dispute_raise,
    dispute_revoke,
    dispute_uphold,
)
from students.models import Category, PracticeRecord, RecordStatus, Student, StudentTotal
from students.progress import progress_totals_stream, totals_differences, totals_rebuild
from students.school_year import school_year_close
from students.services import (
    LedgerError,
    practice_record_correct,
    practice_record_revoke,
    practice_records_finalise,
)
from tests.factories import StudentFactory
from tests.personas import owner_of
from tests.students.test_disputes import base_record
from tests.students.test_progress import (  # noqa: F401  (ledger_world is a fixture)
    TODAY,
    ledger_world,
    make_record,
    record_strategy,
)

pytestmark = pytest.mark.django_db

HYPOTHESIS = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def stored(student_ids) -> dict[int, tuple[int, int, int]]:
    """The stored totals; a student without a row has none (zeros)."""
    rows = {
        t.student_id: (t.volunteer_minutes, t.practice_days, t.records)
        for t in StudentTotal.objects.filter(student_id__in=student_ids)
    }
    return {pk: rows.get(pk, (0, 0, 0)) for pk in student_ids}


def ledger(student_ids) -> dict[int, tuple[int, int, int]]:
    return {
        values["pk"]: (t.volunteer_minutes, t.practice_days, t.records)
        for values, t in progress_totals_stream(Student.objects.filter(pk__in=student_ids))
    }


def reference_by_district(today) -> dict:
    """Completion by district added student by student from the ledger (the former path)."""
    groups = {d.pk: Completion(key=d.pk, label=d.name) for d in District.objects.all()}
    key = "school_class__school__district_id"
    for values, totals in progress_totals_stream(
        Student.objects.counted(), fields=(key,), today=today
    ):
        groups[values[key]].add(totals)
    return {k: figures(g) for k, g in groups.items()}


def figures(group: Completion) -> tuple:
    return (
        group.students,
        dict(group.counts),
        group.hours_met,
        group.days_met,
        group.volunteer_minutes,
        group.practice_days,
        group.minutes_per_credit_hour,
        group.average_hours,
    )


MUTATIONS = st.lists(
    st.tuples(
        st.sampled_from(
            ["status", "minutes", "move", "category", "times", "delete", "bulk_update", "queryset"]
        ),
        st.integers(0, 1000),
    ),
    max_size=8,
)


@HYPOTHESIS
@given(specs=st.lists(record_strategy, max_size=15), mutations=MUTATIONS)
def test_every_kind_of_write_keeps_the_totals_exact(ledger_world, specs, mutations):  # noqa: F811
    """Records written in bulk, then changed one by one and in bulk: status, minutes, student,
    category, times, deletions. The stored totals equal the ledger's after each step, and the
    city report read from them equals the one added up student by student."""
    students, categories = ledger_world
    ids = [s.pk for s in students]
    PracticeRecord.objects.bulk_create(
        [make_record(students[s["student"]], categories[s["category"]], s) for s in specs]
    )
    try:
        assert stored(ids) == ledger(ids)
        for kind, pick in mutations:
            alive = list(PracticeRecord.objects.filter(student__in=students).order_by("pk"))
            if not alive:
                break
            record = alive[pick % len(alive)]
            if kind == "status":
                record.status = RecordStatus.REVOKED if pick % 2 else RecordStatus.FINAL
                record.confirmed_at = timezone.now()
                record.save(update_fields=["status", "confirmed_at"])
            elif kind == "minutes":
                record.credited_minutes = pick
                record.save()
            elif kind == "move":
                record.student = students[(students.index(record.student) + 1) % len(students)]
                record.save()
            elif kind == "category":
                record.category = categories[pick % len(categories)]
                record.save(update_fields=["category"])
            elif kind == "times":
                record.started_at -= timedelta(hours=pick % 50)
                record.save()
            elif kind == "delete":
                record.delete()
            elif kind == "bulk_update":
                for each in alive[:3]:
                    each.credited_minutes = pick
                    each.student = students[pick % len(students)]
                PracticeRecord.objects.bulk_update(alive[:3], ["credited_minutes", "student"])
            else:
                chosen = PracticeRecord.objects.filter(pk__in=[r.pk for r in alive[::2]])
                if pick % 2:
                    chosen.update(status=RecordStatus.DISPUTED)
                else:
                    chosen.delete()
            assert stored(ids) == ledger(ids)
        assert totals_differences() == []
        groups = {g.key: figures(g) for g in city_report(today=TODAY)}
        assert groups == reference_by_district(TODAY)
    finally:
        PracticeRecord.objects.filter(student__in=students).delete()


def test_a_category_that_stops_counting_as_volunteer_service_changes_the_totals(
    ledger_world,  # noqa: F811
):
    students, categories = ledger_world
    volunteer = next(c for c in categories if c.counts_as_volunteer_service)
    spec = {"day": 40, "minute": 600, "duration": 120, "credit": 1, "status": "final"}
    PracticeRecord.objects.bulk_create([make_record(s, volunteer, spec) for s in students])
    assert {t.volunteer_minutes for t in StudentTotal.objects.all()} == {120}
    volunteer.counts_as_volunteer_service = False
    volunteer.save()
    assert {t.volunteer_minutes for t in StudentTotal.objects.all()} == {0}
    Category.objects.filter(pk=volunteer.pk).update(counts_as_volunteer_service=True)
    assert len(totals_differences()) == len(students)  # the nightly check would find them
    totals_differences(fix=True)


OPERATIONS = st.lists(
    st.tuples(
        st.sampled_from(
            ["create", "correct", "revoke", "raise", "uphold", "fix", "withdraw", "finalise"]
        ),
        st.integers(0, 1000),
    ),
    min_size=1,
    max_size=10,
)


@pytest.fixture
def practice_world():
    students = StudentFactory.create_batch(2)
    return students


@HYPOTHESIS
@given(operations=OPERATIONS)
def test_random_service_operations_keep_the_totals_exact(practice_world, operations):
    """The ledger's own services, in any order: records from a base's attendance,
    corrections, revocations, disputes raised and answered (upheld, corrected, revoked) and
    notices ending. After each, the nightly reconciliation finds no difference."""
    from bases.models import Base
    from tests.factories import BaseFactory

    base = Base.objects.first() or BaseFactory()
    organiser = owner_of(base)
    ids = [s.pk for s in practice_world]
    PracticeRecord.objects.filter(student__in=practice_world).delete()
    for step, (operation, pick) in enumerate(operations):
        records = list(PracticeRecord.objects.filter(student__in=practice_world).order_by("pk"))
        record = records[pick % len(records)] if records else None
        student = practice_world[pick % len(practice_world)]
        dispute = record.disputes.filter(status="open").first() if record else None
        try:
            if operation == "create" or record is None:
                base_record(student, base, days_ago=1 + pick % 5, hour=step % 12 + 6)
            elif operation == "correct":
                practice_record_correct(
                    record=record,
                    started_at=record.started_at,
                    ended_at=record.ended_at + timedelta(minutes=pick % 90),
                    credited_minutes=pick % 200,
                    changed_by=organiser,
                    reason="更正",
                )
            elif operation == "revoke":
                practice_record_revoke(record=record, revoked_by=organiser, reason="撤销")
            elif operation == "raise":
                dispute_raise(record=record, raised_by=record.student.user, reason="时长不对")
            elif dispute is None:
                continue
            elif operation == "uphold":
                dispute_uphold(dispute=dispute, answered_by=organiser, reason="属实")
            elif operation == "fix":
                dispute_correct(
                    dispute=dispute,
                    answered_by=organiser,
                    reason="已更正",
                    started_at=record.started_at,
                    ended_at=record.ended_at,
                    credited_minutes=pick % 180,
                )
            elif operation == "withdraw":
                dispute_revoke(dispute=dispute, answered_by=organiser, reason="撤销")
            if operation == "finalise":
                practice_records_finalise(today=timezone.localdate() + timedelta(days=30))
        except (LedgerError, DisputeError, ValidationError):
            pass
        assert totals_differences() == []
    assert stored(ids) == ledger(ids)


def test_closing_the_school_year_keeps_the_totals_exact(ledger_world):  # noqa: F811
    students, categories = ledger_world
    spec = {"day": 40, "minute": 600, "duration": 120, "credit": 1, "status": "in_notice"}
    PracticeRecord.objects.bulk_create([make_record(s, categories[0], spec) for s in students])
    graduates = min(s.school_class.entry_year for s in students)
    school_year_close(closed_on=date(graduates + 3, 7, 10), closed_by=None)
    assert totals_differences() == []


def test_the_reconcile_command_reports_a_corrupted_row_and_fixes_it(ledger_world):  # noqa: F811
    students, categories = ledger_world
    spec = {"day": 40, "minute": 600, "duration": 3 * 24 * 60, "credit": 1, "status": "final"}
    PracticeRecord.objects.bulk_create([make_record(s, categories[0], spec) for s in students])
    out = StringIO()
    call_command("totals_reconcile", stdout=out)
    assert "match the ledger for every student" in out.getvalue()
    corrupted = students[1]
    assert StudentTotal.objects.get(student=corrupted).practice_days == 4
    StudentTotal.objects.filter(student=corrupted).update(practice_days=1, volunteer_minutes=7)
    StudentTotal.objects.filter(student=students[2]).delete()  # a row lost

    out = StringIO()
    with pytest.raises(CommandError, match="--fix"):
        call_command("totals_reconcile", stdout=out)
    report = out.getvalue()
    assert "2 students' totals differ" in report
    assert f"student {corrupted.pk}: stored (7, 1, 1)" in report
    assert f"student {students[2].pk}: stored (0, 0, 0)" in report

    out = StringIO()
    call_command("totals_reconcile", "--fix", stdout=out)
    assert "Fixed" in out.getvalue()
    assert StudentTotal.objects.get(student=corrupted).practice_days == 4
    out = StringIO()
    call_command("totals_reconcile", stdout=out)
    assert "match the ledger for every student" in out.getvalue()


def test_the_rebuild_fills_the_table_of_records_loaded_past_the_ledger(ledger_world):  # noqa: F811
    students, categories = ledger_world
    spec = {"day": 40, "minute": 600, "duration": 60, "credit": 1, "status": "final"}
    PracticeRecord.objects.bulk_create([make_record(s, categories[0], spec) for s in students])
    StudentTotal.objects.all().delete()  # as after a bulk load (COPY) of the bench
    assert len(totals_differences()) == len(students)
    assert totals_rebuild() == Student.objects.count()
    assert totals_differences() == []


def test_the_reports_read_the_stored_totals(ledger_world):  # noqa: F811
    """The district and city figures come from StudentTotal: a row changed by hand shows."""
    students, categories = ledger_world
    volunteer = next(c for c in categories if c.counts_as_volunteer_service)
    spec = {"day": 40, "minute": 600, "duration": 60, "credit": 1, "status": "final"}
    PracticeRecord.objects.bulk_create([make_record(s, volunteer, spec) for s in students])
    district = students[0].school_class.school.district
    before = {g.key: g.volunteer_minutes for g in district_report(district=district, today=TODAY)}
    StudentTotal.objects.filter(student=students[0]).update(volunteer_minutes=100_000)
    after = {g.key: g.volunteer_minutes for g in district_report(district=district, today=TODAY)}
    school = students[0].school_class.school_id
    assert after[school] == before[school] - 60 + 100_000
    groups = completion_by(
        Student.objects.filter(pk=students[0].pk),
        key_field="school_class_id",
        groups=[Completion(key=students[0].school_class_id, label="")],
        today=TODAY,
    )
    assert groups[0].hours_met == 1
    totals_differences(fix=True)
