"""Self check-in with the rotating code (时长码), and the repeat interval and minimum stay every
scan obeys: roster, code scan, API and self check-in alike."""

from datetime import timedelta

import pytest
from django.utils import timezone, translation

from bases.checkin_codes import ALPHABET, STEP_SECONDS, code_for, code_step, step_of
from bases.errors import BaseError
from bases.models import Attendance, AttendanceScan
from bases.services.attendance import (
    Scan,
    attendance_correct,
    attendance_scan_record,
    attendance_scans_record,
    attendance_self_check_in,
    attendance_walk_in_confirm,
    attendance_walk_in_refuse,
    self_check_in_session_for_code,
    session_attendance_close,
)
from portal.models import AuditLog
from students.models import PracticeRecord, RequirementPolicy
from tests.factories import (
    ApplicationFactory,
    CoordinatorFactory,
    SessionFactory,
    StudentFactory,
    session_ran_this_morning,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    """Messages in English, so they read the same whatever the catalogue holds."""
    with translation.override("en"):
        yield


def _running_session(**post):
    """A three-hour session that started an hour ago."""
    start = (timezone.localtime() - timedelta(hours=1)).replace(second=0, microsecond=0)
    fields = {f"post__{name}": value for name, value in post.items()}
    return SessionFactory(
        starts_at=start,
        ends_at=start + timedelta(hours=3),
        applications_open_at=start - timedelta(days=10),
        applications_close_at=start - timedelta(days=1),
        taken=1,
        **fields,
    )


@pytest.fixture
def running():
    session = _running_session()
    student = ApplicationFactory(session=session).student
    coordinator = CoordinatorFactory(base=session.post.base).user
    return session, student, coordinator


def _code(session, at):
    return code_for(session_id=session.pk, step=step_of(at))


def _self(session, student, at):
    return attendance_self_check_in(
        session=session, student=student, code=_code(session, at), now=at
    )


def _refusal(call) -> BaseError:
    with pytest.raises(BaseError) as error:
        call()
    return error.value


class TestCodes:
    def test_a_code_is_six_unambiguous_characters_and_changes_every_step(self):
        now = timezone.now()
        first = code_for(session_id=1, step=step_of(now))
        assert len(first) == 6 and set(first) <= set(ALPHABET)
        assert not set("0O1IL") & set(ALPHABET)
        assert code_for(session_id=1, step=step_of(now) + 1) != first
        assert code_for(session_id=2, step=step_of(now)) != first

    def test_the_current_and_the_previous_step_are_accepted_never_older(self):
        now = timezone.now()
        for age, accepted in ((0, True), (1, True), (2, False), (3, False)):
            code = code_for(session_id=7, step=step_of(now) - age)
            assert (code_step(session_id=7, code=code, now=now) is not None) is accepted
        assert code_step(session_id=7, code="", now=now) is None

    def test_a_typed_code_finds_its_session_in_lower_case_with_spaces(self, running):
        session, _student, _ = running
        now = timezone.now()
        typed = " ".join(_code(session, now).lower())
        assert self_check_in_session_for_code(code=typed, now=now) == session


class TestSelfCheckIn:
    def test_check_in_then_out_later_credits_the_right_minutes(self, running):
        session, student, coordinator = running
        now = timezone.now()
        arrived = now - timedelta(minutes=50)
        scan = _self(session, student, arrived)
        assert (scan.kind, scan.source) == ("in", "self")
        scan = _self(session, student, now)
        assert (scan.kind, scan.source) == ("out", "self")
        attendance = Attendance.objects.get(session=session, student=student)
        assert attendance.recorded_via == "self"
        assert (attendance.checked_in_at, attendance.checked_out_at) == (arrived, now)
        # Ended early (the session runs two more hours): close with the student checked out.
        session_attendance_close(session=session, closed_by=coordinator)
        record = PracticeRecord.objects.get(student=student)
        assert record.credited_minutes == 50
        assert record.recorded_via == "self"

    def test_a_code_two_steps_old_is_refused(self, running):
        session, student, _ = running
        now = timezone.now()
        stale = code_for(session_id=session.pk, step=step_of(now) - 2)
        error = _refusal(
            lambda: attendance_self_check_in(session=session, student=student, code=stale, now=now)
        )
        assert error.code == "code_expired"
        assert "no longer valid" in error.messages[0]
        assert not AttendanceScan.objects.exists()

    def test_the_previous_step_still_works(self, running):
        session, student, _ = running
        now = timezone.now()
        previous = code_for(session_id=session.pk, step=step_of(now) - 1)
        attendance_self_check_in(session=session, student=student, code=previous, now=now)
        assert AttendanceScan.objects.get().kind == "in"

    def test_another_sessions_code_is_refused(self, running):
        session, student, _ = running
        other = _running_session()
        now = timezone.now()
        error = _refusal(
            lambda: attendance_self_check_in(
                session=session, student=student, code=_code(other, now), now=now
            )
        )
        assert error.code == "code_expired"

    def test_outside_the_check_in_window_is_refused(self):
        session = session_ran_this_morning(taken=1)  # ended two hours ago
        student = ApplicationFactory(session=session).student
        now = timezone.now()
        error = _refusal(lambda: _self(session, student, now))
        assert error.code == "outside_check_in_window"
        opens = timezone.localtime(session.starts_at - timedelta(minutes=30))
        assert f"open from {opens:%Y-%m-%d %H:%M}" in error.messages[0]

    def test_a_student_not_confirmed_is_refused(self, running):
        session, _student, _ = running
        error = _refusal(lambda: _self(session, StudentFactory(), timezone.now()))
        assert error.code == "not_confirmed"
        assert "not confirmed" in error.messages[0]
        assert not Attendance.objects.exists()

    def test_the_same_student_twice_within_the_repeat_interval_is_refused(self, running):
        session, student, _ = running
        now = timezone.now()
        _self(session, student, now - timedelta(seconds=20))
        error = _refusal(lambda: _self(session, student, now))
        assert error.code == "already_recorded"
        assert "already recorded" in error.messages[0]
        assert AttendanceScan.objects.count() == 1

    def test_a_check_out_too_soon_is_left_to_the_coordinator(self, running):
        session, student, coordinator = running
        now = timezone.now()
        _self(session, student, now - timedelta(minutes=4))
        error = _refusal(lambda: _self(session, student, now))
        assert error.code == "short_stay"
        assert "ask the coordinator" in error.messages[0]
        # The coordinator's roster may confirm it.
        attendance_scan_record(
            session=session,
            scan=Scan(
                nonce="roster-out-1",
                student=student,
                kind="out",
                happened_at=now,
                short_stay_confirmed=True,
            ),
            source="roster",
            recorded_by=coordinator,
        )
        assert Attendance.objects.get(student=student).checked_out_at == now

    def test_switched_off_for_the_post_is_refused(self):
        session = _running_session(self_check_in=False)
        student = ApplicationFactory(session=session).student
        error = _refusal(lambda: _self(session, student, timezone.now()))
        assert error.code == "self_check_in_off"

    def test_a_closed_session_is_refused(self, running):
        session, student, coordinator = running
        session_attendance_close(session=session, closed_by=coordinator)
        error = _refusal(lambda: _self(session, student, timezone.now()))
        assert error.code == "closed"

    def test_a_self_check_in_is_corrected_with_a_reason(self, running):
        session, student, coordinator = running
        now = timezone.now()
        _self(session, student, now - timedelta(minutes=30))
        attendance = Attendance.objects.get(student=student)
        attendance_correct(
            attendance=attendance,
            checked_in_at=session.starts_at,
            checked_out_at=session.starts_at + timedelta(minutes=90),
            credited_minutes=None,
            reason="到达时手机没电，协调员核实",
            corrected_by=coordinator,
        )
        attendance.refresh_from_db()
        assert attendance.corrected and attendance.credited_minutes == 90
        entry = AuditLog.objects.get(action="attendance.correct")
        assert entry.data["reason"] == "到达时手机没电，协调员核实"
        # Later self scans no longer move corrected times.
        _self(session, student, now)
        attendance.refresh_from_db()
        assert attendance.checked_out_at == session.starts_at + timedelta(minutes=90)


class TestWalkIns:
    def test_a_walk_in_waits_for_the_coordinator_then_is_confirmed(self):
        session = _running_session(allows_walk_ins=True)
        coordinator = CoordinatorFactory(base=session.post.base).user
        walker = StudentFactory()
        _self(session, walker, timezone.now() - timedelta(minutes=40))
        attendance = Attendance.objects.get(student=walker)
        assert attendance.awaiting_confirmation and attendance.application is None
        assert attendance.checked_in_at is not None
        _self(session, walker, timezone.now())
        error = _refusal(lambda: session_attendance_close(session=session, closed_by=coordinator))
        assert error.code == "walk_ins_awaiting"
        attendance_walk_in_confirm(attendance=attendance, confirmed_by=coordinator)
        session_attendance_close(session=session, closed_by=coordinator)
        assert PracticeRecord.objects.get(student=walker).credited_minutes == 40

    def test_a_refused_walk_in_leaves_nothing(self):
        session = _running_session(allows_walk_ins=True)
        coordinator = CoordinatorFactory(base=session.post.base).user
        walker = StudentFactory()
        _self(session, walker, timezone.now())
        attendance_walk_in_refuse(
            attendance=Attendance.objects.get(student=walker), refused_by=coordinator
        )
        assert not Attendance.objects.exists() and not AttendanceScan.objects.exists()
        assert AuditLog.objects.filter(action="attendance.walk_in_refuse").exists()


class TestRepeatIntervalEverywhere:
    """The fault: a second scan seconds after the first checked the student out with 0 minutes."""

    def test_a_code_scan_seconds_after_the_first_is_already_recorded(self, running):
        session, student, coordinator = running
        now = timezone.now()

        def scan(nonce, at, kind="auto"):
            return attendance_scan_record(
                session=session,
                scan=Scan(nonce=nonce, student=student, kind=kind, happened_at=at),
                source="scan",
                recorded_by=coordinator,
            )

        scan("scan-first-1", now - timedelta(seconds=5))
        error = _refusal(lambda: scan("scan-second", now))
        assert error.code == "already_recorded"
        attendance = Attendance.objects.get(student=student)
        assert attendance.checked_out_at is None

    def test_an_api_batch_answers_already_recorded_for_the_double_scan(self, running):
        session, student, coordinator = running
        now = timezone.now() - timedelta(minutes=30)
        result = attendance_scans_record(
            session=session,
            scans=[
                Scan(nonce="api-in-0001", student=student, kind="in", happened_at=now),
                Scan(
                    nonce="api-out-001",
                    student=student,
                    kind="out",
                    happened_at=now + timedelta(seconds=10),
                ),
            ],
            source="api",
            recorded_by=None,
        )
        assert result.outcomes == ["created", "error"]
        assert result.errors[0][1] == "already_recorded"

    def test_the_interval_and_minimum_come_from_the_policy(self, running):
        session, student, coordinator = running
        RequirementPolicy.objects.update(scan_repeat_seconds=5, minimum_checkout_minutes=0)
        if not RequirementPolicy.objects.exists():
            RequirementPolicy.objects.create(
                effective_from_entry_year=2000, scan_repeat_seconds=5, minimum_checkout_minutes=0
            )
        now = timezone.now()
        _self(session, student, now - timedelta(seconds=STEP_SECONDS // 3))
        # Ten seconds later is past a five-second interval, and no minimum applies.
        scan = _self(session, student, now)
        assert scan.kind == "out"

    def test_a_sheets_rows_are_not_double_scans(self, running):
        """A sheet states its times on purpose: a row next to a roster scan still imports."""
        session, student, coordinator = running
        arrived = session.starts_at + timedelta(minutes=1)
        attendance_scan_record(
            session=session,
            scan=Scan(nonce="roster-in-01", student=student, kind="in", happened_at=arrived),
            source="roster",
            recorded_by=coordinator,
        )
        result = attendance_scans_record(
            session=session,
            scans=[
                Scan(
                    nonce="sheet-in-001",
                    student=student,
                    kind="in",
                    happened_at=arrived - timedelta(seconds=30),
                ),
                Scan(
                    nonce="sheet-out-01",
                    student=student,
                    kind="out",
                    happened_at=session.starts_at + timedelta(minutes=50),
                ),
            ],
            source="import",
            recorded_by=coordinator,
        )
        assert result.outcomes == ["created", "created"]
