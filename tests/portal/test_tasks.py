"""A real Celery worker on the configured broker (filesystem by default, Redis in CI)."""

import pytest
from celery.contrib.testing.worker import start_worker
from django.core import mail
from django.db import transaction

from bases.messages import APPLICATION_CONFIRMED
from portal.celery import app
from portal.models import Notification
from portal.services import notification_send
from tests.factories import UserFactory
from tests.waiting import wait_until


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_emails_a_notification_once_it_is_committed():
    user = UserFactory(email="li.ming@example.org")
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=20):
        with transaction.atomic():
            notification = notification_send(
                user=user, message=APPLICATION_CONFIRMED, params={"session": "图书管理员"}
            )
        assert wait_until(
            lambda: Notification.objects.filter(
                pk=notification.pk, emailed_at__isnull=False
            ).exists(),
            timeout=20,
        ), f"the worker did not process the task on {app.conf.broker_url}"
    assert [m.to for m in mail.outbox] == [["li.ming@example.org"]]
    assert mail.outbox[0].body.startswith("您已被录取：图书管理员。")


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_notification_is_never_sent():
    user = UserFactory()
    with pytest.raises(RuntimeError), transaction.atomic():
        notification_send(user=user, message=APPLICATION_CONFIRMED, params={"session": "x"})
        raise RuntimeError("roll back")
    assert not Notification.objects.exists()
    assert mail.outbox == []
