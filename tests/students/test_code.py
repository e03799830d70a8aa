"""A student's own check-in code: a QR drawn on the server, and the code as text."""

import pytest
import segno
from django.conf import settings
from django.urls import reverse

from portal.models import Role
from students.views.code import personal_code_svg
from tests.factories import CoordinatorFactory, StudentFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def client(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def test_a_student_sees_their_code_as_a_qr_and_as_text(client):
    student = StudentFactory(name="李明")
    client.force_login(student.user)
    response = client.get(reverse("students:my-code"))
    page = response.content.decode()
    assert response.status_code == 200
    assert student.personal_code in page
    assert "<svg" in page and 'class="qr-svg"' in page
    assert "http" not in page.split('data-testid="qr"')[1].split("</div>")[0]  # drawn inline
    assert response["Cache-Control"].startswith("max-age=0")


def test_the_qr_holds_exactly_the_code():
    code = "P0123456789ABCDEF"
    svg = personal_code_svg(code, title="t")
    expected = segno.make(code, error="m").svg_inline(
        scale=1, border=4, omitsize=True, title="t", svgclass="qr-svg"
    )
    assert svg == expected


def test_each_student_sees_only_their_own_code(client):
    mine, other = StudentFactory(), StudentFactory()
    client.force_login(mine.user)
    page = client.get(reverse("students:my-code")).content.decode()
    assert other.personal_code not in page


@pytest.mark.parametrize("role", [Role.COORDINATOR, Role.HEAD_TEACHER, Role.SCHOOL_ADMIN])
def test_other_roles_get_404(client, role):
    user = CoordinatorFactory().user if role == Role.COORDINATOR else UserFactory(role=role)
    client.force_login(user)
    assert client.get(reverse("students:my-code")).status_code == 404


def test_signed_out_visitors_are_sent_to_sign_in(client):
    response = client.get(reverse("students:my-code"))
    assert response.status_code == 302
    assert reverse("login") in response.url


def test_a_student_account_without_a_record_is_told_so(client):
    client.force_login(UserFactory(role=Role.STUDENT))
    page = client.get(reverse("students:my-code")).content.decode()
    assert "not linked to a student record" in page
    assert "<svg" not in page


def test_the_student_dashboard_links_to_the_code(client):
    student = StudentFactory()
    client.force_login(student.user)
    page = client.get(reverse("dashboards:dashboard-student")).content.decode()
    assert reverse("students:my-code") in page
    assert 'data-testid="scope"' in page
