"""Disputes (异议) during public notice: who may raise one, when, and each answer the organiser
gives (uphold, correct, revoke), with the audit trail, the notifications and finalisation."""

from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.utils import timezone

from bases.models import Application, ApplicationStatus, Attendance
from portal.models import AuditLog, Notification, Role
from students.disputes import (
    DisputeError,
    dispute_correct,
    dispute_raise,
    dispute_revoke,
    dispute_uphold,
    organiser_scope_q,
)
from students.models import (
    Dispute,
    DisputeStatus,
    PracticeRecord,
    RecordedVia,
    RecordStatus,
)
from students.services import (
    LedgerError,
    RecordFacts,
    practice_record_upsert,
    practice_records_finalise,
)
from tests.factories import (
    BaseFactory,
    DistrictAdminFactory,
    PostFactory,
    SchoolClassFactory,
    SchoolFactory,
    SessionFactory,
    StudentFactory,
    UserFactory,
    category,
    district,
)
from tests.personas import owner_of

pytestmark = pytest.mark.django_db


def base_record(student, base, *, days_ago=2, hour=9, title="图书管理员") -> PracticeRecord:
    """A record written the way closing a session writes it: from an attendance of the base."""
    start = (timezone.localtime() - timedelta(days=days_ago)).replace(
        hour=hour, minute=0, second=0, microsecond=0
    )
    session = SessionFactory(
        post=PostFactory(base=base, title=title),
        starts_at=start,
        ends_at=start + timedelta(hours=3),
        applications_open_at=start - timedelta(days=10),
        applications_close_at=start - timedelta(days=1),
        attendance_closed_at=start + timedelta(hours=4),
    )
    application = Application.objects.create(
        student=student, session=session, status=ApplicationStatus.ATTENDED
    )
    attendance = Attendance.objects.create(
        session=session,
        student=student,
        application=application,
        checked_in_at=start,
        checked_out_at=start + timedelta(hours=3),
        credited_minutes=180,
    )
    record, _ = practice_record_upsert(
        source_ref=f"attendance:{attendance.pk}",
        facts=RecordFacts(
            student=student,
            category=category(),
            title=title,
            organiser_name=base.name,
            organiser_level=base.level,
            district=base.district,
            started_at=start,
            ended_at=start + timedelta(hours=3),
            credited_minutes=180,
            recorded_via=RecordedVia.ROSTER,
            organiser_ref=f"base:{base.pk}",
        ),
        recorded_by=None,
    )
    return record


def build_world() -> SimpleNamespace:
    """Two schools, two bases, and one persona for every role that matters to a notice."""
    w = SimpleNamespace()
    w.school = SchoolFactory(name="上海市徐汇中学", district=district("310104"))
    w.class_a = SchoolClassFactory(school=w.school, number=1)
    w.class_b = SchoolClassFactory(school=w.school, number=2)
    w.student = StudentFactory(name="张三明", school_class=w.class_a)
    w.classmate = StudentFactory(name="李四", school_class=w.class_a)
    w.other_class_student = StudentFactory(name="王小五", school_class=w.class_b)
    w.head_teacher = owner_of(w.class_a)
    w.other_head_teacher = owner_of(w.class_b)
    w.school_admin = owner_of(w.school)
    w.other_school = SchoolFactory(name="上海市黄浦中学", district=district("310101"))
    w.other_class = SchoolClassFactory(school=w.other_school)
    w.other_student = StudentFactory(name="赵六", school_class=w.other_class)
    w.other_school_head_teacher = owner_of(w.other_class)
    w.other_school_admin = owner_of(w.other_school)
    w.base = BaseFactory(name="徐汇区图书馆")
    w.other_base = BaseFactory(name="黄浦区博物馆")
    w.coordinator = owner_of(w.base)
    w.other_coordinator = owner_of(w.other_base)
    w.district_admin = DistrictAdminFactory().user
    w.record = base_record(w.student, w.base)
    w.classmate_record = base_record(w.classmate, w.other_base, title="讲解员")
    w.other_class_record = base_record(w.other_class_student, w.base, days_ago=3)
    w.other_school_record = base_record(w.other_student, w.base, days_ago=1)
    return w


@pytest.fixture
def world():
    return build_world()


def _raise(w, user, record=None, reason="我 11:00 就离开了，不是 12:00。"):
    return dispute_raise(record=record or w.record, raised_by=user, reason=reason)


