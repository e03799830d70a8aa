"""Every page is sent with a Content-Security-Policy and a Permissions-Policy, and no template
depends on what the policy forbids (inline scripts, event handlers, style attributes)."""

import re
from pathlib import Path

import pytest
from django.conf import settings

from tests.factories import PASSWORD, StudentFactory

pytestmark = pytest.mark.django_db

TEMPLATES = Path(settings.BASE_DIR) / "templates"
INLINE_HANDLER = re.compile(r"<[^>]*\son[a-z]+\s*=", re.IGNORECASE)
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
STYLE_ATTRIBUTE = re.compile(r"<[^>]*\sstyle\s*=", re.IGNORECASE)


def directives(response) -> dict[str, str]:
    header = response.headers["Content-Security-Policy"]
    return dict(part.strip().split(" ", 1) for part in header.split(";"))


@pytest.mark.parametrize("path", ["/", "/accounts/login/", "/no-such-page/"])
def test_public_pages_carry_the_policies(client, path):
    response = client.get(path)
    policy = directives(response)
    assert policy["default-src"] == "'self'"
    assert policy["script-src"] == "'self'"
    assert policy["style-src"] == "'self'"
    assert policy["img-src"] == "'self' data:"
    assert policy["frame-ancestors"] == "'none'"
    assert policy["form-action"] == "'self'"
    assert policy["base-uri"] == "'self'"
    assert policy["object-src"] == "'none'"
    assert "unsafe-inline" not in response.headers["Content-Security-Policy"]
    features = response.headers["Permissions-Policy"]
    for feature in ("camera", "geolocation", "microphone", "payment"):
        assert f"{feature}=()" in features


def test_a_student_dashboard_carries_the_policies(client):
    StudentFactory(user__username="student")
    client.login(username="student", password=PASSWORD)
    response = client.get("/dashboard/student/")
    assert response.status_code == 200
    assert directives(response)["script-src"] == "'self'"
    assert "camera=()" in response.headers["Permissions-Policy"]
    html = response.content.decode()
    assert not INLINE_HANDLER.search(html) and not STYLE_ATTRIBUTE.search(html)
    assert 'src="/static/portal/portal.js"' in html


def test_no_page_template_uses_what_the_policy_blocks():
    """PDF templates are drawn by WeasyPrint, not a browser, and may keep their styles."""
    offenders = []
    for path in TEMPLATES.rglob("*.html"):
        if path.name.endswith("_pdf.html") or path.name == "_pdf_style.html":
            continue
        text = path.read_text(encoding="utf-8")
        for pattern in (INLINE_HANDLER, INLINE_SCRIPT, STYLE_ATTRIBUTE):
            if pattern.search(text):
                offenders.append(f"{path.relative_to(TEMPLATES)}: {pattern.pattern}")
    assert offenders == []
