from django.db import migrations

# The default categories and requirement; both are data the city admin edits.
CATEGORIES = [
    ("volunteer_service", "志愿服务（公益劳动）", "Volunteer service (public-benefit work)", True),
    ("social_investigation", "社会考察", "Social investigation", False),
    ("career_experience", "职业体验", "Career experience", False),
    ("safety_training", "安全实训", "Safety training", False),
    ("military_training", "军训/国防教育", "Military training / national defence education", False),
    ("rural_practice", "学农", "Rural practice (学农)", False),
]


def create_defaults(apps, schema_editor):
    Category = apps.get_model("students", "Category")
    RequirementPolicy = apps.get_model("students", "RequirementPolicy")
    for order, (code, name_zh, name_en, volunteer) in enumerate(CATEGORIES, start=1):
        Category.objects.get_or_create(
            code=code,
            defaults={
                "name_zh": name_zh,
                "name_en": name_en,
                "counts_as_volunteer_service": volunteer,
                "sort_order": order,
            },
        )
    RequirementPolicy.objects.get_or_create(
        effective_from_entry_year=2000,
        defaults={
            "volunteer_hours_required": 60,
            "practice_days_required": 90,
            "minutes_per_credit_hour": 40,
            "notice_days": 7,
            "attendance_deadline_hours": 24,
        },
    )


class Migration(migrations.Migration):
    dependencies = [("students", "0001_initial")]

    operations = [migrations.RunPython(create_defaults, migrations.RunPython.noop)]