class TestRaising:
    @pytest.mark.parametrize("who", ["student", "head_teacher", "school_admin"])
    def test_the_student_their_head_teacher_or_school_may_raise_one(self, world, who):
        user = getattr(world, who) if who != "student" else world.student.user
        dispute = _raise(world, user)
        world.record.refresh_from_db()
        assert world.record.status == RecordStatus.DISPUTED
        assert (dispute.status, dispute.raised_by) == (DisputeStatus.OPEN, user)
        entry = AuditLog.objects.get(action="dispute.raise")
        assert entry.actor == user
        assert entry.data["record"] == world.record.pk
        # The base's coordinator is asked to answer.
        assert Notification.objects.filter(user=world.coordinator).count() == 1
        told_student = Notification.objects.filter(
            user=world.student.user, code__startswith="dispute."
        ).count()
        assert told_student == (0 if who == "student" else 1)

    @pytest.mark.parametrize(
        "who",
        [
            "classmate",
            "other_head_teacher",
            "other_school_head_teacher",
            "other_school_admin",
            "coordinator",
            "district_admin",
        ],
    )
    def test_others_are_refused(self, world, who):
        user = world.classmate.user if who == "classmate" else getattr(world, who)
        with pytest.raises(DisputeError) as error:
            _raise(world, user)
        assert error.value.code == "not_allowed"
        world.record.refresh_from_db()
        assert world.record.status == RecordStatus.IN_NOTICE
        assert not Dispute.objects.exists()

    def test_a_city_admin_is_refused_too(self, world):
        with pytest.raises(DisputeError) as error:
            _raise(world, UserFactory(role=Role.CITY_ADMIN))
        assert error.value.code == "not_allowed"

    def test_after_the_notice_has_ended_it_is_refused(self, world):
        PracticeRecord.objects.filter(pk=world.record.pk).update(
            notice_ends_on=timezone.localdate() - timedelta(days=1)
        )
        with pytest.raises(DisputeError) as error:
            _raise(world, world.student.user)
        assert error.value.code == "not_in_notice"

    def test_on_the_last_day_of_notice_it_is_still_allowed(self, world):
        PracticeRecord.objects.filter(pk=world.record.pk).update(
            notice_ends_on=timezone.localdate()
        )
        assert _raise(world, world.student.user).status == DisputeStatus.OPEN

    @pytest.mark.parametrize("status", [RecordStatus.FINAL, RecordStatus.REVOKED])
    def test_a_final_or_revoked_record_cannot_be_disputed(self, world, status):
        PracticeRecord.objects.filter(pk=world.record.pk).update(
            status=status, confirmed_at=timezone.now()
        )
        with pytest.raises(DisputeError) as error:
            _raise(world, world.student.user)
        assert error.value.code == "not_in_notice"

    def test_one_dispute_at_a_time(self, world):
        _raise(world, world.student.user)
        with pytest.raises(DisputeError) as error:
            _raise(world, world.head_teacher)
        assert error.value.code == "already_disputed"
        assert Dispute.objects.count() == 1

    def test_a_reason_is_required(self, world):
        with pytest.raises(DisputeError) as error:
            _raise(world, world.student.user, reason="   ")
        assert error.value.code == "reason_required"


