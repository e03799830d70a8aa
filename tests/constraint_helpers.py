"""Helpers for tests showing that the database itself, not model validation, refuses a bad row."""

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta

import pytest
from django.apps import apps
from django.conf import settings
from django.db import IntegrityError, connection, models, transaction
from django.utils import timezone

from students.models import OrganiserLevel, PracticeRecord, RecordedVia, RecordStatus, Student
from tests.factories import category, district

# Read from settings, not the connection, so a module can use it in a decorator at import time.
ON_SQLITE = settings.DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3"

PROJECT_APPS = ("portal", "districts", "students", "bases", "evaluation_export")

RECORD_START = timezone.make_aware(datetime(2026, 10, 10, 9, 0))

_refs = itertools.count(1)


@contextmanager
def refused(model: type[models.Model], name: str) -> Iterator[None]:
    """Expect the writes inside to raise IntegrityError from constraint or unique field `name`."""
    with pytest.raises(IntegrityError) as info, transaction.atomic():
        yield
    message = str(info.value)
    hint = _violation_hint(model, name)
    assert hint in message, f"expected {hint!r} in the database's error: {message}"


def _violation_hint(model: type[models.Model], name: str) -> str:
    """Text the backend puts in its error message when `name` is what refused the row."""
    table = model._meta.db_table
    postgres = connection.vendor == "postgresql"
    constraint = next((c for c in model._meta.constraints if c.name == name), None)
    if isinstance(constraint, models.CheckConstraint) or (constraint is not None and postgres):
        return f'"{name}"' if postgres else f"CHECK constraint failed: {name}"
    if isinstance(constraint, models.UniqueConstraint):
        columns = [model._meta.get_field(field).column for field in constraint.fields]
        return "UNIQUE constraint failed: " + ", ".join(f"{table}.{c}" for c in columns)
    column = model._meta.get_field(name).column
    return f"Key ({column})=" if postgres else f"UNIQUE constraint failed: {table}.{column}"


def constraint_names() -> set[str]:
    """Every name in Meta.constraints of the project's own models."""
    return {
        constraint.name
        for app in PROJECT_APPS
        for model in apps.get_app_config(app).get_models()
        for constraint in model._meta.constraints
    }


def record_values(*, student: Student, **overrides) -> dict:
    """Keyword arguments for a valid in-notice PracticeRecord; overrides make it bad."""
    values = {
        "student": student,
        "source_ref": f"attendance:{next(_refs)}",
        "category": category(),
        "title": "图书管理员",
        "organiser_name": "徐汇区图书馆",
        "organiser_level": OrganiserLevel.DISTRICT,
        "district": district(),
        "started_at": RECORD_START,
        "ended_at": RECORD_START + timedelta(hours=3),
        "credited_minutes": 180,
        "recorded_via": RecordedVia.ROSTER,
        "status": RecordStatus.IN_NOTICE,
        "notice_ends_on": date(2026, 10, 17),
    }
    values.update(overrides)
    return values


def record_create(*, student: Student, **overrides) -> PracticeRecord:
    return PracticeRecord.objects.create(**record_values(student=student, **overrides))
