"""Scans, pairing, closing a session into the ledger, and corrections with a reason."""

from datetime import timedelta

import pytest

from bases.errors import BaseError
from bases.models import ApplicationStatus, Attendance, AttendanceScan
from bases.services.attendance import (
    Scan,
    attendance_all_present,
    attendance_correct,
    attendance_scan_record,
    attendance_walk_in_add,
    session_attendance_close,
)
from portal.models import AuditLog
from students.models import PracticeRecord, RecordStatus
from tests.factories import (
    ApplicationFactory,
    CoordinatorFactory,
    StudentFactory,
    session_ran_this_morning,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def roster():
    """A session that ran this morning, a coordinator of its base, two confirmed students."""
    session = session_ran_this_morning(taken=2)
    coordinator = CoordinatorFactory(base=session.post.base).user
    first = ApplicationFactory(session=session).student
    second = ApplicationFactory(session=session).student
    return session, coordinator, first, second


def _scan(session, student, kind, minutes, nonce, user):
    return attendance_scan_record(
        session=session,
        scan=Scan(
            nonce=nonce,
            student=student,
            kind=kind,
            happened_at=session.starts_at + timedelta(minutes=minutes),
        ),
        source="scan",
        recorded_by=user,
    )


class TestScans:
    def test_a_repeated_nonce_records_once(self, roster):
        session, user, student, _ = roster
        assert _scan(session, student, "in", 0, "nonce-0001", user)[1] is True
        assert _scan(session, student, "in", 0, "nonce-0001", user)[1] is False
        assert AttendanceScan.objects.count() == 1

    def test_a_reused_nonce_with_another_payload_is_refused(self, roster):
        session, user, student, _ = roster
        _scan(session, student, "in", 0, "nonce-0001", user)
        with pytest.raises(BaseError) as error:
            _scan(session, student, "in", 5, "nonce-0001", user)
        assert error.value.code == "nonce_reused"

    def test_a_check_out_before_its_check_in_pairs_correctly(self, roster):
        session, user, student, _ = roster
        _scan(session, student, "out", 170, "nonce-out-1", user)
        attendance = Attendance.objects.get(student=student)
        assert (attendance.checked_in_at, attendance.checked_out_at) == (None, None)
        _scan(session, student, "in", 10, "nonce-in-01", user)
        attendance.refresh_from_db()
        assert attendance.checked_in_at == session.starts_at + timedelta(minutes=10)
        assert attendance.checked_out_at == session.starts_at + timedelta(minutes=170)

    def test_a_student_not_confirmed_is_refused(self, roster):
        session, user, _, _ = roster
        with pytest.raises(BaseError) as error:
            _scan(session, StudentFactory(), "in", 0, "nonce-0002", user)
        assert error.value.code == "not_confirmed"
        assert not AttendanceScan.objects.exists()

    def test_a_scan_far_outside_the_session_is_refused(self, roster):
        session, user, student, _ = roster
        with pytest.raises(BaseError) as error:
            _scan(session, student, "in", -60 * 4, "nonce-0003", user)
        assert error.value.code == "time_outside_session"


class TestClosing:
    def test_closing_credits_the_overlap_and_marks_the_absent_no_show(self, roster):
        session, user, present, absent = roster
        _scan(session, present, "in", -20, "n-in-0001", user)
        _scan(session, present, "out", 150, "n-out-001", user)
        assert session_attendance_close(session=session, closed_by=user) == 1
        record = PracticeRecord.objects.get()
        assert record.credited_minutes == 150
        assert record.status == RecordStatus.IN_NOTICE
        assert record.source_ref == f"attendance:{Attendance.objects.get(student=present).pk}"
        statuses = dict(session.applications.values_list("student_id", "status"))
        assert statuses == {present.pk: ApplicationStatus.ATTENDED, absent.pk: "no_show"}

    def test_closing_is_refused_while_someone_is_not_checked_out(self, roster):
        session, user, present, _ = roster
        present.name = "李明"
        present.save()
        _scan(session, present, "in", 0, "n-in-0001", user)
        with pytest.raises(BaseError) as error:
            session_attendance_close(session=session, closed_by=user)
        assert error.value.code == "missing_checkout"
        assert "李明" in error.value.messages[0]
        assert not PracticeRecord.objects.exists()

    def test_all_present_credits_the_whole_session(self, roster):
        session, user, _, _ = roster
        assert attendance_all_present(session=session, recorded_by=user) == 2
        session_attendance_close(session=session, closed_by=user)
        assert sorted(PracticeRecord.objects.values_list("credited_minutes", flat=True)) == [
            180,
            180,
        ]

    def test_a_walk_in_needs_a_reason_and_is_audited(self, roster):
        session, user, _, _ = roster
        walk_in = StudentFactory()
        with pytest.raises(BaseError):
            attendance_walk_in_add(session=session, student=walk_in, reason=" ", added_by=user)
        attendance_walk_in_add(
            session=session, student=walk_in, reason="同班同学代替", added_by=user
        )
        _scan(session, walk_in, "in", 0, "n-in-walk", user)
        assert AuditLog.objects.get(action="attendance.walk_in").data["reason"] == "同班同学代替"


class TestCorrections:
    def test_a_correction_after_closing_makes_a_new_record_version(self, roster):
        session, user, present, _ = roster
        attendance_all_present(session=session, recorded_by=user)
        session_attendance_close(session=session, closed_by=user)
        attendance = Attendance.objects.get(student=present)
        attendance_correct(
            attendance=attendance,
            checked_in_at=session.starts_at,
            checked_out_at=session.starts_at + timedelta(hours=2),
            credited_minutes=None,
            reason="提前离开",
            corrected_by=user,
        )
        record = PracticeRecord.objects.get(source_ref=f"attendance:{attendance.pk}")
        assert (record.version, record.credited_minutes) == (2, 120)
        assert record.versions.get(version=2).reason == "提前离开"

    def test_scans_after_a_correction_do_not_move_the_times(self, roster):
        session, user, present, _ = roster
        _scan(session, present, "in", 0, "n-in-0001", user)
        attendance = Attendance.objects.get(student=present)
        attendance_correct(
            attendance=attendance,
            checked_in_at=session.starts_at + timedelta(minutes=30),
            checked_out_at=session.ends_at,
            credited_minutes=None,
            reason="扫码时间有误",
            corrected_by=user,
        )
        _scan(session, present, "in", -10, "n-in-0002", user)
        attendance.refresh_from_db()
        assert attendance.checked_in_at == session.starts_at + timedelta(minutes=30)
        assert attendance.credited_minutes == 150


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_services_run_in_their_own_transaction_outside_any(roster):
    """Called in autocommit mode, as a view or a task does: each service opens the transaction
    its row locks need (on PostgreSQL, select_for_update outside one is an error)."""
    session, user, first, second = roster
    _scan(session, first, "in", 5, "own-tx-0001", user)
    _scan(session, first, "out", 150, "own-tx-0002", user)
    assert attendance_all_present(session=session, recorded_by=user) == 1  # the second student
    session_attendance_close(session=session, closed_by=user)
    minutes = dict(PracticeRecord.objects.values_list("student_id", "credited_minutes"))
    assert minutes == {first.pk: 145, second.pk: 180}
