"""With the cache's Redis down, pages load and people sign in and reset passwords; the reset
limits count again once it is back (portal.cache.FailSoftRedisCache)."""

import time

import pytest
from django.core import mail
from django.core.cache import cache
from django.urls import reverse

from portal.models import Notification
from tests.brokers import RedisServer
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db
LOGIN = "/accounts/login/"


def _use_redis_cache(settings, url: str) -> None:
    """The production cache settings (base.py, CACHE_URL=redis://...) on `url`."""
    timeout = settings.CACHE_TIMEOUT
    settings.CACHES = {
        "default": {
            "BACKEND": "portal.cache.FailSoftRedisCache",
            "LOCATION": url,
            "OPTIONS": {"socket_connect_timeout": timeout, "socket_timeout": timeout},
        }
    }


def _reset(client, email="lin@example.org"):
    return client.post(reverse("password_reset"), {"email": email}, REMOTE_ADDR="10.7.7.7")


def test_with_the_cache_down_pages_load_and_sign_in_and_password_reset_work(client, settings):
    _use_redis_cache(settings, RedisServer().url)  # nothing listens there
    user = UserFactory(username="lin", email="lin@example.org")
    Notification.objects.create(user=user, message="您的报名已确认")
    started = time.monotonic()
    assert client.get("/").status_code == 200
    assert client.get(LOGIN).status_code == 200
    signed_in = client.post(LOGIN, {"username": "lin", "password": PASSWORD})
    assert signed_in.status_code == 302
    assert "_auth_user_id" in client.session
    assert client.get(signed_in.url, follow=True).status_code == 200
    client.logout()
    assert _reset(client).status_code == 302
    assert len(mail.outbox) == 1 and "lin@example.org" in mail.outbox[0].to
    assert time.monotonic() - started < 10, "each cache call gave up at once"


def test_the_reset_limit_counts_on_redis_is_not_counted_while_it_is_down_and_counts_again(
    client, settings, redis_server
):
    _use_redis_cache(settings, redis_server.url)
    UserFactory(username="lin", email="lin@example.org")
    limit = settings.PASSWORD_RESET_LIMIT_PER_EMAIL
    assert [_reset(client).status_code for _ in range(limit + 1)] == [302] * limit + [429]

    redis_server.stop()
    assert _reset(client).status_code == 302, "not refused because the counter is unreachable"
    assert cache.get("anything", "missing") == "missing"

    redis_server.start()  # an empty Redis: the count starts again
    assert [_reset(client).status_code for _ in range(limit + 1)] == [302] * limit + [429]
    assert len(mail.outbox) == 2 * limit + 1
