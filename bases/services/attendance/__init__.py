"""Attendance: scans (check-in and check-out), roster actions, closing, corrections.

Modules by job: `scans` (one scan or a batch), `roster` (all present, walk-ins), `closing` (into
the ledger), `corrections` (by hand, with a reason); `common` holds what they share.
"""

from ...attendance_rules import CLOCK_SKEW, SCAN_MARGIN
from .closing import session_attendance_close
from .common import attendance_build, check_coordinator, credited_minutes_for
from .corrections import attendance_correct, attendance_correct_for_student
from .roster import attendance_all_present, attendance_walk_in_add
from .scans import (
    AUTO_KIND,
    BatchResult,
    Scan,
    attendance_scan_record,
    attendance_scans_record,
    scan_digest,
)

__all__ = [
    "AUTO_KIND",
    "CLOCK_SKEW",
    "SCAN_MARGIN",
    "BatchResult",
    "Scan",
    "attendance_all_present",
    "attendance_build",
    "attendance_correct",
    "attendance_correct_for_student",
    "attendance_scan_record",
    "attendance_scans_record",
    "attendance_walk_in_add",
    "check_coordinator",
    "credited_minutes_for",
    "scan_digest",
    "session_attendance_close",
]
