"""Guardians (家长): the school's one-time code opens a guardian account or links a further
child; the guardian sees the child's progress, records and reflections read-only, hears of what
happens to them, and sees nothing of any other family (404 on every object URL)."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone, translation

from portal.models import AuditLog, Notification, Role, User
from students.guardians import GuardianError, guardian_code_check, guardian_codes_issue
from students.models import Guardianship, RecordStatus, Reflection
from students.services import practice_record_correct
from tests.factories import (
    HeadTeacherFactory,
    SchoolClassFactory,
    StudentFactory,
    guardian_for,
)
from tests.students.progress_helpers import add_record

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def client(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


@pytest.fixture
def family():
    """李小明 (with a record in notice and a reflection on it) and his guardian."""
    student = StudentFactory(
        name="李小明", school_class=SchoolClassFactory(school__name="徐汇中学")
    )
    record = add_record(
        student, day=timezone.localdate() - timedelta(days=1), status=RecordStatus.IN_NOTICE
    )
    Reflection.objects.create(
        record=record, text="在图书馆整理了三百本书。", notice_ends_on=record.notice_ends_on
    )
    return student, record, guardian_for(student)


@pytest.fixture
def other_family():
    student = StudentFactory(name="王芳")
    record = add_record(student, day=timezone.localdate() - timedelta(days=2))
    return student, record, guardian_for(student, username="wang-parent")


def _sign_up(client, student, code, username="13800001111", **extra):
    return client.post(
        reverse("students:guardian-sign-up"),
        {
            "student_number": student.student_number,
            "code": code,
            "full_name": "李爸爸",
            "username": username,
            "password1": "Pa55-guardian-word",
            "password2": "Pa55-guardian-word",
            **extra,
        },
    )


class TestSignUpAndLinking:
    def test_the_code_from_the_slip_opens_a_guardian_account_linked_to_the_child(self, client):
        student = StudentFactory(name="李小明")
        code = guardian_codes_issue(students=[student], issued_by=None)[student.pk]
        response = _sign_up(client, student, code.lower().replace("-", " "))
        assert response.status_code == 302
        guardian = User.objects.get(username="13800001111")
        assert guardian.role == Role.GUARDIAN and guardian.full_name == "李爸爸"
        assert Guardianship.objects.filter(guardian=guardian, student=student).exists()
        assert AuditLog.objects.filter(action="guardian.link", actor=guardian).exists()
        dashboard = client.get(reverse("dashboards:dashboard"), follow=True)
        assert dashboard.status_code == 200
        assert "Guardian dashboard" in dashboard.text and "李小明" in dashboard.text

    def test_a_code_works_once(self, client):
        student = StudentFactory()
        code = guardian_codes_issue(students=[student], issued_by=None)[student.pk]
        assert _sign_up(client, student, code).status_code == 302
        client.logout()
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
        again = _sign_up(client, student, code, username="someone-else")
        assert again.status_code == 400
        assert "guardian code do not match, or the code was used" in again.text
        assert not User.objects.filter(username="someone-else").exists()

    def test_printing_new_slips_makes_the_old_code_useless(self):
        student = StudentFactory()
        old = guardian_codes_issue(students=[student], issued_by=None)[student.pk]
        new = guardian_codes_issue(students=[student], issued_by=None)[student.pk]
        with pytest.raises(GuardianError):
            guardian_code_check(student_number=student.student_number, code=old)
        assert guardian_code_check(student_number=student.student_number, code=new)

    def test_a_code_of_another_child_does_not_open_this_one(self, client):
        student, other = StudentFactory(), StudentFactory()
        codes = guardian_codes_issue(students=[student, other], issued_by=None)
        response = _sign_up(client, student, codes[other.pk])
        assert response.status_code == 400
        assert not Guardianship.objects.exists()

    def test_a_taken_username_is_refused_with_a_clear_message(self, client):
        StudentFactory(user__username="13800001111")
        student = StudentFactory()
        code = guardian_codes_issue(students=[student], issued_by=None)[student.pk]
        response = _sign_up(client, student, code)
        assert response.status_code == 400
        assert "This username is taken" in response.text
        # The code was not spent: another username works.
        assert _sign_up(client, student, code, username="13800002222").status_code == 302

    def test_a_signed_in_guardian_links_a_second_child_with_its_code(self, client, family):
        student, _record, guardian = family
        sister = StudentFactory(name="李小红")
        code = guardian_codes_issue(students=[sister], issued_by=None)[sister.pk]
        client.force_login(guardian)
        response = client.post(
            reverse("students:guardian-link"),
            {"student_number": sister.student_number, "code": code},
            follow=True,
        )
        assert "李小红 is now linked to your account." in response.text
        assert "李小明" in response.text and "李小红" in response.text
        assert set(guardian.guardianships.values_list("student__name", flat=True)) == {
            "李小明",
            "李小红",
        }

    def test_wrong_codes_are_throttled(self, client):
        from portal.activation import ACTIVATION_TRIES_PER_HOUR

        student = StudentFactory()
        code = guardian_codes_issue(students=[student], issued_by=None)[student.pk]
        for _ in range(ACTIVATION_TRIES_PER_HOUR):
            _sign_up(client, student, "AAAA-AAAA")
        response = _sign_up(client, student, code)
        assert response.status_code == 400
        assert "Too many wrong codes" in response.text

    def test_a_head_teacher_prints_guardian_slips_for_children_with_no_guardian(
        self, client, family
    ):
        student, _record, _guardian = family
        classmate = StudentFactory(school_class=student.school_class, name="赵强")
        teacher = HeadTeacherFactory(school_class=student.school_class).user
        client.force_login(teacher)
        page = client.get(reverse("students:class-logins", args=[student.school_class_id]))
        assert "Print guardian slips (PDF)" in page.text
        response = client.post(
            reverse("students:class-guardian-slips", args=[student.school_class_id])
        )
        assert response.status_code == 200
        assert response["Content-Type"] == "application/pdf"
        # Only the classmate without a guardian got a code; the linked child's are untouched.
        assert list(classmate.guardian_codes.filter(used_at=None, revoked_at=None)) != []
        assert not student.guardian_codes.filter(used_at=None, revoked_at=None).exists()
        assert AuditLog.objects.filter(action="guardian_code.slips_print").exists()


class TestWhatAGuardianSees:
    def test_the_dashboard_shows_each_childs_progress(self, client, family):
        _student, _record, guardian = family
        client.force_login(guardian)
        page = client.get(reverse("dashboards:dashboard-guardian"))
        assert page.status_code == 200
        assert "李小明" in page.text and 'data-testid="hours-done"' in page.text

    def test_a_guardian_without_children_sees_an_empty_state(self, client):
        guardian = User.objects.create_user("lonely", role=Role.GUARDIAN)
        client.force_login(guardian)
        page = client.get(reverse("dashboards:dashboard-guardian"))
        assert "No child is linked to your account yet." in page.text

    def test_the_childs_records_and_reflection_are_read_only(self, client, family):
        student, record, guardian = family
        client.force_login(guardian)
        records = client.get(reverse("students:guardian-child-records", args=[student.pk]))
        assert "Records of 李小明" in records.text
        assert "图书管理员" in records.text and "In public notice" in records.text
        detail = client.get(reverse("students:record-detail", args=[record.pk]))
        assert detail.status_code == 200
        assert "在图书馆整理了三百本书。" in detail.text
        assert 'name="reason"' not in detail.text  # no dispute form
        assert 'name="text"' not in detail.text  # no reflection or comment form
        raised = client.post(
            reverse("students:dispute-raise", args=[record.pk]), {"reason": "不对"}
        )
        assert raised.status_code == 404
        progress = client.get(reverse("students:student-progress", args=[student.pk]))
        assert progress.status_code == 200 and "Progress of 李小明" in progress.text
        assert "Issue a certificate" not in progress.text

    def test_a_child_with_no_records_shows_an_empty_state(self, client):
        student = StudentFactory()
        client.force_login(guardian_for(student))
        page = client.get(reverse("students:guardian-child-records", args=[student.pk]))
        assert "No records yet. Records appear here once a base closes a session your child" in (
            page.text
        )

    def test_every_object_url_answers_404_to_another_familys_guardian(
        self, client, family, other_family
    ):
        student, record, _guardian = family
        _other, _other_record, other_guardian = other_family
        client.force_login(other_guardian)
        for url in (
            reverse("students:student-progress", args=[student.pk]),
            reverse("students:guardian-child-records", args=[student.pk]),
            reverse("students:record-detail", args=[record.pk]),
            reverse("students:school-notice", args=[student.school_class.school_id]),
            reverse("students:class-report", args=[student.school_class_id]),
        ):
            assert client.get(url).status_code == 404, url
        for url in (
            reverse("students:student-practice-report", args=[student.pk]),
            reverse("students:dispute-raise", args=[record.pk]),
            reverse("students:reflection-save", args=[record.pk]),
        ):
            assert client.post(url, {"reason": "x", "text": "x"}).status_code == 404, url
        # Their own child's pages open.
        assert client.get(reverse("students:student-progress", args=[_other.pk])).status_code == 200
        assert (
            client.get(reverse("students:record-detail", args=[_other_record.pk])).status_code
            == 200
        )

    def test_staff_pages_answer_404_to_a_guardian(self, client, family):
        student, _record, guardian = family
        client.force_login(guardian)
        for url in (
            reverse("students:class-logins", args=[student.school_class_id]),
            reverse("students:my-records"),
            reverse("students:held-review"),
            reverse("dashboards:dashboard-student"),
        ):
            assert client.get(url).status_code == 404, url


class TestNotifications:
    def test_a_correction_of_the_childs_record_reaches_the_child_and_the_guardian(self, family):
        student, record, guardian = family
        teacher = HeadTeacherFactory(school_class=student.school_class).user
        practice_record_correct(
            record=record,
            started_at=record.started_at,
            ended_at=record.ended_at,
            changed_by=teacher,
            reason="时长登记有误",
            credited_minutes=120,
        )
        mine = Notification.objects.get(user=guardian)
        assert Notification.objects.filter(user=student.user, code=mine.code).exists()
        with translation.override("en"):
            assert mine.text.startswith("About 李小明: ")
        assert mine.text.startswith("关于李小明：")
        assert mine.url == reverse("students:student-progress", args=[student.pk])

    def test_another_familys_guardian_hears_nothing(self, family, other_family):
        student, record, _guardian = family
        _o, _r, other_guardian = other_family
        teacher = HeadTeacherFactory(school_class=student.school_class).user
        practice_record_correct(
            record=record,
            started_at=record.started_at,
            ended_at=record.ended_at,
            changed_by=teacher,
            reason="时长登记有误",
            credited_minutes=120,
        )
        assert not Notification.objects.filter(user=other_guardian).exists()


def test_the_guardian_pages_speak_chinese_by_default(family):
    from django.test import Client

    student, _record, guardian = family
    client = Client()
    client.force_login(guardian)
    assert "家长首页" in client.get(reverse("dashboards:dashboard-guardian")).text
    records = client.get(reverse("students:guardian-child-records", args=[student.pk])).text
    assert "李小明的实践记录" in records
    assert "家长注册" in Client().get(reverse("students:guardian-sign-up")).text


def test_one_live_guardianship_per_pair_is_a_database_constraint(family):
    from django.db import IntegrityError, transaction

    student, _record, guardian = family
    with pytest.raises(IntegrityError), transaction.atomic():
        Guardianship.objects.create(guardian=guardian, student=student)
