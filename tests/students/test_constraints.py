from datetime import timedelta

import pytest
from django.utils import timezone

from students.models import (
    Dispute,
    DisputeAbout,
    DisputeStatus,
    PracticeRecord,
    PracticeRecordVersion,
    RecordStatus,
    Reflection,
    ReflectionComment,
    ReflectionPhoto,
    ReflectionStatus,
    RequirementPolicy,
    School,
    SchoolClass,
    Student,
    TeacherAssignment,
    TeacherRole,
)
from tests.constraint_helpers import (
    RECORD_START,
    record_create,
    record_values,
    refused,
)
from tests.factories import (
    HeadTeacherFactory,
    SchoolAdminFactory,
    SchoolClassFactory,
    SchoolFactory,
    StudentFactory,
    UserFactory,
    category,
    district,
)

pytestmark = pytest.mark.django_db


class TestSchool:
    @pytest.mark.parametrize("code", ["S01", "S-0001", "S 0001", "学校0001", ""])
    def test_it_refuses_a_school_code_that_is_not_4_to_16_letters_or_digits(self, code):
        with refused(School, "school_code_format"):
            School.objects.create(code=code, name="一中", district=district())
        assert School.objects.create(code="S0001", name="一中", district=district()).pk

    def test_it_refuses_a_school_code_with_a_trailing_newline(self):
        with refused(School, "school_code_format"):
            School.objects.create(code="S0001\n", name="一中", district=district())

    def test_it_refuses_a_school_without_a_name(self):
        with refused(School, "school_name_not_empty"):
            School.objects.create(code="S0001", name="", district=district())
        assert School.objects.create(code="S0001", name="一中", district=district()).pk

    def test_it_refuses_two_schools_with_one_code(self):
        SchoolFactory(code="S0001")
        with refused(School, "code"):
            School.objects.create(code="S0001", name="二中", district=district())
        assert School.objects.create(code="S0002", name="二中", district=district()).pk


class TestSchoolClass:
    def test_it_refuses_the_same_class_twice_in_one_school(self):
        existing = SchoolClassFactory(entry_year=2025, number=3)
        with refused(SchoolClass, "class_unique_in_school"):
            SchoolClass.objects.create(school=existing.school, entry_year=2025, number=3)
        assert SchoolClass.objects.create(school=existing.school, entry_year=2024, number=3).pk
        assert SchoolClass.objects.create(school=SchoolFactory(), entry_year=2025, number=3).pk

    @pytest.mark.parametrize("entry_year", [1999, 2101])
    def test_it_refuses_an_entry_year_outside_2000_to_2100(self, entry_year):
        school = SchoolFactory()
        with refused(SchoolClass, "class_entry_year_range"):
            SchoolClass.objects.create(school=school, entry_year=entry_year, number=1)
        assert SchoolClass.objects.create(school=school, entry_year=2000, number=1).pk
        assert SchoolClass.objects.create(school=school, entry_year=2100, number=1).pk

    @pytest.mark.parametrize("number", [0, 100])
    def test_it_refuses_a_class_number_outside_1_to_99(self, number):
        school = SchoolFactory()
        with refused(SchoolClass, "class_number_range"):
            SchoolClass.objects.create(school=school, entry_year=2025, number=number)
        assert SchoolClass.objects.create(school=school, entry_year=2025, number=1).pk
        assert SchoolClass.objects.create(school=school, entry_year=2025, number=99).pk


