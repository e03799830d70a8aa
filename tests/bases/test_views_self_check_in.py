"""The check-in screen, the student's self check-in pages, the post's switch and the roster's
live state, through the URLs a browser uses."""

import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from bases.checkin_codes import code_for, step_of
from bases.models import Attendance, AttendanceScan
from portal.models import AuditLog
from tests.factories import (
    ApplicationFactory,
    SessionFactory,
    StudentFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def client(client):
    """Pages in English, so messages read the same whatever the catalogue holds."""
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


@pytest.fixture
def session():
    start = (timezone.localtime() - timedelta(hours=1)).replace(second=0, microsecond=0)
    return SessionFactory(
        post__title="图书管理员",
        starts_at=start,
        ends_at=start + timedelta(hours=3),
        applications_open_at=start - timedelta(days=10),
        applications_close_at=start - timedelta(days=1),
        taken=1,
    )


@pytest.fixture
def owned(session):
    return session


@pytest.fixture
def student(session):
    return ApplicationFactory(session=session, student__name="李明").student


def _code(session, steps_ago: int = 0) -> str:
    return code_for(session_id=session.pk, step=step_of(timezone.now()) - steps_ago)


def _kiosk(session) -> str:
    return reverse("bases:kiosk", args=[session.pk])


class TestCheckInScreen:
    def test_the_coordinator_sees_the_current_code_and_its_qr(self, client, owner, session):
        client.force_login(owner)
        response = client.get(_kiosk(session))
        assert response.status_code == 200
        page = response.content.decode()
        assert response.context["state"]["code"] in (_code(session), _code(session, 1))
        assert 'src="data:image/svg+xml' in page
        assert "no-cache" in response["Cache-Control"]

    def test_the_code_answer_has_counts_and_no_names(self, client, owner, session, student):
        client.force_login(owner)
        client.post(
            reverse("bases:roster-record", args=[session.pk]), {"student": student.pk, "kind": "in"}
        )
        answer = client.get(reverse("bases:kiosk-code", args=[session.pk])).json()
        assert answer["open"] is True
        assert answer["counts"] == {"in": 1, "out": 0}
        assert re.fullmatch(r"[A-Z0-9]{6}", answer["code"])
        assert answer["url"].endswith(f"/check-in/{session.pk}/{answer['code']}/")
        assert 0 < answer["seconds_left"] <= 30
        assert student.name not in str(answer) and student.student_number not in str(answer)

    def test_another_bases_coordinator_and_a_student_get_404(
        self, client, outsider, session, student
    ):
        client.force_login(outsider)
        assert client.get(_kiosk(session)).status_code == 404
        client.force_login(student.user)
        assert client.get(_kiosk(session)).status_code == 404

    def test_switched_off_the_screen_says_so_and_shows_no_code(self, client, owner, session):
        client.force_login(owner)
        url = reverse("bases:post-self-check-in", args=[session.post_id])
        assert client.post(url, {}).status_code == 302
        session.post.refresh_from_db()
        assert session.post.self_check_in is False
        answer = client.get(reverse("bases:kiosk-code", args=[session.pk])).json()
        assert answer["open"] is False and "code" not in answer
        assert "Self check-in is off" in answer["message"]
        assert AuditLog.objects.filter(action="post.self_check_in").exists()

    def test_an_outsider_cannot_switch_a_post(self, client, outsider, session):
        client.force_login(outsider)
        url = reverse("bases:post-self-check-in", args=[session.post_id])
        assert client.post(url, {}).status_code == 404
        session.post.refresh_from_db()
        assert session.post.self_check_in is True


class TestStudentPhone:
    def test_the_scanned_link_names_the_session_then_one_tap_checks_in(
        self, client, session, student
    ):
        client.force_login(student.user)
        code = _code(session)
        page = client.get(reverse("bases:self-check-in-scan", args=[session.pk, code]))
        assert "图书管理员" in page.content.decode()
        response = client.post(
            reverse("bases:self-check-in"), {"session": session.pk, "code": code}, follow=True
        )
        assert response.redirect_chain[-1][0] == reverse(
            "bases:self-check-in-done", args=[session.pk]
        )
        assert "Checked in at 图书管理员" in response.content.decode()
        attendance = Attendance.objects.get(student=student)
        assert attendance.checked_in_at is not None
        assert AttendanceScan.objects.get().source == "self"

    def test_a_typed_code_finds_the_session(self, client, session, student):
        client.force_login(student.user)
        response = client.post(reverse("bases:self-check-in"), {"code": _code(session).lower()})
        assert response.status_code == 302
        assert Attendance.objects.filter(student=student, checked_in_at__isnull=False).exists()

    def test_a_code_two_steps_old_is_refused_with_a_message(self, client, session, student):
        client.force_login(student.user)
        response = client.post(
            reverse("bases:self-check-in"), {"session": session.pk, "code": _code(session, 2)}
        )
        assert response.status_code == 400
        assert "no longer valid" in response.content.decode()
        assert not AttendanceScan.objects.exists()

    def test_after_ten_wrong_codes_even_the_right_one_waits(self, client, session, student):
        cache.clear()
        client.force_login(student.user)
        url = reverse("bases:self-check-in")
        for _attempt in range(10):
            assert client.post(url, {"code": "AAAAAA"}).status_code == 400
        response = client.post(url, {"session": session.pk, "code": _code(session)})
        assert response.status_code == 400
        assert "Too many wrong codes" in response.content.decode()
        assert not AttendanceScan.objects.exists()
        cache.clear()

    def test_a_student_not_confirmed_is_told_so(self, client, session):
        other = StudentFactory()
        client.force_login(other.user)
        response = client.post(
            reverse("bases:self-check-in"), {"session": session.pk, "code": _code(session)}
        )
        assert response.status_code == 400
        assert "not confirmed" in response.content.decode()

    def test_the_message_is_chinese_by_default(self, client, session, student):
        del client.cookies[settings.LANGUAGE_COOKIE_NAME]
        client.force_login(student.user)
        response = client.post(
            reverse("bases:self-check-in"), {"session": session.pk, "code": _code(session, 2)}
        )
        assert "此码已失效" in response.content.decode()

    def test_signed_out_the_scanned_link_asks_to_sign_in_first(self, client, session):
        response = client.get(reverse("bases:self-check-in-scan", args=[session.pk, "ABCDEF"]))
        assert response.status_code == 302 and "/accounts/login/" in response.url


class TestRosterLive:
    def test_the_state_shows_a_self_check_in(self, client, owner, session, student):
        client.force_login(student.user)
        client.post(reverse("bases:self-check-in"), {"session": session.pk, "code": _code(session)})
        client.force_login(owner)
        rows = client.get(reverse("bases:roster-state", args=[session.pk])).json()["rows"]
        assert rows[str(student.pk)]["self"] is True
        assert rows[str(student.pk)]["in"] and not rows[str(student.pk)]["out"]
        page = client.get(reverse("bases:session-roster", args=[session.pk])).content.decode()
        assert 'data-testid="kiosk-link"' in page

    def test_the_state_is_only_for_the_bases_coordinators(self, client, outsider, session):
        client.force_login(outsider)
        assert client.get(reverse("bases:roster-state", args=[session.pk])).status_code == 404

    def test_a_walk_in_is_confirmed_on_the_roster(self, client, owner, session):
        session.post.allows_walk_ins = True
        session.post.save()
        walker = StudentFactory(name="王芳")
        client.force_login(walker.user)
        client.post(reverse("bases:self-check-in"), {"session": session.pk, "code": _code(session)})
        client.force_login(owner)
        page = client.get(reverse("bases:session-roster", args=[session.pk])).content.decode()
        assert 'data-testid="awaiting-badge"' in page and "王芳" in page
        response = client.post(
            reverse("bases:roster-walk-in-confirm", args=[session.pk, walker.pk])
        )
        assert response.status_code == 302
        assert Attendance.objects.get(student=walker).awaiting_confirmation is False
