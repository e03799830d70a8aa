"""School-entered activities (学农, 军训) for a whole class, and the ledger rule under them: one
student's records never overlap in time, on SQLite and on PostgreSQL."""

import contextlib
import threading
from datetime import date, datetime, time, timedelta

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone

from students.models import PracticeRecord, RecordedVia, RecordStatus, Student
from students.school_records import (
    SchoolActivity,
    school_activity_key,
    school_activity_record,
)
from students.services import (
    LedgerError,
    RecordFacts,
    practice_record_correct,
    practice_record_revoke,
    practice_record_upsert,
)
from tests.constraint_helpers import record_create
from tests.factories import (
    HeadTeacherFactory,
    SchoolAdminFactory,
    SchoolClassFactory,
    SchoolFactory,
    StudentFactory,
    UserFactory,
    category,
    district,
)
from tests.personas import owner_of
from tests.waiting import wait_until

pytestmark = pytest.mark.django_db


@pytest.fixture
def client(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


@pytest.fixture
def school_class():
    return SchoolClassFactory(school=SchoolFactory(name="上海市徐汇中学"))


@pytest.fixture
def students(school_class):
    return [
        StudentFactory(school_class=school_class, name=name) for name in ("张三明", "李四", "王五")
    ]


@pytest.fixture
def admin(school_class):
    return owner_of(school_class.school)


def _activity(**changes) -> SchoolActivity:
    first = timezone.localdate() - timedelta(days=20)
    values = {
        "category": category("rural_practice"),
        "title": "高二学农社会实践",
        "organiser_name": "上海市学农基地",
        "first_day": first,
        "last_day": first + timedelta(days=4),
        "daily_start": time(8, 0),
        "daily_end": time(16, 30),
        "minutes_per_day": 360,
    }
    values.update(changes)
    return SchoolActivity(**values)


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour, minute)))