class TestTeacherAssignment:
    def test_it_refuses_a_head_teacher_without_a_class(self):
        school_class = SchoolClassFactory()
        user = UserFactory()
        with refused(TeacherAssignment, "teacher_class_matches_role"):
            TeacherAssignment.objects.create(
                user=user, school=school_class.school, role=TeacherRole.HEAD_TEACHER
            )
        assert TeacherAssignment.objects.create(
            user=user,
            school=school_class.school,
            school_class=school_class,
            role=TeacherRole.HEAD_TEACHER,
        ).pk

    def test_it_refuses_a_school_admin_tied_to_one_class(self):
        school_class = SchoolClassFactory()
        user = UserFactory()
        with refused(TeacherAssignment, "teacher_class_matches_role"):
            TeacherAssignment.objects.create(
                user=user,
                school=school_class.school,
                school_class=school_class,
                role=TeacherRole.SCHOOL_ADMIN,
            )
        assert TeacherAssignment.objects.create(
            user=user, school=school_class.school, role=TeacherRole.SCHOOL_ADMIN
        ).pk

    def test_it_refuses_two_head_teachers_for_one_class(self):
        first = HeadTeacherFactory()
        with refused(TeacherAssignment, "one_head_teacher_per_class"):
            TeacherAssignment.objects.create(
                user=UserFactory(),
                school=first.school,
                school_class=first.school_class,
                role=TeacherRole.HEAD_TEACHER,
            )
        other_class = SchoolClassFactory(school=first.school)
        assert HeadTeacherFactory(school_class=other_class).pk

    def test_it_refuses_the_same_school_admin_twice_for_one_school(self):
        first = SchoolAdminFactory()
        with refused(TeacherAssignment, "school_admin_once_per_school"):
            TeacherAssignment.objects.create(
                user=first.user, school=first.school, role=TeacherRole.SCHOOL_ADMIN
            )
        assert SchoolAdminFactory(user=first.user, school=SchoolFactory()).pk
        assert SchoolAdminFactory(school=first.school).pk


class TestStudent:
    @pytest.mark.parametrize(
        "student_number", ["G3101", "G310104-2009", "G310104 2009", "学籍号310104", ""]
    )
    def test_it_refuses_a_student_number_that_is_not_6_to_32_letters_or_digits(
        self, student_number
    ):
        school_class = SchoolClassFactory()
        with refused(Student, "student_number_format"):
            Student.objects.create(
                student_number=student_number, name="张三", school_class=school_class
            )
        assert Student.objects.create(
            student_number="G31010420090101", name="张三", school_class=school_class
        ).pk

    def test_it_refuses_a_student_number_with_a_trailing_newline(self):
        with refused(Student, "student_number_format"):
            Student.objects.create(
                student_number="G31010420090101\n", name="张三", school_class=SchoolClassFactory()
            )

    def test_it_refuses_a_student_without_a_name(self):
        student = StudentFactory()
        with refused(Student, "student_name_not_empty"):
            Student.objects.filter(pk=student.pk).update(name="")
        Student.objects.filter(pk=student.pk).update(name="李四")

    @pytest.mark.parametrize(
        "national_id",
        ["31010420080101123", "31010420080101123x", "3101042008010112XX", "X10104200801011234"],
    )
    def test_it_refuses_a_national_id_that_is_not_17_digits_and_a_check_character(
        self, national_id
    ):
        student = StudentFactory()
        with refused(Student, "student_national_id_format"):
            Student.objects.filter(pk=student.pk).update(national_id=national_id)
        Student.objects.filter(pk=student.pk).update(national_id="31010420080101123X")
        Student.objects.filter(pk=student.pk).update(national_id="310104200801011234")
        Student.objects.filter(pk=student.pk).update(national_id="")

    def test_it_refuses_two_students_with_one_student_number(self):
        existing = StudentFactory()
        with refused(Student, "student_number"):
            Student.objects.create(
                student_number=existing.student_number,
                name="李四",
                school_class=existing.school_class,
            )
        assert StudentFactory(school_class=existing.school_class).pk

    def test_it_refuses_two_students_with_one_personal_code(self):
        existing = StudentFactory()
        with refused(Student, "personal_code"):
            Student.objects.create(
                student_number="G31010420099999",
                name="李四",
                school_class=existing.school_class,
                personal_code=existing.personal_code,
            )
        assert StudentFactory(school_class=existing.school_class).personal_code


class TestRequirementPolicy:
    def test_it_refuses_zero_minutes_per_credit_hour(self):
        with refused(RequirementPolicy, "policy_minutes_positive"):
            RequirementPolicy.objects.create(
                effective_from_entry_year=2026, minutes_per_credit_hour=0
            )
        assert RequirementPolicy.objects.create(
            effective_from_entry_year=2026, minutes_per_credit_hour=45
        ).pk

    @pytest.mark.parametrize(
        "requirement", [{"volunteer_hours_required": 0}, {"practice_days_required": 0}]
    )
    def test_it_refuses_a_requirement_of_nothing(self, requirement):
        with refused(RequirementPolicy, "policy_requirements_positive"):
            RequirementPolicy.objects.create(effective_from_entry_year=2026, **requirement)
        assert RequirementPolicy.objects.create(effective_from_entry_year=2026).pk

    def test_it_refuses_two_policies_from_one_entry_year(self):
        assert RequirementPolicy.objects.filter(effective_from_entry_year=2000).exists()
        with refused(RequirementPolicy, "effective_from_entry_year"):
            RequirementPolicy.objects.create(effective_from_entry_year=2000)
        assert RequirementPolicy.objects.create(effective_from_entry_year=2026).pk


