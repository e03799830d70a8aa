from datetime import date, time

from django.db import migrations


def create_default(apps, schema_editor):
    """The default guards for minors; data the city admin edits (a later row replaces it)."""
    SafetyPolicy = apps.get_model("students", "SafetyPolicy")
    SafetyPolicy.objects.get_or_create(
        effective_from=date(2000, 1, 1),
        defaults={
            "session_earliest_start": time(7, 0),
            "session_latest_end": time(21, 0),
            "daily_credit_minutes": 480,
            "session_credit_minutes": 480,
            "consent_off_site": True,
            "consent_overnight": True,
            "consent_physical_risk": True,
        },
    )


class Migration(migrations.Migration):
    dependencies = [("students", "0009_safety_policy_and_held_minutes")]

    operations = [migrations.RunPython(create_default, migrations.RunPython.noop)]
