from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from portal.models import AuditLog, Notification
from students.models import PracticeRecord, RecordedVia, RecordStatus
from students.services import (
    LedgerError,
    RecordFacts,
    practice_record_correct,
    practice_record_revoke,
    practice_record_upsert,
    practice_records_finalise,
)
from tests.factories import StudentFactory, UserFactory, category, district

pytestmark = pytest.mark.django_db


def _facts(student, start=None, minutes=180):
    start = start or timezone.make_aware(datetime(2026, 10, 10, 9, 0))
    return RecordFacts(
        student=student,
        category=category(),
        title="图书管理员",
        organiser_name="徐汇区图书馆",
        organiser_level="district",
        district=district(),
        started_at=start,
        ended_at=start + timedelta(hours=3),
        credited_minutes=minutes,
        recorded_via=RecordedVia.ROSTER,
    )


class TestPracticeRecordUpsert:
    def test_it_creates_a_record_in_notice_with_version_one(self):
        student = StudentFactory()
        record, created = practice_record_upsert(
            source_ref="attendance:1", facts=_facts(student), recorded_by=None
        )
        assert created
        assert record.status == RecordStatus.IN_NOTICE
        assert record.notice_ends_on == timezone.localdate() + timedelta(days=7)
        assert list(record.versions.values_list("version", flat=True)) == [1]

    def test_the_same_source_twice_changes_nothing(self):
        student = StudentFactory()
        practice_record_upsert(source_ref="attendance:1", facts=_facts(student), recorded_by=None)
        record, created = practice_record_upsert(
            source_ref="attendance:1", facts=_facts(student), recorded_by=None
        )
        assert not created
        assert PracticeRecord.objects.count() == 1
        assert record.versions.count() == 1

    def test_the_same_source_with_other_facts_is_refused(self):
        student = StudentFactory()
        practice_record_upsert(source_ref="attendance:1", facts=_facts(student), recorded_by=None)
        with pytest.raises(LedgerError) as error:
            practice_record_upsert(
                source_ref="attendance:1", facts=_facts(student, minutes=100), recorded_by=None
            )
        assert error.value.code == "source_ref_conflict"

    def test_it_refuses_more_credit_than_the_duration(self):
        with pytest.raises(LedgerError) as error:
            practice_record_upsert(
                source_ref="x:1", facts=_facts(StudentFactory(), minutes=181), recorded_by=None
            )
        assert error.value.code == "credit_out_of_range"
        assert not PracticeRecord.objects.exists()


class TestCorrectionsAndRevocations:
    def test_a_correction_makes_a_new_version_with_the_reason(self):
        coordinator = UserFactory()
        record, _ = practice_record_upsert(
            source_ref="a:1", facts=_facts(StudentFactory()), recorded_by=None
        )
        practice_record_correct(
            record=record,
            started_at=record.started_at,
            ended_at=record.ended_at,
            credited_minutes=120,
            changed_by=coordinator,
            reason="提前离场",
        )
        record.refresh_from_db()
        assert record.version == 2
        assert record.credited_minutes == 120
        latest = record.versions.get(version=2)
        assert (latest.reason, latest.changed_by) == ("提前离场", coordinator)
        entry = AuditLog.objects.get(action="record.correct")
        assert entry.data["before"]["credited_minutes"] == 180

    def test_a_correction_without_reason_is_refused(self):
        record, _ = practice_record_upsert(
            source_ref="a:1", facts=_facts(StudentFactory()), recorded_by=None
        )
        with pytest.raises(LedgerError) as error:
            practice_record_correct(
                record=record,
                started_at=record.started_at,
                ended_at=record.ended_at,
                credited_minutes=10,
                changed_by=UserFactory(),
                reason=" ",
            )
        assert error.value.code == "reason_required"
        record.refresh_from_db()
        assert record.credited_minutes == 180

    def test_revoking_keeps_the_record_as_a_new_version(self):
        record, _ = practice_record_upsert(
            source_ref="a:1", facts=_facts(StudentFactory()), recorded_by=None
        )
        practice_record_revoke(record=record, revoked_by=UserFactory(), reason="重复记录")
        record.refresh_from_db()
        assert (record.status, record.version) == (RecordStatus.REVOKED, 2)


class TestFinalise:
    def test_records_past_notice_become_final(self):
        record, _ = practice_record_upsert(
            source_ref="a:1", facts=_facts(StudentFactory()), recorded_by=None
        )
        assert practice_records_finalise(today=record.notice_ends_on) == 0
        assert practice_records_finalise(today=record.notice_ends_on + timedelta(days=1)) == 1
        record.refresh_from_db()
        assert record.status == RecordStatus.FINAL
        assert record.confirmed_at is not None


