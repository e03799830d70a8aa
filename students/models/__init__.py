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
from .policy import (
    Category,
    OrganiserLevel,
    PostKind,
    ReliabilityPolicy,
    RequirementPolicy,
    SafetyPolicy,
)
from .roster import RosterImport, RosterImportStatus
from .schools import (
    NATIONAL_ID_REGEX,
    SCHOOL_CODE_REGEX,
    STUDENT_NUMBER_REGEX,
    Gender,
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
    "PostKind",
    "SafetyPolicy",
    "Certificate",
    "Dispute",
    "Gender",
    "DisputeStatus",
    "OrganiserLevel",
    "PracticeRecord",
    "PracticeRecordVersion",
    "RecordStatus",
    "SchoolYearClose",
    "RecordedVia",
    "ReliabilityPolicy",
    "RequirementPolicy",
    "RosterImport",
    "RosterImportStatus",
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
