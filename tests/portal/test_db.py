"""portal.db: a read compiled once answers as its queryset would; on PostgreSQL, statements run
inside `prepared_statements` are prepared and keep one plan."""

import pytest
from django.db import connection

from portal.db import CompiledGet, prepared_statements
from students.models import Student
from tests.factories import StudentFactory

pytestmark = pytest.mark.django_db


def _student(student: int):
    return Student.objects.select_related("user").only("name", "user__username").filter(pk=student)


_STUDENT = CompiledGet(_student)  # its SQL is this test's alone (`only`)


def test_a_compiled_read_gives_each_student_as_the_queryset_does():
    first, second = StudentFactory(), StudentFactory()
    for student in (first, second, first):
        read = _STUDENT.get(student=student.pk)
        expected = Student.objects.select_related("user").get(pk=student.pk)
        assert (read.pk, read.name, read.user.username) == (
            expected.pk,
            expected.name,
            expected.user.username,
        )
    with pytest.raises(Student.DoesNotExist):
        _STUDENT.get(student=second.pk + 1000)


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_a_statement_run_again_inside_prepared_statements_is_planned_once():
    students = [StudentFactory() for _ in range(7)]
    with prepared_statements():
        for student in students:
            _STUDENT.get(student=student.pk)
    columns = _STUDENT.sql_with_params(student=students[0].pk)[0].split(" FROM ")[0]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT generic_plans, custom_plans FROM pg_prepared_statements "
            "WHERE starts_with(statement, %s)",
            [f"{columns} FROM "],
        )
        plans = cursor.fetchall()
    assert len(plans) == 1
    generic, custom = plans[0]
    assert generic >= 1 and custom == 0
