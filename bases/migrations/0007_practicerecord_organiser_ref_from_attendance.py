from django.db import migrations
from django.db.models import CharField, IntegerField, OuterRef, Subquery, Value
from django.db.models.functions import Cast, Coalesce, Concat, Substr

SOURCE_PREFIX = "attendance:"


def records_organised_by_their_base(apps, schema_editor):
    """Records written from attendance ("attendance:<id>") are answered by the base of that
    attendance's session's post: organiser_ref "base:<id>", in one UPDATE."""
    PracticeRecord = apps.get_model("students", "PracticeRecord")
    Attendance = apps.get_model("bases", "Attendance")
    attendance_id = Cast(Substr(OuterRef("source_ref"), len(SOURCE_PREFIX) + 1), IntegerField())
    base_ref = Attendance.objects.filter(pk=attendance_id).annotate(
        ref=Concat(Value("base:"), Cast("session__post__base_id", output_field=CharField()))
    )
    # Only well-formed references, so the cast to an integer never fails on PostgreSQL.
    PracticeRecord.objects.filter(source_ref__regex=r"^attendance:[0-9]+$").update(
        organiser_ref=Coalesce(Subquery(base_ref.values("ref")[:1]), Value(""))
    )


class Migration(migrations.Migration):
    dependencies = [
        ("bases", "0006_import_status_importing"),
        ("students", "0005_practicerecord_organiser_ref"),
    ]

    operations = [
        migrations.RunPython(records_organised_by_their_base, migrations.RunPython.noop),
    ]
