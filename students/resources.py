"""Spreadsheet import and export of schools, classes and students, keyed on natural keys."""

from django.utils.translation import gettext_lazy as _
from import_export.fields import Field

from districts.models import District
from districts.resources import DISTRICT_CODE_INVALID, DISTRICT_CODE_REGEX, DISTRICT_NOT_FOUND
from portal.resources import (
    IdentifierWidget,
    NaturalKeyResource,
    ReferenceWidget,
    TextWidget,
    WholeNumberWidget,
    clean_identifier,
    clean_whole_number,
)

from .identifiers import STUDENT_NUMBER_REGEX
from .models import SCHOOL_CODE_REGEX, School, SchoolClass, Student

SCHOOL_CODE_INVALID = _("%(value)s is not a school code: use 4-16 letters or digits.")
SCHOOL_NOT_FOUND = _("No school has the code %(value)s.")
STUDENT_NUMBER_INVALID = _("%(value)s is not a student number: use 6-32 letters or digits.")
CLASS_NOT_FOUND = _(
    "School %(school)s has no class with entry year %(year)s and class number %(number)s."
)


def clean_school_code(value) -> str:
    """A school code from a cell: text, never a number, 4-16 letters or digits."""
    return clean_identifier(value, pattern=SCHOOL_CODE_REGEX, invalid=SCHOOL_CODE_INVALID)


def school_reference_widget() -> ReferenceWidget:
    return ReferenceWidget(
        School,
        "code",
        pattern=SCHOOL_CODE_REGEX,
        invalid=SCHOOL_CODE_INVALID,
        not_found=SCHOOL_NOT_FOUND,
    )


class SchoolResource(NaturalKeyResource):
    """Schools by `code`.

    Columns: `code` (4-16 letters or digits, a text cell), `name`, `name_en` (optional),
    `district_code` (the district's six-digit code, a text cell).
    """

    code = Field(
        attribute="code",
        column_name="code",
        widget=IdentifierWidget(pattern=SCHOOL_CODE_REGEX, invalid=SCHOOL_CODE_INVALID),
    )
    name = Field(attribute="name", column_name="name", widget=TextWidget())
    name_en = Field(attribute="name_en", column_name="name_en", widget=TextWidget(required=False))
    district_code = Field(
        attribute="district",
        column_name="district_code",
        widget=ReferenceWidget(
            District,
            "code",
            pattern=DISTRICT_CODE_REGEX,
            invalid=DISTRICT_CODE_INVALID,
            not_found=DISTRICT_NOT_FOUND,
        ),
    )

    required_columns = ("code", "name", "district_code")

    class Meta:
        model = School
        fields = ("code", "name", "name_en", "district_code")
        import_id_fields = ("code",)

    def get_queryset(self):
        return super().get_queryset().select_related("district")


class SchoolClassResource(NaturalKeyResource):
    """Classes by (`school_code`, `entry_year`, `class_number`).

    Columns: `school_code` (a text cell), `entry_year` (e.g. 2025), `class_number` (1-99).
    """

    school_code = Field(
        attribute="school", column_name="school_code", widget=school_reference_widget()
    )
    entry_year = Field(attribute="entry_year", column_name="entry_year", widget=WholeNumberWidget())
    class_number = Field(attribute="number", column_name="class_number", widget=WholeNumberWidget())

    required_columns = ("school_code", "entry_year", "class_number")

    class Meta:
        model = SchoolClass
        fields = ("school_code", "entry_year", "class_number")
        import_id_fields = ("school_code", "entry_year", "class_number")

    def get_queryset(self):
        return super().get_queryset().select_related("school")


class StudentResource(NaturalKeyResource):
    """Students by `student_number` (学籍号), placed in a class named by three columns.

    Columns: `student_number` (6-32 letters or digits, a text cell: a number cell is refused),
    `name`, `school_code` (a text cell), `entry_year`, `class_number`. The class must exist.
    """

    student_number = Field(
        attribute="student_number",
        column_name="student_number",
        widget=IdentifierWidget(pattern=STUDENT_NUMBER_REGEX, invalid=STUDENT_NUMBER_INVALID),
    )
    name = Field(attribute="name", column_name="name", widget=TextWidget())
    # Read-only here: import_related() resolves the three columns to the class together.
    school_code = Field(
        attribute="school_class__school__code", column_name="school_code", readonly=True
    )
    entry_year = Field(
        attribute="school_class__entry_year", column_name="entry_year", readonly=True
    )
    class_number = Field(
        attribute="school_class__number", column_name="class_number", readonly=True
    )

    required_columns = ("student_number", "name", "school_code", "entry_year", "class_number")
    generated_fields = ("personal_code",)

    class Meta:
        model = Student
        fields = ("student_number", "name", "school_code", "entry_year", "class_number")
        import_id_fields = ("student_number",)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.schools: dict[str, School | None] = {}
        self.classes: dict[tuple[int, int, int], SchoolClass | None] = {}

    def get_queryset(self):
        return super().get_queryset().select_related("school_class__school")

    def import_related(self, instance, row, errors):
        values = {}
        checks = (
            ("school_code", clean_school_code),
            ("entry_year", clean_whole_number),
            ("class_number", clean_whole_number),
        )
        for column, clean in checks:
            try:
                values[column] = clean(row.get(column))
            except ValueError as e:
                errors.setdefault(column, []).append(str(e))
        if len(values) < len(checks):
            return
        school = self._school(values["school_code"])
        if school is None:
            errors.setdefault("school_code", []).append(
                SCHOOL_NOT_FOUND % {"value": values["school_code"]}
            )
            return
        school_class = self._class(school, values["entry_year"], values["class_number"])
        if school_class is None:
            errors.setdefault("class_number", []).append(
                CLASS_NOT_FOUND
                % {
                    "school": school.code,
                    "year": values["entry_year"],
                    "number": values["class_number"],
                }
            )
            return
        instance.school_class = school_class

    def _school(self, code: str) -> School | None:
        if code not in self.schools:
            self.schools[code] = School.objects.filter(code=code).first()
        return self.schools[code]

    def _class(self, school: School, entry_year: int, number: int) -> SchoolClass | None:
        key = (school.pk, entry_year, number)
        if key not in self.classes:
            self.classes[key] = (
                SchoolClass.objects.select_related("school")
                .filter(school=school, entry_year=entry_year, number=number)
                .first()
            )
        return self.classes[key]
