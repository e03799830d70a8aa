"""Nobody is invited to do what they cannot: the post page says why before the student taps."""

import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from bases.models import ApplicationStatus
from tests.factories import (
    ApplicationFactory,
    HeadTeacherFactory,
    SessionFactory,
)

from .conftest import in_days

pytestmark = pytest.mark.django_db


@pytest.fixture
def client(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def _page(client, session):
    return client.get(reverse("bases:post-detail", args=[session.post_id])).content.decode()


def _why_not(page: str) -> list[tuple[str, str]]:
    return re.findall(r'data-testid="why-not" data-code="(\w+)">([^<]*)<', page)


def test_an_eligible_student_gets_the_button_and_no_reason(client, student):
    session = SessionFactory(starts_at=in_days(7))
    client.force_login(student.user)
    page = _page(client, session)
    assert 'data-testid="apply"' in page
    assert _why_not(page) == []


def test_a_student_of_another_grade_sees_why_instead_of_the_button(client, student):
    session = SessionFactory(starts_at=in_days(7), post__eligible_grades="23")
    client.force_login(student.user)
    page = _page(client, session)
    assert 'data-testid="apply"' not in page
    assert _why_not(page) == [
        ("not_eligible_grade", "This post is for grade(s) 2, 3; you will be in grade 1.")
    ]


def test_before_the_window_opens_the_student_sees_when(client, student):
    opens = timezone.now() + timedelta(days=2)
    session = SessionFactory(starts_at=in_days(7), applications_open_at=opens)
    client.force_login(student.user)
    page = _page(client, session)
    assert 'data-testid="apply"' not in page
    [(code, text)] = _why_not(page)
    assert code == "window_not_open"
    assert text == f"Applications open on {timezone.localtime(opens):%Y-%m-%d %H:%M}."


def test_a_clash_with_another_application_is_said_before_applying(client, student):
    mine = SessionFactory(starts_at=in_days(7), post__title="阅览室引导")
    ApplicationFactory(student=student, session=mine, status=ApplicationStatus.CONFIRMED)
    other = SessionFactory(starts_at=in_days(7) + timedelta(hours=1), post__title="图书整理")
    client.force_login(student.user)
    [(code, text)] = _why_not(_page(client, other))
    assert code == "time_clash"
    assert "阅览室引导" in text


def test_an_application_already_made_shows_its_status_not_a_button(client, student):
    session = SessionFactory(starts_at=in_days(7))
    ApplicationFactory(student=student, session=session, status=ApplicationStatus.WAITLISTED)
    client.force_login(student.user)
    page = _page(client, session)
    assert 'data-testid="apply"' not in page
    assert "Waitlisted" in page or "waiting list" in page.lower()
    assert _why_not(page) == []


def test_a_teacher_is_told_only_students_apply(client):
    session = SessionFactory(starts_at=in_days(7))
    client.force_login(HeadTeacherFactory().user)
    page = _page(client, session)
    assert 'data-testid="apply"' not in page
    assert [code for code, _ in _why_not(page)] == ["not_student"]


def test_the_reason_shown_is_the_one_applying_gives(client, student):
    session = SessionFactory(starts_at=in_days(7), post__eligible_grades="3")
    client.force_login(student.user)
    [(_, shown)] = _why_not(_page(client, session))
    response = client.post(reverse("bases:session-apply", args=[session.pk]), follow=True)
    assert shown in response.content.decode()
