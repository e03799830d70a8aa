"""The portal's official face: the footer on every page, the help and privacy pages, forms."""

import re

import pytest
from django.conf import settings
from django.template.loader import render_to_string
from django.test import override_settings
from django.urls import reverse

from bases.forms import ContractForm, NameStudentForm, PostForm
from bases.models import Base
from students.forms import SchoolActivityForm
from students.models import RequirementPolicy, SchoolClass
from tests.factories import (
    CoordinatorFactory,
    SchoolAdminFactory,
    SessionFactory,
    StudentFactory,
)

pytestmark = pytest.mark.django_db


def _english(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


class TestFooter:
    def test_every_kind_of_page_carries_the_operator_hotline_and_links(self, client):
        session = SessionFactory()
        student = StudentFactory()
        pages = [
            reverse("dashboards:home"),
            reverse("login"),
            reverse("bases:district-posts", args=["310104"]),
            reverse("bases:post-detail", args=[session.post_id]),
            reverse("dashboards:help"),
            reverse("dashboards:privacy"),
            "/no-such-page/",
        ]
        client.force_login(student.user)
        pages.append(reverse("dashboards:dashboard-student"))
        for url in pages:
            page = client.get(url).content.decode()
            footer = page[page.index('data-testid="site-footer"') :]
            assert "上海市教育委员会" in footer, url
            assert settings.PORTAL_HOTLINE in footer, url
            assert settings.PORTAL_CONTACT_EMAIL in footer, url
            assert reverse("dashboards:privacy") in footer, url
            assert reverse("dashboards:help") in footer, url

    @override_settings(
        PORTAL_OPERATOR="浦东新区教育局",
        PORTAL_HOTLINE="021-5000 1234",
        PORTAL_ICP_NUMBER="沪ICP备00000000号",
    )
    def test_the_operator_comes_from_the_settings(self, client):
        page = client.get(reverse("dashboards:home")).content.decode()
        assert "浦东新区教育局" in page
        assert 'href="tel:021-50001234"' in page
        assert "沪ICP备00000000号" in page

    def test_the_logo_and_favicons_are_linked(self, client):
        page = client.get(reverse("dashboards:home")).content.decode()
        assert "/static/portal/favicon.svg" in page
        assert "/static/portal/favicon.png" in page
        assert "/static/portal/logo.svg" in page


class TestHelpPage:
    def test_the_figures_follow_the_policy_row(self, client):
        RequirementPolicy.objects.update(volunteer_hours_required=48, practice_days_required=75)
        page = client.get(reverse("dashboards:help"))
        html = page.content.decode()
        assert page.status_code == 200
        assert re.search(r'data-testid="help-hours">48<', html)
        assert re.search(r'data-testid="help-days">75<', html)
        assert "60" not in re.findall(r'data-testid="help-\w+">(\d+)<', html)

    def test_a_student_sees_the_rule_of_their_entry_year(self, client):
        student = StudentFactory()
        year = student.school_class.entry_year
        RequirementPolicy.objects.create(
            effective_from_entry_year=year,
            volunteer_hours_required=70,
            practice_days_required=100,
            notice_days=5,
        )
        RequirementPolicy.objects.create(effective_from_entry_year=year + 5)
        client.force_login(student.user)
        html = _english(client).get(reverse("dashboards:help")).content.decode()
        assert re.search(r'data-testid="help-hours">70<', html)
        assert re.search(r'data-testid="help-days">100<', html)
        assert "public notice (公示) for 5 days" in html
        assert 'data-testid="help-policies"' in html

    def test_it_names_the_categories_that_count_as_volunteer_service(self, client):
        html = _english(client).get(reverse("dashboards:help")).content.decode()
        assert "Volunteer service (public-benefit work)" in html
        assert "Rural practice (学农)" in html


class TestPrivacyPage:
    def test_it_states_what_why_who_and_how_long(self, client):
        html = _english(client).get(reverse("dashboards:privacy")).content.decode()
        for heading in ("What we collect about students", "Why", "Who sees it", "How long"):
            assert heading in html
        assert "Personal Information Protection Law" in html
        assert "3 years after the student graduates" in html

    @override_settings(
        RETENTION_RECORDS_YEARS_AFTER_GRADUATION=5,
        RETENTION_AUDIT_LOG_YEARS=1,
        SCHOOL_YEAR_LOGIN_GRACE_DAYS=30,
    )
    def test_the_periods_come_from_the_settings(self, client):
        html = _english(client).get(reverse("dashboards:privacy")).content.decode()
        assert "5 years after the student graduates" in html
        assert "The audit log: 1 year." in html
        assert "stops working 30 days after the school year is closed" in html


class TestFormsShowNoDjangoDefaults:
    def _render(self, form) -> str:
        return render_to_string("bases/manage_fields.html", {"form": form})

    @pytest.mark.parametrize("language", ["zh-hans", "en"])
    def test_key_forms_have_no_dashes_and_no_colons_after_labels(self, language):
        from django.utils import translation

        student = StudentFactory()
        with translation.override(language):
            forms = [
                PostForm(),
                ContractForm(bases=Base.objects.all()),
                NameStudentForm(students=[student]),
                SchoolActivityForm(classes=SchoolClass.objects.all()),
            ]
            for form in forms:
                html = self._render(form)
                assert "---------" not in html, type(form).__name__
                assert not re.search(r"[:：]\s*</label>", html), type(form).__name__

    def test_the_new_post_page_and_school_records_page_have_no_dashes(self, client):
        coordinator = CoordinatorFactory()
        client.force_login(coordinator.user)
        page = client.get(reverse("bases:post-create", args=[coordinator.base_id]))
        assert "---------" not in page.content.decode()
        client.force_login(SchoolAdminFactory().user)
        page = client.get(reverse("students:school-records"))
        assert page.status_code == 200
        assert "---------" not in page.content.decode()

    def test_grades_are_listed_the_way_each_language_lists(self, client):
        session = SessionFactory(post__eligible_grades="13")
        url = reverse("bases:post-detail", args=[session.post_id])
        assert "高中1年级、高中3年级" in client.get(url).content.decode()
        assert "Grade 1, Grade 3" in _english(client).get(url).content.decode()
