"""关怀版 (large text): the header's toggle sets a cookie that every later page reads."""

import pytest
from django.urls import reverse

from portal.preferences import LARGE_TEXT_COOKIE

pytestmark = pytest.mark.django_db


def test_turning_large_text_on_marks_every_later_page_and_off_again(client):
    response = client.post(reverse("text-size"), {"large": "1", "next": "/accounts/login/"})
    assert response.status_code == 302 and response["Location"] == "/accounts/login/"
    assert response.cookies[LARGE_TEXT_COOKIE].value == "1"
    page = client.get("/accounts/login/").content.decode()
    assert '<html lang="zh-CN" class="large-text">' in page
    assert 'aria-pressed="true"' in page

    client.post(reverse("text-size"), {"large": "0", "next": "/"})
    page = client.get("/accounts/login/").content.decode()
    assert "large-text" not in page.split(">", 2)[1]
    assert 'aria-pressed="false"' in page


def test_it_never_sends_the_visitor_to_another_site(client):
    response = client.post(reverse("text-size"), {"large": "1", "next": "https://evil.example/"})
    assert response["Location"] == "/"


def test_it_answers_only_a_post(client):
    assert client.get(reverse("text-size")).status_code == 405
