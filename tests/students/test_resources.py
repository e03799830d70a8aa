"""School, class and student sheets: natural keys, every bad cell named, all rows or none."""

import io

import pytest
import tablib
from django.utils import translation
from openpyxl import Workbook

from students.models import School, SchoolClass, Student
from students.resources import SchoolClassResource, SchoolResource, StudentResource
from tests.factories import SchoolClassFactory, SchoolFactory, StudentFactory

pytestmark = pytest.mark.django_db

STUDENT_HEADERS = ["student_number", "name", "school_code", "entry_year", "class_number"]
TURNED_INTO_NUMBER = "The spreadsheet turned this identifier into a number"


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


@pytest.fixture
def class_0123():
    """Class 2025/1 of a school whose code begins with a zero, as many do."""
    return SchoolClassFactory(school=SchoolFactory(code="0123"), entry_year=2025, number=1)


def sheet(headers, *rows) -> tablib.Dataset:
    return tablib.Dataset(*rows, headers=headers)


def errors_by_row(result) -> dict[int, dict[str, list[str]]]:
    """What the admin shows: row number -> column -> messages."""
    return {row.number: row.error_dict for row in result.invalid_rows}


def good_students() -> tablib.Dataset:
    return sheet(
        STUDENT_HEADERS,
        ["G310101200901011234", "张三", "0123", "2025", "1"],
        ["G310101200901011235", "李四", "0123", 2025, 1],
    )


class TestStudentSheet:
    def test_it_imports_students_into_the_classes_the_sheet_names(self, class_0123):
        result = StudentResource().import_data(good_students())

        assert not result.has_errors() and not result.has_validation_errors()
        assert result.totals["new"] == 2
        assert list(
            Student.objects.order_by("student_number").values_list(
                "student_number", "name", "school_class"
            )
        ) == [
            ("G310101200901011234", "张三", class_0123.pk),
            ("G310101200901011235", "李四", class_0123.pk),
        ]

    def test_importing_the_same_sheet_twice_changes_nothing(self, class_0123):
        StudentResource().import_data(good_students())
        before = list(Student.objects.order_by("pk").values())

        result = StudentResource().import_data(good_students())

        assert result.totals["skip"] == 2
        assert result.totals["new"] == result.totals["update"] == 0
        assert list(Student.objects.order_by("pk").values()) == before

    def test_an_exported_sheet_imports_back_unchanged(self, class_0123):
        StudentFactory(student_number="G310101200901011299", school_class=class_0123)
        exported = StudentResource().export()

        result = StudentResource().import_data(exported)

        assert exported.headers == STUDENT_HEADERS
        assert exported.dict[0]["school_code"] == "0123"
        assert result.totals["skip"] == 1 and not result.has_validation_errors()

    def test_it_moves_a_student_to_the_class_the_sheet_names(self, class_0123):
        student = StudentFactory(student_number="G310101200901011234", school_class=class_0123)
        other = SchoolClassFactory(school=class_0123.school, entry_year=2025, number=2)

        result = StudentResource().import_data(
            sheet(STUDENT_HEADERS, [student.student_number, student.name, "0123", 2025, 2])
        )

        assert result.totals["update"] == 1
        student.refresh_from_db()
        assert student.school_class == other

    def test_empty_rows_at_the_end_of_a_sheet_are_not_data(self, class_0123):
        data = good_students()
        data.append(["", None, "", "", ""])
        data.append([None, None, None, None, None])

        result = StudentResource().import_data(data)

        assert not result.has_validation_errors()
        assert Student.objects.count() == 2

    def test_it_refuses_a_sheet_with_an_unknown_school(self, class_0123):
        data = good_students()
        data.append(["G310101200901011236", "王五", "9999", 2025, 1])

        result = StudentResource().import_data(data)

        assert errors_by_row(result) == {3: {"school_code": ["No school has the code 9999."]}}
        assert Student.objects.count() == 0

    def test_it_refuses_a_class_the_school_does_not_have(self, class_0123):
        result = StudentResource().import_data(
            sheet(STUDENT_HEADERS, ["G310101200901011234", "张三", "0123", 2024, 7])
        )

        assert errors_by_row(result) == {
            1: {
                "class_number": [
                    "School 0123 has no class with entry year 2024 and class number 7."
                ]
            }
        }
        assert Student.objects.count() == 0

    @pytest.mark.parametrize(
        "cell",
        [3.10101200901e17, 310101200901011234, "310101200901011234.0", "3.10101200901E+17"],
        ids=["float", "int", "float-text", "scientific-text"],
    )
    def test_it_refuses_a_student_number_that_a_spreadsheet_turned_into_a_number(
        self, class_0123, cell
    ):
        data = good_students()
        data.append([cell, "王五", "0123", 2025, 1])

        result = StudentResource().import_data(data)

        errors = errors_by_row(result)
        assert list(errors) == [3]
        assert list(errors[3]) == ["student_number"]
        assert TURNED_INTO_NUMBER in errors[3]["student_number"][0]
        assert "Format the column as text" in errors[3]["student_number"][0]
        assert Student.objects.count() == 0

    def test_it_refuses_a_school_code_that_lost_its_leading_zero(self, class_0123):
        result = StudentResource().import_data(
            sheet(STUDENT_HEADERS, ["G310101200901011234", "张三", 123, 2025, 1])
        )

        assert TURNED_INTO_NUMBER in errors_by_row(result)[1]["school_code"][0]
        assert Student.objects.count() == 0

    def test_it_refuses_a_student_number_twice_in_one_sheet(self, class_0123):
        data = good_students()
        data.append(["G310101200901011234", "张三丰", "0123", 2025, 1])

        result = StudentResource().import_data(data)

        assert errors_by_row(result) == {
            3: {"student_number": ["The same student_number is already on row 1 of this sheet."]}
        }
        assert Student.objects.count() == 0

    def test_it_refuses_an_empty_name(self, class_0123):
        data = good_students()
        data.append(["G310101200901011236", "  ", "0123", 2025, 1])

        result = StudentResource().import_data(data)

        assert errors_by_row(result) == {3: {"name": ["This cell is empty; a value is required."]}}
        assert Student.objects.count() == 0

    def test_a_malformed_student_number_is_a_row_error_not_a_database_error(self, class_0123):
        result = StudentResource().import_data(
            sheet(STUDENT_HEADERS, ["G-3101", "张三", "0123", 2025, 1])
        )

        assert not result.has_errors()
        assert errors_by_row(result) == {
            1: {"student_number": ["G-3101 is not a student number: use 6-32 letters or digits."]}
        }

    def test_it_lists_every_bad_row_and_column_and_imports_none(self, class_0123):
        data = sheet(
            STUDENT_HEADERS,
            ["G310101200901011234", "张三", "0123", 2025, 1],
            ["310101200901011234.0", "", "123", "abc", 1],
            ["G310101200901011236", "王五", "0123", 2025, 1],
            ["G310101200901011236", "王五", "9999", 2025, 1],
        )

        result = StudentResource().import_data(data)

        errors = errors_by_row(result)
        assert sorted(errors) == [2, 4]
        assert sorted(errors[2]) == ["entry_year", "name", "school_code", "student_number"]
        assert errors[2]["entry_year"] == ["abc is not a whole number."]
        assert sorted(errors[4]) == ["school_code", "student_number"]
        assert Student.objects.count() == 0

    def test_a_sheet_without_the_class_columns_is_refused_whole(self, class_0123):
        result = StudentResource().import_data(
            sheet(["student_number", "name"], ["G310101200901011234", "张三"])
        )

        assert result.has_errors()
        assert "entry_year, class_number" in str(result.base_errors[0].error)
        assert Student.objects.count() == 0

    def test_an_xlsx_whose_student_number_cell_is_numeric_is_refused(self, class_0123):
        workbook = Workbook()
        worksheet = workbook.active
        worksheet.append(STUDENT_HEADERS)
        worksheet.append(["G310101200901011234", "张三", "0123", 2025, 1])
        worksheet.append([310101200901011234, "李四", "0123", 2025, 1])
        buffer = io.BytesIO()
        workbook.save(buffer)
        data = tablib.Dataset().load(buffer.getvalue(), format="xlsx")

        result = StudentResource().import_data(data)

        errors = errors_by_row(result)
        assert list(errors) == [2]
        assert TURNED_INTO_NUMBER in errors[2]["student_number"][0]
        assert Student.objects.count() == 0


