"""The notice pages and the dispute pages, as each persona sees them."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from portal.models import AuditLog
from students.disputes import dispute_raise, dispute_uphold
from students.models import Dispute, DisputeStatus, PracticeRecord, RecordStatus
from tests.factories import StudentFactory
from tests.queries import queries_for
from tests.students.test_disputes import base_record, build_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    return build_world()


@pytest.fixture
def client(client):
    """Pages in English, so messages read the same whatever the catalogue holds."""
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def _user(world, who):
    value = getattr(world, who)
    return value.user if hasattr(value, "school_class") else value


def _notice(client, world, who, school=None):
    client.force_login(_user(world, who))
    return client.get(reverse("students:school-notice", args=[(school or world.school).pk]))


class TestNoticeVisibility:
    @pytest.mark.parametrize(
        "who", ["student", "head_teacher", "other_head_teacher", "school_admin"]
    )
    def test_the_schools_own_people_see_every_record_with_masked_names(self, client, world, who):
        response = _notice(client, world, who)
        assert response.status_code == 200
        html = response.content.decode()
        assert html.count('data-testid="notice-row"') == 3
        assert "张*明" in html and "李*" in html and "王*五" in html
        for name in ("张三明", "李四", "王小五", "赵六"):
            assert name not in html

    @pytest.mark.parametrize(
        "who",
        ["other_student", "other_school_head_teacher", "other_school_admin", "district_admin"],
    )
    def test_everyone_else_gets_404(self, client, world, who):
        assert _notice(client, world, who).status_code == 404

    def test_the_bases_coordinator_sees_only_the_bases_records(self, client, world):
        response = _notice(client, world, "coordinator")
        assert response.status_code == 200
        rows = response.context["rows"]
        assert {row["record"].pk for row in rows} == {
            world.record.pk,
            world.other_class_record.pk,
        }
        assert "李*" not in response.content.decode()  # the classmate's record is another base's

    def test_another_bases_coordinator_sees_only_theirs_and_elsewhere_404(self, client, world):
        response = _notice(client, world, "other_coordinator")
        assert [row["record"].pk for row in response.context["rows"]] == [world.classmate_record.pk]
        assert _notice(client, world, "other_coordinator", world.other_school).status_code == 404

    def test_final_and_revoked_records_leave_the_notice(self, client, world):
        PracticeRecord.objects.filter(pk=world.record.pk).update(
            status=RecordStatus.FINAL, confirmed_at=timezone.now()
        )
        PracticeRecord.objects.filter(pk=world.classmate_record.pk).update(
            status=RecordStatus.REVOKED
        )
        response = _notice(client, world, "school_admin")
        assert [row["record"].pk for row in response.context["rows"]] == [
            world.other_class_record.pk
        ]

    def test_signed_out_visitors_are_sent_to_sign_in(self, client, world):
        response = client.get(reverse("students:school-notice", args=[world.school.pk]))
        assert response.status_code == 302
        assert response.url.startswith(reverse("login"))

    def test_a_student_may_raise_only_about_their_own_records(self, client, world):
        response = _notice(client, world, "student")
        raisable = {row["record"].pk for row in response.context["rows"] if row["may_raise"]}
        assert raisable == {world.record.pk}

    def test_a_head_teacher_may_raise_about_their_class_only(self, client, world):
        response = _notice(client, world, "head_teacher")
        raisable = {row["record"].pk for row in response.context["rows"] if row["may_raise"]}
        assert raisable == {world.record.pk, world.classmate_record.pk}

    def test_the_index_goes_straight_to_the_students_school(self, client, world):
        client.force_login(world.student.user)
        response = client.get(reverse("students:notice"))
        assert response.url == reverse("students:school-notice", args=[world.school.pk])

    def test_the_page_makes_a_fixed_number_of_queries(self, client, world):
        url = reverse("students:school-notice", args=[world.school.pk])

        def counts():
            """The page's queries for the head teacher and for the coordinator."""
            client.force_login(world.head_teacher)
            teacher, teacher_page = queries_for(lambda: client.get(url))
            client.force_login(world.coordinator)
            coordinator, coordinator_page = queries_for(lambda: client.get(url))
            rows = (len(teacher_page.context["rows"]), len(coordinator_page.context["rows"]))
            return (teacher, coordinator), rows

        small, rows = counts()
        assert rows == (3, 2)
        for n in range(20):
            base_record(StudentFactory(school_class=world.class_a), world.base, days_ago=1 + n % 3)
        large, rows = counts()
        assert rows == (23, 22)
        # session, user, school, count, page, raisable; the reflections' count and page
        assert small == large and max(large) <= 8


