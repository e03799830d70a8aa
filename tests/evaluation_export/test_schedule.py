"""The weekly schedule: created by a migration, Monday 02:00 in Shanghai, editable in the admin."""

import importlib
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.apps import apps
from django.urls import reverse
from django_celery_beat.models import PeriodicTask

from portal.celery import app
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
schedule_migration = importlib.import_module(
    "evaluation_export.migrations.0003_weekly_export_schedule"
)


def _registered_tasks() -> set[str]:
    """Task names a worker knows after autodiscovery, as beat would send them."""
    app.loader.import_default_modules()
    return set(app.tasks)


def _weekly() -> PeriodicTask:
    return PeriodicTask.objects.select_related("crontab").get(name=schedule_migration.WEEKLY)


def test_the_weekly_export_is_scheduled_on_monday_at_2_in_shanghai():
    task = _weekly()
    assert task.enabled
    assert task.task == "evaluation_export.tasks.export_scheduled"
    assert task.task in _registered_tasks()
    crontab = task.crontab
    assert (crontab.minute, crontab.hour, crontab.day_of_week) == ("0", "2", "1")
    assert (crontab.day_of_month, crontab.month_of_year) == ("*", "*")
    assert str(crontab.timezone) == "Asia/Shanghai"


def test_acknowledgement_files_are_collected_every_ten_minutes():
    task = PeriodicTask.objects.get(name=schedule_migration.ACKS)
    assert task.task == "evaluation_export.tasks.export_acks_collect"
    assert task.task in _registered_tasks()
    assert (task.interval.every, task.interval.period) == (10, "minutes")


def test_over_two_weeks_it_fires_exactly_twice_each_at_monday_0200_shanghai_time():
    """The ±8 h signature of time-zone bugs would show as 10:00 or 18:00 firings."""
    schedule = _weekly().crontab.schedule
    moment = datetime(2026, 11, 22, 0, 0, tzinfo=SHANGHAI)  # a Sunday
    last_run = moment
    fired = []
    while moment < datetime(2026, 12, 7, 0, 0, tzinfo=SHANGHAI):
        schedule.nowfun = lambda moment=moment: moment
        if schedule.is_due(last_run).is_due:
            fired.append(moment)
            last_run = moment
        moment += timedelta(minutes=5)
    assert [f.astimezone(SHANGHAI) for f in fired] == [
        datetime(2026, 11, 23, 2, 0, tzinfo=SHANGHAI),
        datetime(2026, 11, 30, 2, 0, tzinfo=SHANGHAI),
    ]


def test_the_migration_keeps_a_schedule_an_admin_has_edited():
    task = _weekly()
    task.crontab.hour = "3"
    task.crontab.save()
    schedule_migration.create_schedule(apps, None)
    assert PeriodicTask.objects.filter(name=schedule_migration.WEEKLY).count() == 1
    assert _weekly().crontab.hour == "3"


def test_the_schedule_is_visible_in_the_admin(client):
    admin = UserFactory(is_staff=True, is_superuser=True)
    client.login(username=admin.username, password=PASSWORD)
    response = client.get(reverse("admin:django_celery_beat_periodictask_changelist"))
    assert response.status_code == 200
    assert schedule_migration.WEEKLY in response.text