SCHOOL_HEADERS = ["code", "name", "name_en", "district_code"]


class TestSchoolSheet:
    def test_it_imports_schools_with_their_district_and_twice_changes_nothing(self):
        data = sheet(
            SCHOOL_HEADERS,
            ["0123", "上海市第一中学", "No. 1 High School", "310104"],
            ["S2001", "上海市第二中学", "", "310101"],
        )

        first = SchoolResource().import_data(data)
        second = SchoolResource().import_data(data)

        assert first.totals["new"] == 2
        assert second.totals["skip"] == 2 and second.totals["update"] == 0
        assert School.objects.get(code="0123").district.code == "310104"
        assert School.objects.count() == 2

    def test_it_refuses_an_unknown_district_and_a_numeric_district_code(self):
        data = sheet(
            SCHOOL_HEADERS,
            ["0123", "上海市第一中学", "", "999999"],
            ["S2001", "上海市第二中学", "", 310101],
        )

        errors = errors_by_row(SchoolResource().import_data(data))

        assert errors[1] == {"district_code": ["No district has the code 999999."]}
        assert TURNED_INTO_NUMBER in errors[2]["district_code"][0]
        assert School.objects.count() == 0

    def test_it_refuses_a_school_code_out_of_format_and_a_numeric_one(self):
        data = sheet(
            SCHOOL_HEADERS,
            ["01-23", "上海市第一中学", "", "310104"],
            [123, "上海市第三中学", "", "310104"],
        )

        errors = errors_by_row(SchoolResource().import_data(data))

        assert errors[1] == {"code": ["01-23 is not a school code: use 4-16 letters or digits."]}
        assert TURNED_INTO_NUMBER in errors[2]["code"][0]
        assert School.objects.count() == 0


CLASS_HEADERS = ["school_code", "entry_year", "class_number"]


class TestSchoolClassSheet:
    def test_it_imports_classes_by_school_year_and_number_and_twice_changes_nothing(self):
        SchoolFactory(code="0123")
        data = sheet(CLASS_HEADERS, ["0123", 2025, 1], ["0123", "2025", "2"])

        first = SchoolClassResource().import_data(data)
        second = SchoolClassResource().import_data(data)

        assert first.totals["new"] == 2
        assert second.totals["skip"] == 2
        assert SchoolClass.objects.filter(school__code="0123").count() == 2

    def test_it_refuses_a_year_out_of_range_an_unknown_school_and_a_repeated_class(self):
        SchoolFactory(code="0123")
        data = sheet(
            CLASS_HEADERS,
            ["0123", 1999, 1],
            ["0999", 2025, 1],
            ["0123", 2025, 3],
            ["0123", 2025, 3],
        )

        errors = errors_by_row(SchoolClassResource().import_data(data))

        assert list(errors[1]) == ["entry_year"]
        assert errors[2] == {"school_code": ["No school has the code 0999."]}
        assert "already on row 3" in errors[4]["class_number"][0]
        assert SchoolClass.objects.count() == 0
