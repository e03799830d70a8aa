"""Attendance: scans (check-in and check-out), roster actions, closing, corrections.

Modules by job: `scans` (one scan or a batch), `roster` (all present, walk-ins), `closing` (into
the ledger), `corrections` (by hand, with a reason), `self_check_in` (a student with the
screen's rotating code); `common` holds what they share.
"""

from ...attendance_rules import CLOCK_SKEW, SCAN_MARGIN
from .closing import session_attendance_close
from .common import attendance_build, check_coordinator, credited_minutes_for
from .corrections import attendance_correct, attendance_correct_for_student
from .roster import (
    attendance_all_present,
    attendance_walk_in_add,
    attendance_walk_in_confirm,
    attendance_walk_in_refuse,
)
from .scans import (
    AUTO_KIND,
    BatchResult,
    Scan,
    attendance_scan_record,
    attendance_scans_record,
    attendance_scans_record_many,
    scan_digest,
)
from .self_check_in import (
    attendance_self_check_in,
    post_self_check_in_set,
    self_check_in_code,
    self_check_in_counts,
    self_check_in_session_for_code,
    self_check_in_throttled,
    self_check_in_wrong_code,
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
    "attendance_scans_record_many",
    "attendance_self_check_in",
    "attendance_walk_in_add",
    "attendance_walk_in_confirm",
    "attendance_walk_in_refuse",
    "check_coordinator",
    "credited_minutes_for",
    "post_self_check_in_set",
    "scan_digest",
    "self_check_in_code",
    "self_check_in_counts",
    "self_check_in_session_for_code",
    "self_check_in_throttled",
    "self_check_in_wrong_code",
    "session_attendance_close",
]
