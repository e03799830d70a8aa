"""The export's schedule in django-celery-beat's tables, editable in the admin afterwards.

Created only if absent, so an edited schedule survives; not in CELERY_BEAT_SCHEDULE, whose
entries the scheduler would write back over an admin's edits at every start.
"""

import json

from django.db import migrations
from django.utils import timezone

WEEKLY = "Export to the evaluation system (weekly)"
ACKS = "Collect acknowledgements of the evaluation system"


def create_schedule(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    changed = False
    if not PeriodicTask.objects.filter(name=WEEKLY).exists():
        # Monday (day_of_week 1) 02:00 in Shanghai; a crontab in its own time zone does not
        # move when TIME_ZONE or CELERY_TIMEZONE change.
        monday_2am, _ = CrontabSchedule.objects.get_or_create(
            minute="0",
            hour="2",
            day_of_week="1",
            day_of_month="*",
            month_of_year="*",
            timezone="Asia/Shanghai",
        )
        PeriodicTask.objects.create(
            name=WEEKLY,
            task="evaluation_export.tasks.export_scheduled",
            crontab=monday_2am,
            args=json.dumps([]),
            kwargs=json.dumps({}),
            description="Delta batch of final records to 综合素质评价, then its delivery.",
        )
        changed = True
    if not PeriodicTask.objects.filter(name=ACKS).exists():
        every_10_minutes, _ = IntervalSchedule.objects.get_or_create(every=10, period="minutes")
        PeriodicTask.objects.create(
            name=ACKS,
            task="evaluation_export.tasks.export_acks_collect",
            interval=every_10_minutes,
            args=json.dumps([]),
            kwargs=json.dumps({}),
            description="Apply acknowledgement files put back in the drop folder.",
        )
        changed = True
    if changed:
        # Tell a running beat to reload its schedule.
        PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


def remove_schedule(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name__in=[WEEKLY, ACKS]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("evaluation_export", "0002_batch_run_and_delivery"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]
