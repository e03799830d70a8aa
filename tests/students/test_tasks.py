"""The beat job that makes records final once their notice has ended with no open dispute."""

from datetime import timedelta

import pytest
from celery.contrib.testing.worker import start_worker
from django.utils import timezone

from portal.celery import app
from students import services, tasks
from students.disputes import dispute_raise
from students.models import PracticeRecord, RecordStatus
from tests.factories import StudentFactory
from tests.students.test_school_records import _at, _facts
from tests.waiting import wait_until

TASK_NAME = "students.tasks.practice_records_finalise"


def _record(student, *, ends_on, days_ago=10, hour=9, ref=None) -> PracticeRecord:
    day = timezone.localdate() - timedelta(days=days_ago)
    record, _ = services.practice_record_upsert(
        source_ref=ref or f"test:{student.pk}:{days_ago}:{hour}",
        facts=_facts(student, _at(day, hour), _at(day, hour + 2)),
        recorded_by=None,
    )
    PracticeRecord.objects.filter(pk=record.pk).update(notice_ends_on=ends_on)
    record.refresh_from_db()
    return record


@pytest.mark.django_db
class TestFinalise:
    def test_it_makes_final_the_records_whose_notice_has_ended(self):
        student = StudentFactory()
        today = timezone.localdate()
        ended = _record(student, ends_on=today - timedelta(days=1), hour=8)
        last_day = _record(student, ends_on=today, hour=11)
        later = _record(student, ends_on=today + timedelta(days=3), hour=14)

        assert tasks.practice_records_finalise() == 1

        statuses = dict(PracticeRecord.objects.values_list("pk", "status"))
        assert statuses == {
            ended.pk: RecordStatus.FINAL,
            last_day.pk: RecordStatus.IN_NOTICE,
            later.pk: RecordStatus.IN_NOTICE,
        }
        ended.refresh_from_db()
        assert ended.confirmed_at is not None
        assert ended.version == 1
        assert tasks.practice_records_finalise() == 0

    def test_a_record_held_by_a_dispute_is_skipped(self):
        student = StudentFactory()
        record = _record(student, ends_on=timezone.localdate())
        dispute_raise(record=record, raised_by=student.user, reason="时间不对")
        PracticeRecord.objects.filter(pk=record.pk).update(
            notice_ends_on=timezone.localdate() - timedelta(days=5)
        )
        assert tasks.practice_records_finalise() == 0
        record.refresh_from_db()
        assert record.status == RecordStatus.DISPUTED

    def test_revoked_records_stay_revoked(self):
        student = StudentFactory()
        record = _record(student, ends_on=timezone.localdate() - timedelta(days=1))
        PracticeRecord.objects.filter(pk=record.pk).update(status=RecordStatus.REVOKED)
        assert tasks.practice_records_finalise() == 0

    def test_many_records_are_made_final_in_batches(self, monkeypatch):
        monkeypatch.setattr(services, "FINALISE_BATCH", 3)
        yesterday = timezone.localdate() - timedelta(days=1)
        for n in range(8):
            _record(StudentFactory(), ends_on=yesterday, days_ago=10 + n)
        assert tasks.practice_records_finalise() == 8
        assert set(PracticeRecord.objects.values_list("status", flat=True)) == {"final"}


def test_the_task_is_registered_under_the_name_beat_uses():
    app.loader.import_default_modules()
    assert TASK_NAME in app.tasks


@pytest.mark.worker
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_real_worker_runs_the_job():
    student = StudentFactory()
    record = _record(student, ends_on=timezone.localdate() - timedelta(days=1))
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=20):
        app.send_task(TASK_NAME)
        assert wait_until(
            lambda: PracticeRecord.objects.filter(pk=record.pk, status=RecordStatus.FINAL).exists(),
            timeout=20,
        ), f"the worker did not run {TASK_NAME} on {app.conf.broker_url}"
