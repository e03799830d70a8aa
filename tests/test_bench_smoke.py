"""Smoke test of the benchmark data set and harness at scale S (no timing asserted)."""

import hashlib
import io
from datetime import date, time

import pytest
from django.core.management.base import CommandError
from django.db import connection
from django.db.models import Count, F, Q

from bases.models import Application, Attendance, Base, Post, Session
from bench.city_completion import city_completion
from bench.generate import SCALES, BenchData, local
from bench.harness import Context
from bench.load import load_refs
from bench.seed import bench_seed
from students.models import (
    PracticeRecord,
    PracticeRecordVersion,
    School,
    SchoolClass,
    Student,
)

pytestmark = pytest.mark.django_db
TODAY = date(2026, 3, 16)  # fixed, so the data (and its checksums) do not depend on the date
TODAY_START = local(TODAY, time(0, 0))
SEED = 7
HOLDING = ("confirmed", "attended", "no_show")
OVERLAPS = """
SELECT COUNT(*) FROM students_practicerecord a
JOIN students_practicerecord b
  ON a.student_id = b.student_id AND a.id < b.id
 AND a.started_at < b.ended_at AND b.started_at < a.ended_at
WHERE a.status <> 'revoked' AND b.status <> 'revoked'
"""


def checksums(students, records) -> tuple[str, str]:
    """Hashes of the student numbers and of each record's credited minutes, in id order."""
    numbers, minutes = hashlib.sha256(), hashlib.sha256()
    for number in students:
        numbers.update(f"{number}\n".encode())
    for record_id, credited in records:
        minutes.update(f"{record_id}:{credited}\n".encode())
    return numbers.hexdigest(), minutes.hexdigest()


def generated_checksums(refs) -> tuple[tuple[str, str], BenchData]:
    data = BenchData(SCALES["S"], refs, seed=SEED)
    students, records = [], []
    for table, row in data.rows():
        if table == "student":
            students.append(row[2])
        elif table == "practicerecord":
            records.append((row[0], row[10]))
    return checksums(students, records), data


def test_seed_bench_smoke():
    scale = SCALES["S"]
    refs = load_refs(today=TODAY, password_hash="!")  # what the command will see
    bench_seed(scale="S", seed=SEED, today=TODAY, stdout=io.StringIO())
    connection.check_constraints()  # deferred foreign keys, which a rolled-back test never checks

    assert School.objects.count() == scale.schools
    assert SchoolClass.objects.count() == scale.classes
    assert Student.objects.count() == scale.students
    assert Base.objects.count() == scale.bases
    assert Post.objects.count() == scale.posts
    assert Session.objects.count() == scale.sessions
    records = PracticeRecord.objects.count()
    assert records == scale.records
    assert Attendance.objects.count() == records
    assert PracticeRecordVersion.objects.filter(version=1).count() == records
    assert PracticeRecord.objects.filter(status="final").count() > records * 0.9
    assert PracticeRecord.objects.filter(status="in_notice").exists()
    assert Base.objects.values("level").distinct().count() == 4

    # Each record comes from an attendance row of an attended application of a past session.
    attended = Application.objects.filter(status="attended", attendance__isnull=False)
    assert attended.count() == records
    assert not PracticeRecord.objects.exclude(source_ref__startswith="attendance:").exists()
    sample = PracticeRecord.objects.order_by("?")[:50]
    for record in sample:
        attendance = Attendance.objects.select_related("session").get(
            pk=int(record.source_ref.split(":")[1])
        )
        assert attendance.student_id == record.student_id
        assert attendance.session.starts_at == record.started_at < TODAY_START
        assert attendance.credited_minutes == record.credited_minutes

    # Seats: taken is the count of seat-holding applications, never above capacity.
    holding = Count("applications", filter=Q(applications__status__in=HOLDING))
    assert not Session.objects.annotate(held=holding).exclude(taken=F("held")).exists()

    # The ledger's rule: one student's live records never overlap.
    with connection.cursor() as cursor:
        cursor.execute(OVERLAPS)
        assert cursor.fetchone()[0] == 0

    # Deterministic: generating again with the same seed gives the same rows.
    in_db = checksums(
        Student.objects.order_by("pk").values_list("student_number", flat=True),
        PracticeRecord.objects.order_by("pk").values_list("pk", "credited_minutes"),
    )
    again, data = generated_checksums(refs)
    assert again == in_db
    assert data.counts["practicerecord"] == records

    with pytest.raises(CommandError, match="--replace"):
        bench_seed(scale="S", today=TODAY, stdout=io.StringIO())

    result = city_completion(Context(scale="S", repeat=1, today=TODAY))
    assert result["correct"], result["details"]["mismatches"]
    assert result["details"]["city_totals"]["students"] == scale.students
    assert result["details"]["city_totals"]["hours_met"] > 0