class TestNoOverlap:
    def test_a_second_record_at_the_same_time_is_refused_naming_the_first(self):
        student = StudentFactory()
        practice_record_upsert(source_ref="a:1", facts=_facts(student), recorded_by=None)
        later = _facts(
            student, start=timezone.make_aware(datetime(2026, 10, 10, 11, 0)), minutes=60
        )
        with pytest.raises(LedgerError) as error:
            practice_record_upsert(source_ref="a:2", facts=later, recorded_by=None)
        assert error.value.code == "overlap"
        assert "图书管理员" in error.value.messages[0]
        assert "2026-10-10 09:00" in error.value.messages[0]
        assert PracticeRecord.objects.count() == 1

    def test_back_to_back_records_and_other_students_are_fine(self):
        student = StudentFactory()
        practice_record_upsert(source_ref="a:1", facts=_facts(student), recorded_by=None)
        after = timezone.make_aware(datetime(2026, 10, 10, 12, 0))
        practice_record_upsert(
            source_ref="a:2", facts=_facts(student, start=after), recorded_by=None
        )
        practice_record_upsert(source_ref="a:3", facts=_facts(StudentFactory()), recorded_by=None)
        assert PracticeRecord.objects.count() == 3

    def test_a_revoked_record_no_longer_blocks_the_time(self):
        student = StudentFactory()
        record, _ = practice_record_upsert(
            source_ref="a:1", facts=_facts(student), recorded_by=None
        )
        practice_record_revoke(record=record, revoked_by=UserFactory(), reason="录入错误")
        practice_record_upsert(source_ref="a:2", facts=_facts(student), recorded_by=None)
        assert PracticeRecord.objects.filter(student=student).count() == 2

    def test_a_correction_into_another_records_time_is_refused(self):
        student = StudentFactory()
        practice_record_upsert(source_ref="a:1", facts=_facts(student), recorded_by=None)
        after = timezone.make_aware(datetime(2026, 10, 10, 12, 0))
        second, _ = practice_record_upsert(
            source_ref="a:2", facts=_facts(student, start=after), recorded_by=None
        )
        with pytest.raises(LedgerError) as error:
            practice_record_correct(
                record=second,
                started_at=after - timedelta(hours=1),
                ended_at=second.ended_at,
                credited_minutes=200,
                changed_by=UserFactory(),
                reason="改时间",
            )
        assert error.value.code == "overlap"
        second.refresh_from_db()
        assert second.version == 1


class TestTheStudentIsTold:
    """Each step of a record reaches its student as a notification linking to the record."""

    def _codes(self, student):
        return list(
            Notification.objects.filter(user=student.user)
            .order_by("pk")
            .values_list("code", flat=True)
        )

    def test_in_notice_corrected_revoked_and_final(self):
        student = StudentFactory()
        record, _ = practice_record_upsert(
            source_ref="a:1", facts=_facts(student), recorded_by=None
        )
        notice = Notification.objects.get(user=student.user, code="record.in_notice")
        assert record.notice_ends_on.isoformat() in notice.message
        assert notice.url == f"/records/{record.pk}/"
        # The same source again creates nothing and tells nobody again.
        practice_record_upsert(source_ref="a:1", facts=_facts(student), recorded_by=None)
        assert self._codes(student) == ["record.in_notice"]

        practice_record_correct(
            record=record,
            started_at=record.started_at,
            ended_at=record.ended_at,
            credited_minutes=120,
            changed_by=UserFactory(),
            reason="提前离开",
        )
        corrected = Notification.objects.get(user=student.user, code="record.corrected")
        assert "120" in corrected.message and "提前离开" in corrected.message

        other, _ = practice_record_upsert(
            source_ref="a:2",
            facts=_facts(student, start=timezone.make_aware(datetime(2026, 10, 11, 9, 0))),
            recorded_by=None,
        )
        practice_record_revoke(record=other, revoked_by=UserFactory(), reason="重复录入")
        assert "重复录入" in Notification.objects.get(code="record.revoked").message

        practice_records_finalise(today=record.notice_ends_on + timedelta(days=1))
        final = Notification.objects.get(user=student.user, code="record.final")
        assert "图书管理员" in final.message
        assert self._codes(student) == [
            "record.in_notice",
            "record.corrected",
            "record.in_notice",
            "record.revoked",
            "record.final",
        ]

    def test_a_student_without_a_login_is_not_told(self):
        student = StudentFactory(user=None)
        practice_record_upsert(source_ref="a:1", facts=_facts(student), recorded_by=None)
        assert not Notification.objects.exists()