class TestAnswers:
    def test_uphold_puts_the_record_back_in_notice_with_the_same_end(self, world):
        ends_on = world.record.notice_ends_on
        dispute = _raise(world, world.head_teacher)
        dispute_uphold(dispute=dispute, answered_by=world.coordinator, reason="签退记录为 12:00。")
        world.record.refresh_from_db()
        dispute.refresh_from_db()
        assert world.record.status == RecordStatus.IN_NOTICE
        assert world.record.notice_ends_on == ends_on
        assert world.record.version == 1
        assert (dispute.status, dispute.answer) == (DisputeStatus.UPHELD, "签退记录为 12:00。")
        assert dispute.answered_by == world.coordinator
        # Who raised it and the student are told, once each.
        told = Notification.objects.filter(message__contains="签退记录为 12:00。")
        assert sorted(told.values_list("user_id", flat=True)) == sorted(
            [world.head_teacher.pk, world.student.user.pk]
        )
        assert AuditLog.objects.get(action="dispute.answer").data["answer"] == "upheld"

    def test_uphold_after_the_notice_end_gives_a_new_notice_period(self, world):
        dispute = _raise(world, world.student.user)
        PracticeRecord.objects.filter(pk=world.record.pk).update(
            notice_ends_on=timezone.localdate() - timedelta(days=2)
        )
        dispute_uphold(dispute=dispute, answered_by=world.coordinator, reason="记录无误")
        world.record.refresh_from_db()
        assert world.record.status == RecordStatus.IN_NOTICE
        assert world.record.notice_ends_on == timezone.localdate() + timedelta(days=7)

    def test_correct_makes_a_new_version_and_puts_it_back_in_notice(self, world):
        dispute = _raise(world, world.student.user)
        start = world.record.started_at
        dispute_correct(
            dispute=dispute,
            answered_by=world.coordinator,
            reason="学生 11:00 离开",
            started_at=start,
            ended_at=start + timedelta(hours=2),
            credited_minutes=120,
        )
        world.record.refresh_from_db()
        dispute.refresh_from_db()
        assert world.record.status == RecordStatus.IN_NOTICE
        assert (world.record.version, world.record.credited_minutes) == (2, 120)
        version = world.record.versions.get(version=2)
        assert (version.reason, version.changed_by) == ("学生 11:00 离开", world.coordinator)
        assert version.status == RecordStatus.IN_NOTICE
        assert dispute.status == DisputeStatus.CORRECTED
        assert AuditLog.objects.filter(action="record.correct").count() == 1
        # One message, the dispute's answer (not a second one for the correction it made).
        told = Notification.objects.filter(user=world.student.user).exclude(code="record.in_notice")
        assert told.count() == 1

    def test_a_correction_that_would_overlap_another_record_changes_nothing(self, world):
        other = base_record(world.student, world.other_base, days_ago=2, hour=13, title="讲解员")
        dispute = _raise(world, world.student.user)
        with pytest.raises(LedgerError) as error:
            dispute_correct(
                dispute=dispute,
                answered_by=world.coordinator,
                reason="延长",
                started_at=world.record.started_at,
                ended_at=other.started_at + timedelta(hours=1),
                credited_minutes=240,
            )
        assert error.value.code == "overlap"
        assert "讲解员" in error.value.messages[0]
        world.record.refresh_from_db()
        dispute.refresh_from_db()
        assert (world.record.status, world.record.version) == (RecordStatus.DISPUTED, 1)
        assert dispute.status == DisputeStatus.OPEN

    def test_revoke_keeps_the_record_apart_as_revoked(self, world):
        dispute = _raise(world, world.school_admin)
        dispute_revoke(dispute=dispute, answered_by=world.coordinator, reason="当天未到岗")
        world.record.refresh_from_db()
        dispute.refresh_from_db()
        assert world.record.status == RecordStatus.REVOKED
        assert world.record.version == 2
        assert dispute.status == DisputeStatus.REVOKED
        assert AuditLog.objects.filter(action="record.revoke").count() == 1

    def test_only_the_bases_coordinator_may_answer(self, world):
        dispute = _raise(world, world.student.user)
        for user in (world.other_coordinator, world.school_admin, world.head_teacher):
            with pytest.raises(DisputeError) as error:
                dispute_uphold(dispute=dispute, answered_by=user, reason="无误")
            assert error.value.code == "not_allowed"
        dispute.refresh_from_db()
        assert dispute.status == DisputeStatus.OPEN

    def test_an_answered_dispute_cannot_be_answered_again(self, world):
        dispute = _raise(world, world.student.user)
        dispute_uphold(dispute=dispute, answered_by=world.coordinator, reason="无误")
        with pytest.raises(DisputeError) as error:
            dispute_revoke(dispute=dispute, answered_by=world.coordinator, reason="撤销")
        assert error.value.code == "already_answered"

    def test_an_answer_needs_a_reason(self, world):
        dispute = _raise(world, world.student.user)
        with pytest.raises(DisputeError) as error:
            dispute_uphold(dispute=dispute, answered_by=world.coordinator, reason="")
        assert error.value.code == "reason_required"

    def test_after_an_answer_a_new_dispute_may_be_raised(self, world):
        first = _raise(world, world.student.user)
        dispute_uphold(dispute=first, answered_by=world.coordinator, reason="无误")
        second = _raise(world, world.head_teacher, reason="仍有异议")
        assert second.status == DisputeStatus.OPEN
        assert world.record.disputes.count() == 2


class TestSchoolEnteredRecords:
    def test_the_school_admin_answers_disputes_about_them_but_not_their_own(self, world):
        start = (timezone.localtime() - timedelta(days=5)).replace(hour=8, minute=0)
        record, _ = practice_record_upsert(
            source_ref=f"school:abc:{world.student.pk}:{start.date()}",
            facts=RecordFacts(
                student=world.student,
                category=category("rural_practice"),
                title="高二学农",
                organiser_name=world.school.name,
                organiser_level="school_own",
                district=world.school.district,
                started_at=start,
                ended_at=start + timedelta(hours=8),
                credited_minutes=360,
                recorded_via=RecordedVia.SCHOOL,
                organiser_ref=f"school:{world.school.pk}",
            ),
            recorded_by=world.school_admin,
        )
        assert PracticeRecord.objects.filter(organiser_scope_q(user=world.school_admin)).get() == (
            record
        )
        assert not PracticeRecord.objects.filter(organiser_scope_q(user=world.coordinator)).filter(
            pk=record.pk
        )
        dispute = dispute_raise(record=record, raised_by=world.head_teacher, reason="只去了半天")
        assert Notification.objects.filter(user=world.school_admin).count() == 1
        dispute_uphold(dispute=dispute, answered_by=world.school_admin, reason="全天参加")
        own = dispute_raise(record=record, raised_by=world.school_admin, reason="核对")
        with pytest.raises(DisputeError) as error:
            dispute_uphold(dispute=own, answered_by=world.school_admin, reason="无误")
        assert error.value.code == "own_dispute"


class TestFinalisation:
    def test_a_disputed_record_waits_for_the_answer(self, world):
        dispute = _raise(world, world.student.user)
        after_notice = world.record.notice_ends_on + timedelta(days=1)
        practice_records_finalise(today=after_notice)
        world.record.refresh_from_db()
        assert world.record.status == RecordStatus.DISPUTED
        assert PracticeRecord.objects.get(pk=world.classmate_record.pk).status == RecordStatus.FINAL

        dispute_uphold(dispute=dispute, answered_by=world.coordinator, reason="无误")
        practice_records_finalise(today=after_notice)
        world.record.refresh_from_db()
        assert world.record.status == RecordStatus.FINAL
        assert world.record.confirmed_at is not None
