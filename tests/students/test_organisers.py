"""A record's organiser is stored on it (`organiser_ref`) and decides who answers disputes."""

import importlib

import pytest
from django.apps import apps

from bases.services.attendance import attendance_all_present, session_attendance_close
from students.disputes import notice_schools_for_user, organiser_scope_q, record_answerers
from students.models import PracticeRecord
from tests.factories import (
    ApplicationFactory,
    CoordinatorFactory,
    session_ran_this_morning,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def closed():
    """A session that ran this morning, closed by its base's coordinator: one record."""
    session = session_ran_this_morning(taken=1)
    coordinator = CoordinatorFactory(base=session.post.base).user
    ApplicationFactory(session=session)
    attendance_all_present(session=session, recorded_by=coordinator)
    assert session_attendance_close(session=session, closed_by=coordinator) == 1
    return session, coordinator, PracticeRecord.objects.get()


def test_a_record_closed_from_attendance_names_its_base(closed):
    session, _, record = closed
    assert record.organiser_ref == f"base:{session.post.base_id}"


def test_only_the_coordinators_of_that_base_answer_for_it(closed):
    _, coordinator, record = closed
    other = CoordinatorFactory().user
    assert record_answerers(record=record) == [coordinator]
    assert PracticeRecord.objects.filter(organiser_scope_q(user=coordinator)).get() == record
    assert not PracticeRecord.objects.filter(organiser_scope_q(user=other)).exists()
    assert not notice_schools_for_user(user=other).exists()
    school = record.student.school_class.school
    assert list(notice_schools_for_user(user=coordinator)) == [school]


def test_the_data_migrations_fill_the_organiser_of_existing_records(closed):
    session, coordinator, record = closed
    PracticeRecord.objects.update(organiser_ref="")
    assert not PracticeRecord.objects.filter(organiser_scope_q(user=coordinator)).exists()
    migration = importlib.import_module(
        "bases.migrations.0007_practicerecord_organiser_ref_from_attendance"
    )
    migration.records_organised_by_their_base(apps, None)
    record.refresh_from_db()
    assert record.organiser_ref == f"base:{session.post.base_id}"


def test_the_data_migration_names_the_school_of_school_records(closed):
    _, _, record = closed
    school = record.student.school_class.school
    PracticeRecord.objects.update(source_ref=f"school:key:{record.student_id}:day")
    migration = importlib.import_module("students.migrations.0005_practicerecord_organiser_ref")
    migration.school_records_organised_by_their_school(apps, None)
    record.refresh_from_db()
    assert record.organiser_ref == f"school:{school.pk}"