def _facts(student, start, end, title="社区志愿服务", minutes=None):
    return RecordFacts(
        student=student,
        category=category(),
        title=title,
        organiser_name="社区",
        organiser_level="other",
        district=district(),
        started_at=start,
        ended_at=end,
        credited_minutes=minutes if minutes is not None else int((end - start).seconds // 60),
        recorded_via=RecordedVia.TRANSFER,
    )


class TestSchoolActivities:
    def test_each_student_gets_one_record_per_date(self, school_class, students, admin):
        activity = _activity()
        result = school_activity_record(
            school_class=school_class, activity=activity, recorded_by=admin
        )
        assert (result.students, result.days, result.created, result.existing) == (3, 5, 15, 0)
        key = school_activity_key(school_class=school_class, activity=activity)
        for student in students:
            records = PracticeRecord.objects.filter(student=student).order_by("started_at")
            assert [r.source_ref for r in records] == [
                f"school:{key}:{student.pk}:{day.isoformat()}" for day in activity.dates
            ]
            for record, day in zip(records, activity.dates, strict=True):
                assert (record.started_at, record.ended_at) == (_at(day, 8), _at(day, 16, 30))
                assert record.credited_minutes == 360
                assert record.status == RecordStatus.IN_NOTICE
                assert record.recorded_via == RecordedVia.SCHOOL
                assert record.organiser_level == "school_own"
                assert record.recorded_by == admin
                assert record.days == 1

    def test_the_same_entry_twice_adds_nothing(self, school_class, students, admin):
        school_activity_record(school_class=school_class, activity=_activity(), recorded_by=admin)
        again = school_activity_record(
            school_class=school_class, activity=_activity(), recorded_by=admin
        )
        assert (again.created, again.existing) == (0, 15)
        assert PracticeRecord.objects.count() == 15

    def test_an_overlap_for_one_student_refuses_the_whole_entry(
        self, school_class, students, admin
    ):
        activity = _activity()
        day = activity.dates[2]
        practice_record_upsert(
            source_ref="other:1",
            facts=_facts(students[1], _at(day, 9), _at(day, 11), title="社区志愿服务"),
            recorded_by=None,
        )
        with pytest.raises(LedgerError) as error:
            school_activity_record(school_class=school_class, activity=activity, recorded_by=admin)
        assert error.value.code == "overlap"
        message = error.value.messages[0]
        assert "李四" in message and "社区志愿服务" in message
        assert "张三明" not in message
        assert PracticeRecord.objects.count() == 1

    def test_every_conflicting_student_is_named(self, school_class, students, admin):
        activity = _activity()
        for n, student in enumerate(students[:2]):
            day = activity.dates[n]
            practice_record_upsert(
                source_ref=f"other:{n}",
                facts=_facts(student, _at(day, 15), _at(day, 18), title=f"活动{n}"),
                recorded_by=None,
            )
        with pytest.raises(LedgerError) as error:
            school_activity_record(school_class=school_class, activity=activity, recorded_by=admin)
        message = error.value.messages[0]
        assert "张三明" in message and "活动0" in message
        assert "李四" in message and "活动1" in message
        assert PracticeRecord.objects.count() == 2

    @pytest.mark.parametrize(
        ("changes", "code"),
        [
            ({"last_day": timezone.localdate() - timedelta(days=30)}, "days_out_of_order"),
            (
                {
                    "last_day": timezone.localdate() - timedelta(days=1),
                    "first_day": timezone.localdate() - timedelta(days=40),
                },
                "too_many_days",
            ),  # noqa: E501
            ({"daily_end": time(7, 0)}, "ends_before_start"),
            ({"minutes_per_day": 511}, "credit_out_of_range"),
            ({"minutes_per_day": 0}, "credit_out_of_range"),
            ({"last_day": timezone.localdate() + timedelta(days=1)}, "in_future"),
            ({"title": "  "}, "title_required"),
        ],
    )
    def test_it_refuses_an_impossible_entry(self, school_class, students, admin, changes, code):
        with pytest.raises(LedgerError) as error:
            school_activity_record(
                school_class=school_class, activity=_activity(**changes), recorded_by=admin
            )
        assert error.value.code == code
        assert not PracticeRecord.objects.exists()

    def test_only_the_schools_admin_may_record(self, school_class, students):
        for user in (
            HeadTeacherFactory(school_class=school_class).user,
            SchoolAdminFactory().user,
        ):
            with pytest.raises(LedgerError) as error:
                school_activity_record(
                    school_class=school_class, activity=_activity(), recorded_by=user
                )
            assert error.value.code == "not_allowed"
        assert not PracticeRecord.objects.exists()

    def test_an_empty_class_is_refused(self, school_class, admin):
        with pytest.raises(LedgerError) as error:
            school_activity_record(
                school_class=school_class, activity=_activity(), recorded_by=admin
            )
        assert error.value.code == "empty_class"


class TestPage:
    def _post(self, client, school_class, **changes):
        activity = _activity()
        data = {
            "school_class": school_class.pk,
            "category": activity.category.pk,
            "title": activity.title,
            "organiser_name": activity.organiser_name,
            "first_day": activity.first_day.isoformat(),
            "last_day": activity.last_day.isoformat(),
            "daily_start": "08:00",
            "daily_end": "16:30",
            "minutes_per_day": "360",
        }
        data.update(changes)
        return client.post(reverse("students:school-records"), data)

    def test_the_school_admin_records_a_class_and_sees_it_listed(
        self, client, school_class, students, admin
    ):
        client.force_login(admin)
        response = self._post(client, school_class)
        assert response.status_code == 302
        assert PracticeRecord.objects.count() == 15
        page = client.get(reverse("students:school-records"))
        html = page.content.decode()
        assert "15 records added" in html
        assert "高二学农社会实践" in html
        response = self._post(client, school_class)
        assert "already recorded; nothing was added" in client.get(response.url).content.decode()
        assert PracticeRecord.objects.count() == 15

    def test_an_overlap_is_shown_and_nothing_saved(self, client, school_class, students, admin):
        day = _activity().dates[0]
        practice_record_upsert(
            source_ref="other:1",
            facts=_facts(students[0], _at(day, 9), _at(day, 10), title="社区志愿服务"),
            recorded_by=None,
        )
        client.force_login(admin)
        response = self._post(client, school_class)
        assert response.status_code == 400
        assert "社区志愿服务" in response.content.decode()
        assert PracticeRecord.objects.count() == 1

    def test_another_schools_class_cannot_be_chosen(self, client, students, admin):
        foreign = SchoolClassFactory()
        StudentFactory(school_class=foreign)
        client.force_login(admin)
        response = self._post(client, foreign)
        assert response.status_code == 400
        assert not PracticeRecord.objects.exists()

    def test_other_roles_get_404(self, client, school_class):
        client.force_login(HeadTeacherFactory(school_class=school_class).user)
        assert client.get(reverse("students:school-records")).status_code == 404


class TestRecordsNeverOverlap:
    """The ledger rule behind every source: a student cannot be in two places at once."""

    def test_an_overlapping_record_is_refused_naming_the_other(self):
        student = StudentFactory(name="张三明")
        day = timezone.localdate() - timedelta(days=3)
        practice_record_upsert(
            source_ref="a:1",
            facts=_facts(student, _at(day, 9), _at(day, 12), "图书管理员"),
            recorded_by=None,
        )
        with pytest.raises(LedgerError) as error:
            practice_record_upsert(
                source_ref="a:2",
                facts=_facts(student, _at(day, 11), _at(day, 13)),
                recorded_by=None,
            )
        assert error.value.code == "overlap"
        assert "张三明" in error.value.messages[0]
        assert "图书管理员" in error.value.messages[0]
        assert f"{day.isoformat()} 09:00" in error.value.messages[0]

    def test_touching_records_and_other_students_are_fine(self):
        student, other = StudentFactory(), StudentFactory()
        day = timezone.localdate() - timedelta(days=3)
        practice_record_upsert(
            source_ref="a:1", facts=_facts(student, _at(day, 9), _at(day, 12)), recorded_by=None
        )
        practice_record_upsert(
            source_ref="a:2", facts=_facts(student, _at(day, 12), _at(day, 14)), recorded_by=None
        )
        practice_record_upsert(
            source_ref="a:3", facts=_facts(other, _at(day, 9), _at(day, 12)), recorded_by=None
        )
        assert PracticeRecord.objects.count() == 3

    def test_a_revoked_record_no_longer_blocks_the_time(self):
        student = StudentFactory()
        day = timezone.localdate() - timedelta(days=3)
        record, _ = practice_record_upsert(
            source_ref="a:1", facts=_facts(student, _at(day, 9), _at(day, 12)), recorded_by=None
        )
        practice_record_revoke(record=record, revoked_by=UserFactory(), reason="未到岗")
        again, created = practice_record_upsert(
            source_ref="a:2", facts=_facts(student, _at(day, 9), _at(day, 12)), recorded_by=None
        )
        assert created and again.status == RecordStatus.IN_NOTICE
        assert (again.started_at, again.ended_at) == (record.started_at, record.ended_at)

    def test_a_correction_into_another_record_is_refused(self):
        student = StudentFactory()
        day = timezone.localdate() - timedelta(days=3)
        practice_record_upsert(
            source_ref="a:1",
            facts=_facts(student, _at(day, 9), _at(day, 12), "讲解员"),
            recorded_by=None,
        )
        record, _ = practice_record_upsert(
            source_ref="a:2", facts=_facts(student, _at(day, 13), _at(day, 15)), recorded_by=None
        )
        with pytest.raises(LedgerError) as error:
            practice_record_correct(
                record=record,
                started_at=_at(day, 11),
                ended_at=_at(day, 15),
                credited_minutes=240,
                changed_by=UserFactory(),
                reason="提前到",
            )
        assert error.value.code == "overlap"
        assert "讲解员" in error.value.messages[0]


def _overlapping(student: Student, day: date) -> int:
    """Live records of `student` that overlap 09:00-12:00 on `day`, read by a plain query that
    takes no lock: what a write without the student lock would check."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM students_practicerecord WHERE student_id = %s"
            " AND started_at < %s AND ended_at > %s AND status <> %s",
            [student.pk, _at(day, 12), _at(day, 9), RecordStatus.REVOKED],
        )
        return cursor.fetchone()[0]


def _waiting_for_a_lock() -> int:
    """Other sessions of the test database that wait for a row lock."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
            " AND datname = current_database() AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
class TestConcurrentWriters:
    """Two writers of overlapping records for one student at the same moment, each in its own
    thread, connection and transaction, through the real service."""

    @contextlib.contextmanager
    def _first_writer_open(self, student: Student, day: date):
        """Write 09:00-11:00 through the service and keep its transaction (and so the locks
        the service took) open until the block ends; yields the results list."""
        written, release = threading.Event(), threading.Event()
        results: list[str] = []

        def first():
            try:
                with transaction.atomic():
                    facts = _facts(student, _at(day, 9), _at(day, 11), title="活动0")
                    practice_record_upsert(source_ref="race:0", facts=facts, recorded_by=None)
                    results.append("created")
                    written.set()
                    release.wait(timeout=30)
            finally:
                written.set()
                connection.close()

        thread = threading.Thread(target=first)
        thread.start()
        try:
            assert written.wait(timeout=30) and results == ["created"]
            yield results
        finally:
            release.set()
            thread.join(timeout=30)

    def test_two_writers_at_once_leave_one_record(self):
        student = StudentFactory()
        day = timezone.localdate() - timedelta(days=3)
        second: list[str] = []

        def write_second():
            try:
                facts = _facts(student, _at(day, 10), _at(day, 12), title="活动1")
                practice_record_upsert(source_ref="race:1", facts=facts, recorded_by=None)
                second.append("created")
            except LedgerError as error:
                second.append(error.code)
            finally:
                connection.close()

        with self._first_writer_open(student, day):
            thread = threading.Thread(target=write_second)
            thread.start()
            # The second write cannot pass its overlap check while the first is uncommitted:
            # it waits for the student's row lock, with nothing decided yet.
            assert wait_until(lambda: _waiting_for_a_lock() == 1, timeout=10)
            assert second == []
        thread.join(timeout=30)
        # Once the first commits, the second sees its record and is refused.
        assert second == ["overlap"]
        assert PracticeRecord.objects.filter(student=student).count() == 1

    def test_canary_without_the_student_lock_the_race_is_visible(self):
        """Proves the test above can fail: a check that takes no lock does not see the first
        writer's uncommitted record, and nothing under the service refuses the overlap."""
        student = StudentFactory()
        day = timezone.localdate() - timedelta(days=3)
        with self._first_writer_open(student, day):
            assert _overlapping(student, day) == 0
        assert _overlapping(student, day) == 1
        # A second record written without the service's check lands beside the first.
        record_create(
            student=student,
            source_ref="race:1",
            started_at=_at(day, 10),
            ended_at=_at(day, 12),
            credited_minutes=120,
        )
        assert PracticeRecord.objects.filter(student=student).count() == 2
