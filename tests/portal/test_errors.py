"""Error pages with DEBUG off: the site's layout, the reader's language, a way home."""

import pytest
from django.conf import settings
from django.test import Client

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.portal.error_urls")]

ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


def _page(response) -> str:
    return response.content.decode()


def test_debug_is_off_for_these_tests():
    assert settings.DEBUG is False


@pytest.mark.parametrize(
    ("headers", "heading", "home"),
    [(ZH, "此页面不存在", "返回首页"), (EN, "This page does not exist", "Back to the home page")],
)
def test_an_unknown_address_shows_the_sites_404_in_the_readers_language(
    client, headers, heading, home
):
    response = client.get("/no-such-page/", **headers)

    assert response.status_code == 404
    page = _page(response)
    assert heading in page
    assert home in page
    assert 'class="site-header"' in page
    assert "DEBUG" not in page


def test_a_forbidden_action_shows_the_sites_403(client):
    response = client.get("/test-errors/forbidden/", **EN)

    assert response.status_code == 403
    assert "You may not do this" in _page(response)
    assert 'href="/"' in _page(response)


@pytest.mark.parametrize(
    ("headers", "heading"),
    [(ZH, "页面打开太久了"), (EN, "The page was open too long")],
)
def test_a_form_sent_without_its_token_says_reload_and_try_again(headers, heading):
    client = Client(enforce_csrf_checks=True)

    response = client.post("/accounts/login/", {"username": "x", "password": "y"}, **headers)

    assert response.status_code == 403
    page = _page(response)
    assert heading in page
    assert "DEBUG" not in page
    assert "CSRF" not in page


def test_a_request_for_a_foreign_host_shows_the_sites_400(client, settings):
    settings.ALLOWED_HOSTS = ["portal.example.org"]

    response = client.get("/", HTTP_HOST="evil.example", **EN)

    assert response.status_code == 400
    assert "The request could not be understood" in _page(response)


@pytest.mark.parametrize(
    ("headers", "heading"),
    [(ZH, "服务器出了点问题"), (EN, "Something went wrong on our side")],
)
def test_a_bug_shows_the_sites_500_without_a_traceback(headers, heading):
    client = Client(raise_request_exception=False)

    response = client.get("/test-errors/fails/", **headers)

    assert response.status_code == 500
    page = _page(response)
    assert heading in page
    assert "Traceback" not in page
    assert "RuntimeError" not in page
    assert str(settings.BASE_DIR) not in page
