"""Every model of the students app, importable as `students.models.<Name>` (migrations and
other apps use that path)."""

from .ledger import (
    Certificate,
    Dispute,
    DisputeAbout,
    DisputeStatus,
    PracticeRecord,
    PracticeRecordVersion,
    RecordedVia,
    RecordStatus,
    dates_spanned,
)
from .policy import Category, OrganiserLevel, RequirementPolicy
from .reflections import (
    COMMENT_MAX_CHARS,
    REFLECTION_MAX_CHARS,
    REFLECTION_MAX_PHOTOS,
    Reflection,
    ReflectionComment,
    ReflectionPhoto,
    ReflectionStatus,
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
    "COMMENT_MAX_CHARS",
    "REFLECTION_MAX_CHARS",
    "REFLECTION_MAX_PHOTOS",
    "Reflection",
    "ReflectionComment",
    "ReflectionPhoto",
    "ReflectionStatus",
    "DisputeAbout",
    "NATIONAL_ID_REGEX",
    "SCHOOL_CODE_REGEX",
    "STUDENT_NUMBER_REGEX",
    "Category",
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
