"""Credit beyond the safety policy's caps is held for the school's review, whatever the source:
a base's attendance, a school's entry, a record from another platform."""

from datetime import date, datetime, time, timedelta

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from bases.services.attendance import attendance_all_present, session_attendance_close
from portal.models import AuditLog, Notification
from students.models import PracticeRecord, RecordedVia, SafetyPolicy
from students.progress.totals import progress_totals_stream
from students.school_records import SchoolActivity, school_activity_record
from students.services import (
    LedgerError,
    RecordFacts,
    practice_record_held_reject,
    practice_record_held_release,
    practice_record_upsert,
)
from tests.factories import (
    ApplicationFactory,
    CoordinatorFactory,
    HeadTeacherFactory,
    SessionFactory,
    StudentFactory,
    category,
    district,
)
from tests.personas import outsider_of, owner_of

pytestmark = pytest.mark.django_db

DAY = timezone.localdate() - timedelta(days=3)


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour, minute)))


def _facts(student, start, end, minutes=None, title="社区志愿服务"):
    return RecordFacts(
        student=student,
        category=category(),
        title=title,
        organiser_name="其他平台",
        organiser_level="other",
        district=district(),
        started_at=start,
        ended_at=end,
        credited_minutes=minutes if minutes is not None else int((end - start).seconds // 60),
        recorded_via=RecordedVia.TRANSFER,
    )


def _base_session_attended(student, start, end):
    """A base's session the student attended, closed by its coordinator: one record."""
    session = SessionFactory(
        starts_at=start,
        ends_at=end,
        applications_open_at=start - timedelta(days=10),
        applications_close_at=start - timedelta(days=1),
        taken=1,
    )
    ApplicationFactory(session=session, student=student)
    coordinator = CoordinatorFactory(base=session.post.base).user
    attendance_all_present(session=session, recorded_by=coordinator)
    session_attendance_close(session=session, closed_by=coordinator)
    return PracticeRecord.objects.get(student=student, source_ref__startswith="attendance:")


@pytest.fixture
def student():
    return StudentFactory(name="张三明")


class TestDailyCap:
    def test_ten_hours_in_one_day_from_two_sources_leave_eight_credited_two_held(self, student):
        base_record = _base_session_attended(student, _at(DAY, 8), _at(DAY, 14))
        school_admin = owner_of(student.school_class.school)
        result = school_activity_record(
            school_class=student.school_class,
            activity=SchoolActivity(
                category=category("rural_practice"),
                title="学农",
                organiser_name="学校",
                first_day=DAY,
                last_day=DAY,
                daily_start=time(14, 0),
                daily_end=time(18, 0),
                minutes_per_day=240,
            ),
            recorded_by=school_admin,
        )
        assert result.created == 1
        school_record = PracticeRecord.objects.get(
            student=student, source_ref__startswith="school:"
        )
        assert (base_record.credited_minutes, base_record.held_minutes) == (360, 0)
        assert (school_record.credited_minutes, school_record.held_minutes) == (120, 120)
        records = PracticeRecord.objects.filter(student=student)
        assert sum(r.credited_minutes for r in records) == 480
        assert sum(r.held_minutes for r in records) == 120

    def test_credited_totals_count_only_credited_minutes(self, student):
        practice_record_upsert(
            source_ref="t:1", facts=_facts(student, _at(DAY, 7), _at(DAY, 13)), recorded_by=None
        )
        practice_record_upsert(
            source_ref="t:2", facts=_facts(student, _at(DAY, 13), _at(DAY, 17)), recorded_by=None
        )
        (_, totals), *_ = list(progress_totals_stream(type(student).objects.filter(pk=student.pk)))
        assert totals.volunteer_minutes == 480

    def test_the_same_source_twice_changes_nothing_though_part_is_held(self, student):
        practice_record_upsert(
            source_ref="t:1", facts=_facts(student, _at(DAY, 7), _at(DAY, 13)), recorded_by=None
        )
        facts = _facts(student, _at(DAY, 13), _at(DAY, 17))
        first, created = practice_record_upsert(source_ref="t:2", facts=facts, recorded_by=None)
        again, created_again = practice_record_upsert(
            source_ref="t:2", facts=facts, recorded_by=None
        )
        assert (created, created_again, again.pk) == (True, False, first.pk)
        assert (again.credited_minutes, again.held_minutes) == (120, 120)

    def test_another_day_has_its_own_cap(self, student):
        practice_record_upsert(
            source_ref="t:1", facts=_facts(student, _at(DAY, 7), _at(DAY, 15)), recorded_by=None
        )
        other, _ = practice_record_upsert(
            source_ref="t:2",
            facts=_facts(
                student, _at(DAY + timedelta(days=1), 9), _at(DAY + timedelta(days=1), 12)
            ),
            recorded_by=None,
        )
        assert (other.credited_minutes, other.held_minutes) == (180, 0)

    def test_the_cap_is_the_policy_in_force_on_that_day(self, student):
        SafetyPolicy.objects.create(effective_from=DAY, daily_credit_minutes=300)
        record, _ = practice_record_upsert(
            source_ref="t:1", facts=_facts(student, _at(DAY, 8), _at(DAY, 14)), recorded_by=None
        )
        earlier, _ = practice_record_upsert(
            source_ref="t:2",
            facts=_facts(
                student, _at(DAY - timedelta(days=1), 8), _at(DAY - timedelta(days=1), 14)
            ),
            recorded_by=None,
        )
        assert (record.credited_minutes, record.held_minutes) == (300, 60)
        assert (earlier.credited_minutes, earlier.held_minutes) == (360, 0)

    def test_one_session_longer_than_the_session_cap_is_held_beyond_it(self, student):
        SafetyPolicy.objects.update(session_credit_minutes=300, daily_credit_minutes=600)
        record = _base_session_attended(student, _at(DAY, 8), _at(DAY, 14))
        assert (record.credited_minutes, record.held_minutes) == (300, 60)

    def test_a_multi_day_record_is_capped_on_each_day(self, student):
        # 学农 from 08:00 on one day to 20:00 on the next: 36 hours, 2,160 minutes claimed.
        record, _ = practice_record_upsert(
            source_ref="t:1",
            facts=_facts(student, _at(DAY, 8), _at(DAY + timedelta(days=1), 20), minutes=2160),
            recorded_by=None,
        )
        assert (record.credited_minutes, record.held_minutes) == (960, 1200)

    def test_the_student_and_the_school_are_told(self, student):
        head = HeadTeacherFactory(school_class=student.school_class).user
        admin = owner_of(student.school_class.school)
        stranger = outsider_of(student.school_class.school)
        practice_record_upsert(
            source_ref="t:1", facts=_facts(student, _at(DAY, 7), _at(DAY, 17)), recorded_by=None
        )
        codes = dict(
            Notification.objects.filter(code__startswith="record.held").values_list(
                "user_id", "code"
            )
        )
        assert codes == {
            student.user_id: "record.held",
            head.pk: "record.held.reviewer",
            admin.pk: "record.held.reviewer",
        }
        assert stranger.pk not in codes


@pytest.fixture
def held(student):
    practice_record_upsert(
        source_ref="t:1", facts=_facts(student, _at(DAY, 7), _at(DAY, 13)), recorded_by=None
    )
    record, _ = practice_record_upsert(
        source_ref="t:2", facts=_facts(student, _at(DAY, 13), _at(DAY, 17)), recorded_by=None
    )
    return record


class TestReview:
    def test_released_minutes_are_credited_with_a_new_version_and_an_audit_entry(self, held):
        admin = owner_of(held.student.school_class.school)
        record = practice_record_held_release(record=held, decided_by=admin, reason="确有全天活动")
        assert (record.credited_minutes, record.held_minutes, record.version) == (240, 0, 2)
        entry = AuditLog.objects.get(action="record.held_release")
        assert entry.actor == admin
        assert entry.data["minutes"] == 120
        assert Notification.objects.filter(
            user=held.student.user, code="record.held.released"
        ).exists()

    def test_rejected_minutes_stay_uncredited_and_the_source_again_changes_nothing(self, held):
        head = HeadTeacherFactory(school_class=held.student.school_class).user
        record = practice_record_held_reject(record=held, decided_by=head, reason="超出当日上限")
        assert (record.credited_minutes, record.held_minutes, record.rejected_minutes) == (
            120,
            0,
            120,
        )
        again, created = practice_record_upsert(
            source_ref="t:2",
            facts=_facts(held.student, _at(DAY, 13), _at(DAY, 17)),
            recorded_by=None,
        )
        assert (created, again.credited_minutes) == (False, 120)

    def test_a_decision_needs_a_reason_and_a_reviewer_of_the_student(self, held):
        admin = owner_of(held.student.school_class.school)
        with pytest.raises(LedgerError) as error:
            practice_record_held_release(record=held, decided_by=admin, reason="  ")
        assert error.value.code == "reason_required"
        with pytest.raises(LedgerError) as error:
            practice_record_held_release(
                record=held, decided_by=outsider_of(held.student.school_class.school), reason="x"
            )
        assert error.value.code == "not_authorised"


class TestPages:
    @pytest.fixture
    def client(self, client):
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
        return client

    def test_the_school_admin_credits_held_minutes_from_the_review_list(self, client, held):
        admin = owner_of(held.student.school_class.school)
        client.force_login(admin)
        page = client.get(reverse("students:held-review"))
        assert page.status_code == 200
        assert "张三明" in page.text and "120 min" in page.text
        response = client.post(
            reverse("students:held-decide", args=[held.pk]),
            {"decision": "release", "reason": "确有全天活动"},
            follow=True,
        )
        assert "120 minutes of 张三明 credited." in response.text
        held.refresh_from_db()
        assert (held.credited_minutes, held.held_minutes) == (240, 0)
        assert "No minutes are held for review." in response.text

    def test_a_decision_without_a_reason_is_refused_on_the_page(self, client, held):
        client.force_login(owner_of(held.student.school_class.school))
        response = client.post(
            reverse("students:held-decide", args=[held.pk]), {"decision": "reject", "reason": ""}
        )
        assert response.status_code == 400
        held.refresh_from_db()
        assert held.held_minutes == 120

    def test_another_school_sees_nothing_and_cannot_decide(self, client, held):
        client.force_login(outsider_of(held.student.school_class.school))
        assert "张三明" not in client.get(reverse("students:held-review")).text
        response = client.post(
            reverse("students:held-decide", args=[held.pk]), {"decision": "release", "reason": "x"}
        )
        assert response.status_code == 404

    def test_the_student_sees_held_for_review_on_their_records(self, client, held):
        client.force_login(held.student.user)
        assert "120 min held for review" in client.get(reverse("students:my-records")).text


class TestExport:
    def test_the_export_sends_only_credited_minutes(self, held):
        from evaluation_export.exporters import COLUMNS, export_rows, records_for_batch
        from evaluation_export.models import BatchKind
        from students.services import practice_records_finalise

        practice_records_finalise(today=timezone.localdate() + timedelta(days=30))
        rows = [
            dict(zip(COLUMNS, row, strict=True))
            for row in export_rows(records_for_batch(BatchKind.DELTA))
        ]
        assert {row["record_id"]: row["credited_minutes"] for row in rows}[str(held.pk)] == 120


class TestPolicyConstraints:
    def test_the_window_runs_forward_and_the_caps_are_positive(self):
        from tests.constraint_helpers import refused

        policy = SafetyPolicy.objects.get()
        with refused(SafetyPolicy, "safety_window_order"):
            SafetyPolicy.objects.filter(pk=policy.pk).update(
                session_earliest_start=time(21, 0), session_latest_end=time(7, 0)
            )
        with refused(SafetyPolicy, "safety_caps_positive"):
            SafetyPolicy.objects.filter(pk=policy.pk).update(daily_credit_minutes=0)
        assert SafetyPolicy.objects.filter(pk=policy.pk).update(daily_credit_minutes=360) == 1