class TestPracticeRecord:
    @pytest.mark.parametrize(
        "constraint, bad, good",
        [
            (
                "record_starts_before_end",
                {"ended_at": RECORD_START},
                {"ended_at": RECORD_START + timedelta(minutes=1)},
            ),
            ("record_version_positive", {"version": 0}, {"version": 1}),
            (
                "record_in_notice_has_end",
                {"status": RecordStatus.IN_NOTICE, "notice_ends_on": None},
                {"status": RecordStatus.DISPUTED, "notice_ends_on": None},
            ),
            (
                "record_final_has_time",
                {"status": RecordStatus.FINAL, "confirmed_at": None},
                {"status": RecordStatus.FINAL, "confirmed_at": RECORD_START + timedelta(days=8)},
            ),
            ("record_source_ref_not_empty", {"source_ref": ""}, {"source_ref": "school:军训:1"}),
            ("record_status_valid", {"status": "approved"}, {"status": RecordStatus.REVOKED}),
            ("record_recorded_via_valid", {"recorded_via": "fax"}, {"recorded_via": "api"}),
        ],
    )
    def test_it_refuses_a_record_that_breaks(self, constraint, bad, good):
        student = StudentFactory()
        with refused(PracticeRecord, constraint):
            record_create(student=student, **bad)
        assert record_create(student=student, **good).pk

    def test_it_refuses_two_records_from_one_source(self):
        first = record_create(student=StudentFactory(), source_ref="attendance:1")
        with refused(PracticeRecord, "source_ref"):
            PracticeRecord.objects.create(
                **record_values(student=first.student, source_ref="attendance:1")
            )
        assert record_create(student=first.student, source_ref="attendance:2").pk


class TestPracticeRecordVersion:
    def _version(self, record, **overrides):
        values = {
            "record": record,
            "version": 1,
            "category": category(),
            "title": record.title,
            "started_at": record.started_at,
            "ended_at": record.ended_at,
            "credited_minutes": record.credited_minutes,
            "status": record.status,
        }
        return PracticeRecordVersion.objects.create(**{**values, **overrides})

    def test_it_refuses_the_same_version_of_a_record_twice(self):
        record = record_create(student=StudentFactory())
        self._version(record, version=1)
        with refused(PracticeRecordVersion, "record_version_unique"):
            self._version(record, version=1)
        assert self._version(record, version=2).pk

    def test_it_refuses_a_version_that_ends_before_it_starts(self):
        record = record_create(student=StudentFactory())
        with refused(PracticeRecordVersion, "record_version_starts_before_end"):
            self._version(record, ended_at=record.started_at - timedelta(minutes=1))
        assert self._version(record).pk


class TestDispute:
    def test_it_refuses_a_second_open_dispute_on_one_record(self):
        record = record_create(student=StudentFactory())
        first = Dispute.objects.create(record=record, raised_by=UserFactory(), reason="时长不对")
        with refused(Dispute, "one_open_dispute_per_record"):
            Dispute.objects.create(record=record, raised_by=UserFactory(), reason="日期不对")
        Dispute.objects.filter(pk=first.pk).update(
            status=DisputeStatus.UPHELD, answer="核实无误", answered_at=timezone.now()
        )
        assert Dispute.objects.create(record=record, raised_by=UserFactory(), reason="日期不对").pk

    def test_it_refuses_a_dispute_without_a_reason(self):
        record = record_create(student=StudentFactory())
        with refused(Dispute, "dispute_reason_not_empty"):
            Dispute.objects.create(record=record, raised_by=UserFactory(), reason="")
        assert Dispute.objects.create(record=record, raised_by=UserFactory(), reason="时长不对").pk

    @pytest.mark.parametrize(
        "status", [DisputeStatus.UPHELD, DisputeStatus.CORRECTED, DisputeStatus.REVOKED]
    )
    def test_it_refuses_an_answer_without_a_reason(self, status):
        record = record_create(student=StudentFactory())
        dispute = Dispute.objects.create(record=record, raised_by=UserFactory(), reason="时长不对")
        with refused(Dispute, "dispute_answer_has_reason"):
            Dispute.objects.filter(pk=dispute.pk).update(status=status, answer="")
        Dispute.objects.filter(pk=dispute.pk).update(status=status, answer="已核实")

    def test_a_record_and_its_reflection_each_hold_one_open_dispute(self):
        record = record_create(student=StudentFactory())
        Dispute.objects.create(record=record, raised_by=UserFactory(), reason="时长不对")
        about = Dispute.objects.create(
            record=record, about=DisputeAbout.REFLECTION, raised_by=UserFactory(), reason="不实"
        )
        with refused(Dispute, "one_open_dispute_per_record"):
            Dispute.objects.create(
                record=record, about=DisputeAbout.REFLECTION, raised_by=UserFactory(), reason="x"
            )
        assert about.pk

    def test_it_refuses_a_dispute_about_something_unknown(self):
        record = record_create(student=StudentFactory())
        with refused(Dispute, "dispute_about_valid"):
            Dispute.objects.create(
                record=record, about="photo", raised_by=UserFactory(), reason="x"
            )