class TestRecordPage:
    @pytest.mark.parametrize("who", ["student", "head_teacher", "school_admin", "coordinator"])
    def test_the_people_concerned_open_a_record_and_it_is_audited(self, client, world, who):
        client.force_login(_user(world, who))
        response = client.get(reverse("students:record-detail", args=[world.record.pk]))
        assert response.status_code == 200
        assert "张三明" in response.content.decode()
        assert AuditLog.objects.filter(action="record.view", actor=_user(world, who)).exists()

    @pytest.mark.parametrize(
        "who", ["classmate", "other_head_teacher", "other_coordinator", "other_school_admin"]
    )
    def test_others_get_404(self, client, world, who):
        client.force_login(_user(world, who))
        response = client.get(reverse("students:record-detail", args=[world.record.pk]))
        assert response.status_code == 404

    def test_the_student_raises_a_dispute_and_sees_the_answer(self, client, world):
        client.force_login(world.student.user)
        url = reverse("students:record-detail", args=[world.record.pk])
        assert 'data-testid="raise-form"' in client.get(url).content.decode()
        response = client.post(
            reverse("students:dispute-raise", args=[world.record.pk]),
            {"reason": "我 11:00 离开"},
        )
        assert response.status_code == 302
        world.record.refresh_from_db()
        assert world.record.status == RecordStatus.DISPUTED
        page = client.get(url).content.decode()
        assert "我 11:00 离开" in page
        assert 'data-testid="raise-form"' not in page

        client.force_login(world.coordinator)
        response = client.post(
            reverse("students:dispute-answer", args=[Dispute.objects.get().pk]),
            {"answer": "uphold", "reason": "签退时间为 12:00"},
        )
        assert response.status_code == 302
        client.force_login(world.student.user)
        page = client.get(url).content.decode()
        assert "签退时间为 12:00" in page
        assert "Upheld" in page

    @pytest.mark.parametrize(
        ("who", "told"),
        [
            ("student", "you will be told the answer."),
            ("head_teacher", "you and the student will be told the answer."),
        ],
    )
    def test_the_dispute_form_speaks_to_whoever_raises_it(self, client, world, who, told):
        client.force_login(_user(world, who))
        html = client.get(reverse("students:record-detail", args=[world.record.pk])).content
        form = html.decode().split('data-testid="raise-form"')[1].split("</form>")[0]
        assert f"The record is held until the organiser answers; {told}" in form

    def test_an_empty_reason_is_shown_as_a_form_error(self, client, world):
        client.force_login(world.student.user)
        response = client.post(
            reverse("students:dispute-raise", args=[world.record.pk]), {"reason": ""}
        )
        assert response.status_code == 400
        assert not Dispute.objects.exists()

    def test_raising_on_a_foreign_record_is_404(self, client, world):
        client.force_login(world.other_student.user)
        response = client.post(
            reverse("students:dispute-raise", args=[world.record.pk]), {"reason": "x"}
        )
        assert response.status_code == 404
        assert client.get(
            reverse("students:dispute-raise", args=[world.record.pk])
        ).status_code in (
            404,
            405,
        )

    def test_a_coordinator_may_not_raise(self, client, world):
        client.force_login(world.coordinator)
        response = client.post(
            reverse("students:dispute-raise", args=[world.record.pk]), {"reason": "x"}
        )
        assert response.status_code == 404

    def test_a_correction_from_the_page_needs_the_new_values(self, client, world):
        dispute = dispute_raise(record=world.record, raised_by=world.student.user, reason="早退")
        client.force_login(world.coordinator)
        url = reverse("students:dispute-answer", args=[dispute.pk])
        response = client.post(url, {"answer": "correct", "reason": "更正", "credited_minutes": ""})
        assert response.status_code == 400
        assert "A correction needs this value." in response.content.decode()
        start = timezone.localtime(world.record.started_at)
        response = client.post(
            url,
            {
                "answer": "correct",
                "reason": "更正为两小时",
                "started_at": start.strftime("%Y-%m-%dT%H:%M"),
                "ended_at": (start + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"),
                "credited_minutes": "120",
            },
        )
        assert response.status_code == 302
        world.record.refresh_from_db()
        assert (world.record.credited_minutes, world.record.version) == (120, 2)
        page = client.get(reverse("students:record-detail", args=[world.record.pk]))
        assert page.content.decode().count('data-testid="version-row"') == 2

    def test_another_bases_coordinator_cannot_answer(self, client, world):
        dispute = dispute_raise(record=world.record, raised_by=world.student.user, reason="早退")
        client.force_login(world.other_coordinator)
        response = client.post(
            reverse("students:dispute-answer", args=[dispute.pk]),
            {"answer": "revoke", "reason": "撤销"},
        )
        assert response.status_code == 404
        dispute.refresh_from_db()
        assert dispute.status == DisputeStatus.OPEN


class TestMyRecordsAndOpenDisputes:
    def test_a_student_sees_their_records_with_state_and_dispute(self, client, world):
        dispute = dispute_raise(record=world.record, raised_by=world.head_teacher, reason="核对")
        client.force_login(world.student.user)
        html = client.get(reverse("students:my-records")).content.decode()
        assert html.count('data-testid="record-row"') == 1
        assert "Disputed" in html
        assert 'data-testid="dispute-open"' in html
        dispute_uphold(dispute=dispute, answered_by=world.coordinator, reason="无误")
        html = client.get(reverse("students:my-records")).content.decode()
        assert "Dispute answered" in html

    def test_my_records_is_for_students_only(self, client, world):
        client.force_login(world.head_teacher)
        assert client.get(reverse("students:my-records")).status_code == 404

    def test_the_coordinator_lists_open_disputes_of_their_base_only(self, client, world):
        dispute_raise(record=world.record, raised_by=world.student.user, reason="早退")
        dispute_raise(record=world.classmate_record, raised_by=world.classmate.user, reason="没去")
        client.force_login(world.coordinator)
        response = client.get(reverse("students:disputes"))
        assert [d.record_id for d in response.context["page"].object_list] == [world.record.pk]
        assert world.school in response.context["schools"]
        client.force_login(world.other_coordinator)
        response = client.get(reverse("students:disputes"))
        assert [d.record_id for d in response.context["page"].object_list] == [
            world.classmate_record.pk
        ]

    def test_students_cannot_open_the_dispute_list(self, client, world):
        client.force_login(world.student.user)
        assert client.get(reverse("students:disputes")).status_code == 404

    def test_the_lists_make_a_fixed_number_of_queries(self, client, world):
        def add_disputed(days_ago):
            for days in days_ago:
                base_record(world.student, world.base, days_ago=days)
            for record in PracticeRecord.objects.filter(student=world.student).exclude(
                status=RecordStatus.DISPUTED
            ):
                dispute_raise(record=record, raised_by=world.head_teacher, reason="核对")

        def counts():
            """The student's records page and the coordinator's dispute list, with their rows."""
            client.force_login(world.student.user)
            mine, records = queries_for(lambda: client.get(reverse("students:my-records")))
            client.force_login(world.coordinator)
            theirs, disputes = queries_for(lambda: client.get(reverse("students:disputes")))
            rows = [len(page.context["page"].object_list) for page in (records, disputes)]
            return (mine, theirs), rows

        add_disputed([4])
        small, rows = counts()
        assert rows == [2, 2]
        add_disputed(range(5, 14))
        large, rows = counts()
        assert rows == [11, 11]
        # session, user, count, page; and the dispute list's notice schools
        assert small == large and large[0] <= 4 and large[1] <= 5
