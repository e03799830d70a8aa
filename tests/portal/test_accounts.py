"""Signing in resists guessing: lock-out after a few failures, explained, audited and liftable;
password reset by e-mail, rate-limited and naming the site."""

import re

import pytest
from django.contrib import admin
from django.core import mail
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import translation

from portal.accounts import user_sign_in_unlock
from portal.admin import UserAdmin
from portal.models import AuditLog, Role
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db
LOGIN = "/accounts/login/"
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


@pytest.fixture(autouse=True)
def _fresh_limits():
    cache.clear()
    yield
    cache.clear()


def _sign_in(client, username, password, ip="10.1.1.1", **headers):
    return client.post(
        LOGIN, {"username": username, "password": password}, REMOTE_ADDR=ip, **headers
    )


def _signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def test_five_wrong_passwords_lock_the_account_and_the_sixth_try_is_refused():
    user = UserFactory(username="lin", email="lin@example.org")
    client = Client()
    for _ in range(5):
        assert _sign_in(client, "lin", "wrong-guess").status_code in (200, 429)

    refused = _sign_in(client, "lin", PASSWORD)

    assert refused.status_code == 429
    assert not _signed_in(client)
    assert "登录已暂停" in refused.content.decode()
    assert AuditLog.objects.filter(action="login.locked_out", object_id=str(user.pk)).exists()


def test_the_lock_out_page_says_until_when_in_the_readers_language():
    UserFactory(username="lin")
    client = Client()
    for _ in range(6):
        response = _sign_in(client, "lin", "wrong-guess", **EN)

    page = response.content.decode()
    assert "Sign-in paused" in page
    assert re.search(r"paused until \d\d:\d\d \(in 15 minutes\)", page)
    assert reverse("password_reset") in page


def test_a_correct_password_before_the_limit_signs_in_and_clears_the_count():
    UserFactory(username="lin")
    client = Client()
    for _ in range(4):
        _sign_in(client, "lin", "wrong-guess")

    assert _sign_in(client, "lin", PASSWORD).status_code == 302
    assert _signed_in(client)


def test_a_locked_account_does_not_lock_out_another_account_elsewhere():
    UserFactory(username="lin")
    UserFactory(username="wang")
    for _ in range(6):
        _sign_in(Client(), "lin", "wrong-guess", ip="10.1.1.1")

    other = Client()
    assert _sign_in(other, "wang", PASSWORD, ip="10.2.2.2").status_code == 302
    assert _signed_in(other)


def test_guessing_many_accounts_from_one_address_locks_that_address():
    for name in ("a1", "a2", "a3", "a4", "a5", "a6"):
        UserFactory(username=name)
    for name in ("a1", "a2", "a3", "a4", "a5"):
        _sign_in(Client(), name, "wrong-guess", ip="10.9.9.9")

    client = Client()
    assert _sign_in(client, "a6", PASSWORD, ip="10.9.9.9").status_code == 429
    assert not _signed_in(client)


def test_an_admin_lifts_a_lock_out_and_it_is_audited():
    user = UserFactory(username="lin")
    admin_user = UserFactory(username="city", role=Role.CITY_ADMIN, is_staff=True)
    for _ in range(6):
        _sign_in(Client(), "lin", "wrong-guess", ip="10.3.3.3")

    user_sign_in_unlock(user=user, unlocked_by=admin_user)

    client = Client()
    assert _sign_in(client, "lin", PASSWORD, ip="10.4.4.4").status_code == 302
    entry = AuditLog.objects.get(action="login.unlocked")
    assert (entry.actor, entry.object_id) == (admin_user, str(user.pk))


def test_the_user_admin_offers_the_unlock_action():
    model_admin = UserAdmin(UserFactory._meta.model, admin.site)
    assert "unlock_sign_in" in model_admin.actions


def test_the_login_page_links_to_password_reset(client):
    assert reverse("password_reset") in client.get(LOGIN).content.decode()


def test_a_reset_mail_names_the_site_and_carries_a_working_link(client, settings):
    user = UserFactory(username="lin", email="lin@example.org")

    response = client.post(reverse("password_reset"), {"email": "lin@example.org"}, **EN)

    assert response.status_code == 302
    [message] = mail.outbox
    with translation.override("en"):
        assert message.subject == f"Reset your password for {settings.PORTAL_NAME}"
    assert message.body.startswith("Hello ")
    link = re.search(rf"{settings.PORTAL_SITE_URL}(/accounts/reset/\S+/)", message.body).group(1)
    form = client.get(link, follow=True)
    assert form.status_code == 200
    done = client.post(
        form.redirect_chain[-1][0],
        {"new_password1": "Lantern-river-42", "new_password2": "Lantern-river-42"},
    )
    assert done.status_code == 302
    user.refresh_from_db()
    assert user.check_password("Lantern-river-42")


@pytest.mark.parametrize(
    "language, subject, words",
    [
        ("en", "Reset your password for", ["Hello ", "The link works once"]),
        ("zh-hans", "重设", ["您好", "该链接仅可使用一次"]),
    ],
)
def test_the_reset_mail_is_in_the_readers_language_and_names_the_site_not_the_host(
    client, settings, language, subject, words
):
    settings.PORTAL_SITE_URL = "https://shijian.example.edu.cn"
    UserFactory(username="lin", email="lin@example.org")
    client.post(
        reverse("password_reset"),
        {"email": "lin@example.org"},
        HTTP_ACCEPT_LANGUAGE=language,
        HTTP_HOST="internal-host.lan",
    )
    [message] = mail.outbox
    with translation.override(language):
        site_name = str(settings.PORTAL_NAME)
    assert subject in message.subject and site_name in message.subject
    for word in words:
        assert word in message.body
    assert "https://shijian.example.edu.cn/accounts/reset/" in message.body
    assert site_name in message.body
    assert "internal-host.lan" not in message.body and "testserver" not in message.body
    other = ["您好"] if language == "en" else ["Hello ", "The link works once"]
    assert not any(word in message.body for word in other)


def test_a_common_password_is_refused_when_choosing_a_new_one(client, settings):
    UserFactory(username="lin", email="lin@example.org")
    client.post(reverse("password_reset"), {"email": "lin@example.org"})
    body = mail.outbox[0].body
    link = re.search(rf"{settings.PORTAL_SITE_URL}(/accounts/reset/\S+/)", body).group(1)
    form_url = client.get(link, follow=True).redirect_chain[-1][0]

    response = client.post(
        form_url, {"new_password1": "password", "new_password2": "password"}, **EN
    )

    assert response.status_code == 200
    assert "too common" in response.content.decode()


def test_reset_requests_are_limited_per_e_mail_address(client):
    UserFactory(username="lin", email="lin@example.org")
    for _ in range(3):
        assert (
            client.post(reverse("password_reset"), {"email": "lin@example.org"}).status_code == 302
        )

    refused = client.post(reverse("password_reset"), {"email": "lin@example.org"}, **EN)

    assert refused.status_code == 429
    assert "Too many password reset requests" in refused.content.decode()
    assert len(mail.outbox) == 3


def test_reset_requests_are_limited_per_address(client):
    for n in range(5):
        client.post(
            reverse("password_reset"), {"email": f"u{n}@example.org"}, REMOTE_ADDR="10.5.5.5"
        )

    refused = client.post(
        reverse("password_reset"), {"email": "other@example.org"}, REMOTE_ADDR="10.5.5.5"
    )

    assert refused.status_code == 429