def _reflection(**overrides) -> Reflection:
    values = {
        "record": record_create(student=StudentFactory()),
        "text": "很有收获",
        "notice_ends_on": RECORD_START.date(),
    }
    return Reflection.objects.create(**(values | overrides))


class TestReflection:
    def test_it_refuses_an_empty_text(self):
        with refused(Reflection, "reflection_text_not_empty"):
            _reflection(text="")

    def test_it_refuses_an_unknown_status(self):
        with refused(Reflection, "reflection_status_valid"):
            _reflection(status="hidden")

    def test_a_withdrawn_reflection_is_never_a_typical_case(self):
        with refused(Reflection, "reflection_withdrawn_not_typical"):
            _reflection(
                status=ReflectionStatus.WITHDRAWN, is_typical=True, typical_marked_at=RECORD_START
            )

    def test_a_typical_case_has_the_time_it_was_marked(self):
        with refused(Reflection, "reflection_typical_has_time"):
            _reflection(is_typical=True)
        assert _reflection(is_typical=True, typical_marked_at=RECORD_START).pk

    def test_it_refuses_a_fourth_photo_and_two_in_one_place(self):
        reflection = _reflection()
        for position in (1, 2, 3):
            ReflectionPhoto.objects.create(
                reflection=reflection, position=position, image="x.png", width=9, height=9
            )
        with refused(ReflectionPhoto, "reflection_at_most_three_photos"):
            ReflectionPhoto.objects.create(
                reflection=reflection, position=4, image="x.png", width=9, height=9
            )
        with refused(ReflectionPhoto, "reflection_photo_position_unique"):
            ReflectionPhoto.objects.create(
                reflection=reflection, position=2, image="x.png", width=9, height=9
            )

    def test_it_refuses_an_empty_comment(self):
        with refused(ReflectionComment, "reflection_comment_not_empty"):
            ReflectionComment.objects.create(
                reflection=_reflection(), author=UserFactory(), text=""
            )


class TestCertificate:
    def test_it_refuses_a_short_guessable_code(self):
        from students.models import Certificate

        student = StudentFactory()
        with refused(Certificate, "certificate_code_unguessable"):
            Certificate.objects.create(student=student, code="12345")
        assert Certificate.objects.create(student=student, code="k3J9x_2mQpL8vN4rT6yZ1a").pk


class TestRosterFields:
    def test_it_refuses_a_gender_that_is_not_a_choice(self):
        student = StudentFactory()
        with refused(Student, "student_gender_valid"):
            Student.objects.filter(pk=student.pk).update(gender="x")
        for gender in ("", "female", "male"):
            Student.objects.filter(pk=student.pk).update(gender=gender)

    def test_it_refuses_an_imported_roster_without_its_time(self):
        from students.models import RosterImport

        school = SchoolFactory()
        with refused(RosterImport, "roster_import_done_has_time"):
            RosterImport.objects.create(
                school=school, file="x.xlsx", original_name="x.xlsx", sha256="0" * 64,
                status="imported",
            )  # fmt: skip
        assert RosterImport.objects.create(
            school=school, file="x.xlsx", original_name="x.xlsx", sha256="0" * 64,
            status="imported", imported_at=timezone.now(),
        ).pk  # fmt: skip
