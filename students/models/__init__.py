"""Every model of the students app, importable as `students.models.<Name>` (migrations and
other apps use that path)."""

from .ledger import (
    Certificate,
    Dispute,
    DisputeStatus,
    PracticeRecord,
    PracticeRecordVersion,
    RecordedVia,
    RecordStatus,
    dates_spanned,
)
from .policy import Category, OrganiserLevel, RequirementPolicy
from .schools import (
    NATIONAL_ID_REGEX,
    SCHOOL_CODE_REGEX,
    STUDENT_NUMBER_REGEX,
    School,
    SchoolClass,
    Student,
    TeacherAssignment,
    TeacherRole,
    mask_identifier,
    mask_name,
    new_personal_code,
)
from .years import SchoolYearClose

__all__ = [
    "NATIONAL_ID_REGEX",
    "SCHOOL_CODE_REGEX",
    "STUDENT_NUMBER_REGEX",
    "Category",
    "Certificate",
    "Dispute",
    "DisputeStatus",
    "OrganiserLevel",
    "PracticeRecord",
    "PracticeRecordVersion",
    "RecordStatus",
    "SchoolYearClose",
    "RecordedVia",
    "RequirementPolicy",
    "School",
    "SchoolClass",
    "Student",
    "TeacherAssignment",
    "TeacherRole",
    "dates_spanned",
    "mask_identifier",
    "mask_name",
    "new_personal_code",
]
