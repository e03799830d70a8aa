"""The bases app's models, by sub-domain; every model is importable from `bases.models`."""

from .applications import (
    LIVE_APPLICATION,
    LIVE_STATUSES,
    ON_ROSTER_STATUSES,
    ON_SESSION_STATUSES,
    Application,
    ApplicationStatus,
    ClassReservation,
    ReliabilityHoldLift,
)
from .attendance import (
    Attendance,
    AttendanceImport,
    AttendanceScan,
    BaseApiToken,
    ImportStatus,
    ScanKind,
)
from .bases import BASE_CODE_REGEX, Base, BaseLevel, BaseStatus, Coordinator, SchoolContract
from .posts import GRADES_REGEX, Allocation, Post, PostStatus, Session
from .safety import BriefingAcknowledgement, ConsentVia, GuardianConsent

__all__ = [
    "BASE_CODE_REGEX",
    "GRADES_REGEX",
    "LIVE_APPLICATION",
    "LIVE_STATUSES",
    "ON_ROSTER_STATUSES",
    "ON_SESSION_STATUSES",
    "Allocation",
    "Application",
    "ApplicationStatus",
    "Attendance",
    "AttendanceImport",
    "AttendanceScan",
    "Base",
    "BaseApiToken",
    "BaseLevel",
    "BaseStatus",
    "BriefingAcknowledgement",
    "ClassReservation",
    "ConsentVia",
    "Coordinator",
    "GuardianConsent",
    "ImportStatus",
    "Post",
    "ReliabilityHoldLift",
    "PostStatus",
    "ScanKind",
    "SchoolContract",
    "Session",
]
