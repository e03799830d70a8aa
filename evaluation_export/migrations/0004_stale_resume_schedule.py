"""Every minute, resume the batches whose worker died; in django-celery-beat's tables, like the
weekly export, so an admin's edit of the interval survives.
"""

import json

from django.db import migrations
from django.utils import timezone

RESUME = "Resume export batches whose worker stopped"


def create_schedule(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    if PeriodicTask.objects.filter(name=RESUME).exists():
        return
    every_minute, _ = IntervalSchedule.objects.get_or_create(every=1, period="minutes")
    PeriodicTask.objects.create(
        name=RESUME,
        task="evaluation_export.tasks.export_stale_resume",
        interval=every_minute,
        args=json.dumps([]),
        kwargs=json.dumps({}),
        description="A running batch silent past EVALUATION_EXPORT_STALE_SECONDS is taken over.",
    )
    # Tell a running beat to reload its schedule.
    PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


def remove_schedule(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name=RESUME).delete()


class Migration(migrations.Migration):
    dependencies = [("evaluation_export", "0003_weekly_export_schedule")]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]
