"""Dashboards show the figures first: the head teacher's headline, the student's bars on top."""

import pytest
from django.conf import settings
from django.utils import timezone

from tests.factories import HeadTeacherFactory, SchoolClassFactory, StudentFactory
from tests.students.progress_helpers import entry_year_with_every_state, give_state

from .test_dashboards_progress import queries_for, sign_in

pytestmark = pytest.mark.django_db


def _class_with(states, **fields):
    today = timezone.localdate()
    school_class = SchoolClassFactory(entry_year=entry_year_with_every_state(today), **fields)
    for n, state in enumerate(states):
        give_state(
            StudentFactory(school_class=school_class, name=f"{state}{n}"), state, today=today
        )
    return school_class


def test_the_head_teacher_reads_the_headline_and_the_at_risk_list_is_one_tap_away(client):
    klass = _class_with(["done", "on_track", "on_track", "at_risk", "behind"])
    sign_in(client, HeadTeacherFactory(school_class=klass).user)
    count, html = queries_for(client, "/dashboard/teacher/")
    assert "5人中3人进度正常，1人有风险，1人进度落后。" in html
    assert html.index('data-testid="headline"') < html.index('data-testid="scope"')
    assert f'href="/reports/classes/{klass.pk}/?state=attention" data-testid="attention-link"' in (
        html
    )
    assert count == 6  # the headline costs no query

    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    html = client.get("/dashboard/teacher/").content.decode()
    assert "Of 5 students, 3 on track, 1 at risk, 1 behind." in html
    assert "See the 2 students who need attention" in html


def test_with_two_classes_each_class_with_students_at_risk_gets_its_link(client):
    first = _class_with(["behind"], number=1)
    second = _class_with(["on_track"], number=2, school=first.school)
    teacher = HeadTeacherFactory(school_class=first)
    HeadTeacherFactory(school_class=second, user=teacher.user)
    sign_in(client, teacher.user)
    html = client.get("/dashboard/teacher/").content.decode()
    assert "2人中1人进度正常，0人有风险，1人进度落后。" in html
    assert html.count('data-testid="attention-link"') == 1
    assert f"/reports/classes/{first.pk}/?state=attention" in html


def test_the_student_dashboard_starts_with_the_bars_then_the_sessions(client):
    student = StudentFactory()
    sign_in(client, student.user)
    html = client.get("/dashboard/student/").content.decode()
    progress = html.index('data-testid="progress"')
    assert progress < html.index('data-testid="upcoming"') < html.index('data-testid="scope"')
    assert html.index('data-testid="forecast"') > progress
